//! `/api/openrpc.json`: the OpenRPC 1.3 document of the JSON-RPC half (what OpenAPI is to the
//! REST half), generated from the method table ([`Methode::schemas`]: the very params and
//! result types the dispatcher reads and writes, through `schemars`), so it cannot drift from
//! the code. Each method has its params (one content descriptor per field, and the whole
//! object as `x-params`, with its `additionalProperties: false` and cross-field rules), its
//! result, and the errors it may answer, with their `error.code` and `data.code`; the
//! notifications the server pushes are listed with `x-notification: true` and no result.
//! Catalog codes carry the shipped catalog's codes as `examples`. `scripts/contrat.sh`
//! validates it with the OpenRPC project's validator and drives a contract test from it.

use domain::Catalogue;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};
use strum::VariantNames;

use super::Methode;
use crate::protocole::monde::{Apparitions, Disparitions, LotDeplacements};
use crate::protocole::{EvenementPousse, codes};

/// The JSON-RPC errors that any method may answer, after its own.
const COMMUNES: &[(i64, &str)] = &[
    (codes::PARAMETRES, "PARAMETRES_INVALIDES"),
    (codes::NON_AUTHENTIFIE, "NON_AUTHENTIFIE"),
    (codes::NON_AUTHENTIFIE, "JETON_INVALIDE"),
    (codes::NON_AUTHENTIFIE, "JETON_EXPIRE"),
    (codes::TROP_DE_REQUETES, "TROP_DE_REQUETES"),
    (codes::INTERNE, "ERREUR_INTERNE"),
];

/// What names a character, a combat or a trade may not exist or not be the caller's.
const PROPRIETE: &[(i64, &str)] = &[
    (codes::INTROUVABLE, "INTROUVABLE"),
    (codes::INTERDIT, "INTERDIT"),
];

/// What every command (a method that writes) may also answer.
const COMMANDE: &[(i64, &str)] = &[
    (codes::PARAMETRES, "COMMANDE_REUTILISEE"),
    (codes::CONFLIT, "CONFLIT"),
];

/// The document, for the shipped catalog.
pub fn document(catalogue: &Catalogue) -> Value {
    let mut generateur = SchemaSettings::draft07()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let mut methodes: Vec<Value> = Methode::TOUTES
        .iter()
        .map(|&m| {
            let (params, resultat) = m.schemas(&mut generateur);
            let params = transformer(&mut generateur, params);
            let resultat = transformer(&mut generateur, resultat);
            // A read that may be asked to reflect a cursor may answer that it could not.
            let lit = params["properties"].get("a_jour_de").is_some();
            let mut methode = json!({
                "name": m.nom(),
                "summary": resume(m),
                "paramStructure": "by-name",
                "params": descripteurs(&params),
                "result": { "name": "resultat", "schema": resultat },
                "errors": erreurs(m, lit),
                "x-params": params,
            });
            if m.admin() {
                methode["x-admin"] = json!(true);
            }
            methode
        })
        .collect();
    methodes.extend(notifications(&mut generateur));
    let mut schemas = generateur.take_definitions(true);
    exemples_du_catalogue(&mut schemas, catalogue);
    json!({
        "openrpc": "1.3.2",
        "info": {
            "title": "MMO : le JSON-RPC du jeu",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "POST /rpc (jeton dans Authorization: Bearer) et /ws (un message JSON-RPC par message texte). doc/protocole.md décrit chaque méthode avec des exemples ; ce document est généré des types que lit et écrit le répartiteur.",
        },
        "methods": methodes,
        "components": { "schemas": schemas },
    })
}

/// A schema as the draft-07 settings want it (the generator transforms its definitions only).
fn transformer(generateur: &mut SchemaGenerator, mut schema: Schema) -> Value {
    for t in generateur.transforms_mut() {
        t.transform(&mut schema);
    }
    schema.to_value()
}

/// One content descriptor per field of the params object.
fn descripteurs(params: &Value) -> Vec<Value> {
    let requis: Vec<&str> = params["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    params["properties"]
        .as_object()
        .map(|champs| {
            champs
                .iter()
                .map(|(nom, schema)| {
                    json!({ "name": nom, "schema": schema, "required": requis.contains(&nom.as_str()) })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn resume(m: Methode) -> String {
    let ecrit = ecrit(m);
    match (m.admin(), ecrit) {
        (true, _) => format!("{} (administrateurs)", m.nom()),
        (false, true) => format!("{} (commande : accepte id_commande)", m.nom()),
        (false, false) => m.nom().to_owned(),
    }
}

/// Whether the method writes (a command, with `id_commande`).
fn ecrit(m: Methode) -> bool {
    use Methode as M;
    matches!(
        m,
        M::JoueurCreer
            | M::CombatDemarrer
            | M::CombatRejoindre
            | M::CombatQuitter
            | M::CombatLancer
            | M::CombatAgir
            | M::QueteAccepter
            | M::QueteAbandonner
            | M::InventaireFabriquer
            | M::InventaireAcheter
            | M::InventaireVendre
            | M::InventaireJeter
            | M::EchangeProposer
            | M::EchangeModifier
            | M::EchangeAccepter
            | M::EchangeAnnuler
            | M::ChatEnvoyer
            | M::MjDonner
            | M::MjRetirer
    )
}

/// Whether the method reads or writes PostgreSQL or Redis, and so may answer `INDISPONIBLE`
/// while one of them is away: all but the two served from memory (the token, the catalog).
fn atteint_un_moteur(m: Methode) -> bool {
    !matches!(m, Methode::SessionAuthentifier | Methode::QueteCatalogue)
}

/// The errors a method may answer: its refusals of the game (the variant names of the
/// aggregates' error enums it reaches, `error.code` -32010), then the errors of its kind
/// (`lit`: a read of the read models, which takes `a_jour_de`).
fn erreurs(m: Methode, lit: bool) -> Vec<Value> {
    use Methode as M;
    use domain::{chat, combat, echange, inventaire, joueur, monde, quete};
    let refus: Vec<&str> = match m {
        M::JoueurCreer => vec!["NOM_DEJA_PRIS", "TROP_DE_PERSONNAGES"],
        M::CombatDemarrer
        | M::CombatRejoindre
        | M::CombatQuitter
        | M::CombatLancer
        | M::CombatAgir => [
            combat::ErreurCombat::VARIANTS,
            joueur::ErreurJoueur::VARIANTS,
        ]
        .concat(),
        M::QueteAccepter | M::QueteAbandonner => quete::ErreurQuete::VARIANTS.to_vec(),
        M::InventaireFabriquer
        | M::InventaireAcheter
        | M::InventaireVendre
        | M::InventaireJeter
        | M::MjDonner
        | M::MjRetirer => inventaire::ErreurInventaire::VARIANTS.to_vec(),
        M::EchangeProposer | M::EchangeModifier | M::EchangeAccepter | M::EchangeAnnuler => [
            echange::ErreurEchange::VARIANTS,
            inventaire::ErreurInventaire::VARIANTS,
        ]
        .concat(),
        M::MondeDeplacer | M::MondeChangerZone | M::MondePlacer | M::MjDeplacer => {
            monde::ErreurMonde::VARIANTS.to_vec()
        }
        M::MjRetablir => vec!["PAS_BANNI"],
        M::SignalementCreer => vec!["SIGNALEMENT_DE_SOI"],
        M::MjTraiterSignalement => vec!["SIGNALEMENT_DEJA_TRAITE"],
        M::ChatEnvoyer | M::ChatHistorique => chat::ErreurChat::VARIANTS
            .iter()
            .copied()
            .filter(|&c| c != "CURSEUR_INVALIDE")
            .collect(),
        _ => Vec::new(),
    };
    let mut toutes: Vec<(i64, &str)> = refus.into_iter().map(|c| (codes::REFUS, c)).collect();
    if m == M::ChatHistorique {
        toutes.push((codes::PARAMETRES, "CURSEUR_INVALIDE"));
    }
    if m == M::SessionAuthentifier {
        toutes.push((codes::INTERDIT, "INTERDIT"));
        toutes.push((codes::METHODE_INCONNUE, "METHODE_INCONNUE"));
    } else if !matches!(
        m,
        M::JoueurLister
            | M::ClassementConsulter
            | M::QueteCatalogue
            | M::EvenementsDepuis
            | M::MjSignalements
    ) {
        toutes.extend(PROPRIETE);
    }
    if m.admin() {
        toutes.push((codes::INTERDIT, "INTERDIT"));
    }
    if ecrit(m)
        || matches!(
            m,
            M::MondeDeplacer
                | M::MondeChangerZone
                | M::MondePlacer
                | M::MjBannir
                | M::MjRetablir
                | M::MjExpulser
                | M::MjDeplacer
                | M::ChatMuseler
        )
    {
        toutes.extend(COMMANDE);
    }
    if lit {
        toutes.push((codes::LECTURE_EN_RETARD, "LECTURE_EN_RETARD"));
    }
    if atteint_un_moteur(m) {
        toutes.push((codes::INDISPONIBLE, "INDISPONIBLE"));
    }
    toutes.extend(COMMUNES);
    // A banned account's calls, whatever the method.
    toutes.push((codes::INTERDIT, "COMPTE_BANNI"));
    let mut vues = std::collections::BTreeSet::new();
    toutes
        .into_iter()
        .filter(|e| vues.insert(*e))
        .map(
            |(code, stable)| json!({ "code": code, "message": stable, "data": { "code": stable } }),
        )
        .collect()
}

/// What the server pushes, each from the type that builds it: `evenement`, `chat.message`, and
/// Monde's `monde.deplacements|apparitions|disparitions`.
fn notifications(generateur: &mut SchemaGenerator) -> Vec<Value> {
    let mut pousses = Vec::new();
    for (nom, resume, schema) in [
        (
            "evenement",
            "poussée : un événement écrit qui concerne un personnage du compte",
            EvenementPousse::json_schema(generateur),
        ),
        (
            "chat.message",
            "poussée : un message d'un canal dont le personnage est membre",
            commands::services::chat::MessageChat::json_schema(generateur),
        ),
        (
            "monde.deplacements",
            "poussée : les pas d'un tick dans une case que le personnage voit",
            LotDeplacements::json_schema(generateur),
        ),
        (
            "monde.apparitions",
            "poussée : ceux qui entrent dans l'aire d'intérêt d'un personnage du compte",
            Apparitions::json_schema(generateur),
        ),
        (
            "monde.disparitions",
            "poussée : ceux qui sortent de l'aire d'intérêt d'un personnage du compte",
            Disparitions::json_schema(generateur),
        ),
    ] {
        let params = transformer(generateur, schema);
        pousses.push(json!({
            "name": nom,
            "summary": resume,
            "paramStructure": "by-name",
            "params": descripteurs(&params),
            "x-notification": true,
            "x-params": params,
        }));
    }
    pousses
}

/// Catalog codes get the shipped catalog's codes as examples: a client (or a test) that
/// picks one names something that exists.
fn exemples_du_catalogue(schemas: &mut Map<String, Value>, catalogue: &Catalogue) {
    fn cles<K: std::fmt::Display, V>(carte: &std::collections::BTreeMap<K, V>) -> Vec<String> {
        carte.keys().map(ToString::to_string).collect()
    }
    let codes = [
        ("CodeRencontre", cles(catalogue.rencontres())),
        ("CodeQuete", cles(catalogue.quetes())),
        ("CodeRecette", cles(catalogue.recettes())),
        ("CodeMarchand", cles(catalogue.marchands())),
        ("CodeItem", cles(catalogue.items())),
        ("CodeZone", cles(catalogue.zones())),
    ];
    for (nom, exemples) in codes {
        if let Some(Value::Object(schema)) = schemas.get_mut(nom) {
            schema.insert("examples".into(), json!(exemples));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaque_methode_a_ses_parametres_son_resultat_et_ses_erreurs() {
        let catalogue = Catalogue::officiel().expect("catalogue");
        let doc = document(&catalogue);
        let methodes = doc["methods"].as_array().expect("methods");
        // The methods, then the five pushes.
        assert_eq!(methodes.len(), Methode::TOUTES.len() + 5);
        for pousse in [
            "evenement",
            "chat.message",
            "monde.deplacements",
            "monde.apparitions",
            "monde.disparitions",
        ] {
            let n = methodes.iter().find(|x| x["name"] == pousse);
            assert!(
                n.is_some_and(|n| n["x-notification"] == true && n["x-params"].is_object()),
                "{pousse} absente"
            );
        }
        for m in Methode::TOUTES {
            let methode = methodes
                .iter()
                .find(|x| x["name"] == m.nom())
                .unwrap_or_else(|| panic!("{} absente", m.nom()));
            assert!(methode["result"]["schema"].is_object(), "{methode}");
            assert_eq!(methode["x-params"]["type"], "object", "{methode}");
            assert!(
                methode["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["code"] == codes::PARAMETRES)),
                "{methode}"
            );
        }
        // Every reference points into components.schemas.
        let texte = doc.to_string();
        for morceau in texte.split("\"$ref\":\"").skip(1) {
            let cible = morceau.split('"').next().unwrap_or_default();
            let nom = cible
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("référence hors des composants : {cible}"));
            assert!(doc["components"]["schemas"][nom].is_object(), "{nom}");
        }
        // The reads of the read models take `a_jour_de` and may answer LECTURE_EN_RETARD;
        // nothing else does.
        let lectures: Vec<&str> = methodes
            .iter()
            .filter(|m| m["x-params"]["properties"].get("a_jour_de").is_some())
            .filter_map(|m| m["name"].as_str())
            .collect();
        assert_eq!(
            lectures,
            [
                "joueur.lister",
                "joueur.profil",
                "classement.consulter",
                "combat.etat",
                "combat.historique",
                "quete.journal",
                "inventaire.consulter",
                "economie.grand_livre",
                "economie.totaux",
            ]
        );
        for m in methodes {
            let en_retard = m["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["data"]["code"] == "LECTURE_EN_RETARD"));
            let nom = m["name"].as_str().unwrap_or_default();
            assert_eq!(en_retard, lectures.contains(&nom), "{nom}");
        }
        // Every method that reaches an engine may answer INDISPONIBLE; the two served from
        // memory may not.
        for m in methodes.iter().filter(|m| m["x-notification"] != true) {
            let indisponible = m["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["data"]["code"] == "INDISPONIBLE"));
            let nom = m["name"].as_str().unwrap_or_default();
            assert_eq!(
                indisponible,
                !["session.authentifier", "quete.catalogue"].contains(&nom),
                "{nom}"
            );
        }
        assert!(
            doc["components"]["schemas"]["CodeRencontre"]["examples"]
                .as_array()
                .is_some_and(|e| e.contains(&json!("meute_de_loups")))
        );
    }
}
