//! The JSON-RPC dispatcher under generated hostile input (proptest, stable Rust): random bytes
//! and JSON, broken envelopes and batches, and for every method of [`Methode::TOUTES`] params
//! built from a per-method template whose values are mutated (wrong types, missing and extra
//! fields, huge and negative numbers, unicode, long strings, nested junk, the caller's own,
//! another account's and unknown ids), under every kind of caller. The dispatcher runs
//! in-process on the state of a real server (PostgreSQL, Redis, NATS), each message in its own
//! task so that a panic is caught and fails the test. Every answer must be well-formed
//! JSON-RPC 2.0, echo the id as the spec says, and carry only documented errors, never
//! `ERREUR_INTERNE`.
//!
//! One message in [`PAR_RESEAU`] also goes through `POST /rpc` with its bytes as they are,
//! and one through a WebSocket.
//!
//! `MMO_CAS_FUZZ` sets the number of messages (100,000 by default), `MMO_GRAINE_FUZZ` the
//! seed (random by default, printed first and with any failure).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt as _;
use gateway::auth::{Authentifie, JetonRefuse};
use gateway::passerelle::Passerelle;
use gateway::protocole::erreur::{CODES_DU_PROTOCOLE, codes, codes_de_refus};
use gateway::rpc::{self, Contexte, Methode, Transport};
use mmo_tests::{Banc, passerelle_de_test};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// What a field of a method's params holds, to generate plausible values for it.
#[derive(Debug, Clone, Copy)]
enum Genre {
    Joueur,
    Combat,
    Echange,
    IdCommande,
    Nom,
    Classe,
    Rencontre,
    Quete,
    Recette,
    Marchand,
    Item,
    Zone,
    Quantite,
    Coordonnee,
    Offre,
    Action,
    Canal,
    Texte,
    Entier,
    CurseurEvenements,
    CurseurChat,
    Jeton,
    /// Whom a game master bans or kicks: Bob's character or nobody's (never a caller's, whose
    /// calls would all be refused from then on).
    Sanctionne,
    /// Item lines of a game master's grant.
    Lignes,
    /// Which reports to list.
    EtatSignalement,
    TypeAgregat,
}

/// The params of each method: its fields and what they hold. A `match` without a catch-all:
/// a new method does not compile until it has its template.
#[allow(clippy::too_many_lines)] // One arm per method: a table.
fn modele(m: Methode) -> &'static [(&'static str, Genre)] {
    use Genre as G;
    match m {
        Methode::SessionAuthentifier => &[("jeton", G::Jeton)],
        Methode::JoueurCreer => &[
            ("nom", G::Nom),
            ("classe", G::Classe),
            ("id_commande", G::IdCommande),
        ],
        Methode::JoueurLister | Methode::QueteCatalogue | Methode::EconomieTotaux => &[],
        Methode::JoueurProfil
        | Methode::MondeZone
        | Methode::QueteJournal
        | Methode::InventaireConsulter => &[("joueur_id", G::Joueur)],
        Methode::ClassementConsulter => &[
            ("limite", G::Entier),
            ("depuis", G::Entier),
            ("classe", G::Classe),
        ],
        Methode::MondeDeplacer => &[
            ("joueur_id", G::Joueur),
            ("x", G::Coordonnee),
            ("y", G::Coordonnee),
        ],
        Methode::MondeChangerZone => &[("joueur_id", G::Joueur), ("vers", G::Zone)],
        Methode::MondeProches => &[("joueur_id", G::Joueur), ("rayon", G::Coordonnee)],
        Methode::MondePlacer => &[
            ("joueur_id", G::Joueur),
            ("zone", G::Zone),
            ("x", G::Coordonnee),
            ("y", G::Coordonnee),
        ],
        Methode::CombatDemarrer => &[
            ("joueur_id", G::Joueur),
            ("rencontre", G::Rencontre),
            ("id_commande", G::IdCommande),
        ],
        Methode::CombatRejoindre | Methode::CombatQuitter | Methode::CombatLancer => &[
            ("joueur_id", G::Joueur),
            ("combat_id", G::Combat),
            ("id_commande", G::IdCommande),
        ],
        Methode::CombatAgir => &[
            ("joueur_id", G::Joueur),
            ("combat_id", G::Combat),
            ("action", G::Action),
            ("id_commande", G::IdCommande),
        ],
        Methode::CombatEtat | Methode::CombatHistorique => &[("combat_id", G::Combat)],
        Methode::QueteAccepter | Methode::QueteAbandonner => &[
            ("joueur_id", G::Joueur),
            ("quete", G::Quete),
            ("id_commande", G::IdCommande),
        ],
        Methode::InventaireFabriquer => &[
            ("joueur_id", G::Joueur),
            ("recette", G::Recette),
            ("id_commande", G::IdCommande),
        ],
        Methode::InventaireAcheter | Methode::InventaireVendre => &[
            ("joueur_id", G::Joueur),
            ("marchand", G::Marchand),
            ("item", G::Item),
            ("quantite", G::Quantite),
            ("id_commande", G::IdCommande),
        ],
        Methode::InventaireJeter => &[
            ("joueur_id", G::Joueur),
            ("item", G::Item),
            ("quantite", G::Quantite),
            ("id_commande", G::IdCommande),
        ],
        Methode::EchangeProposer => &[
            ("joueur_id", G::Joueur),
            ("destinataire", G::Joueur),
            ("offre", G::Offre),
            ("id_commande", G::IdCommande),
        ],
        Methode::EchangeModifier => &[
            ("joueur_id", G::Joueur),
            ("echange_id", G::Echange),
            ("offre", G::Offre),
            ("id_commande", G::IdCommande),
        ],
        Methode::EchangeAccepter | Methode::EchangeAnnuler => &[
            ("joueur_id", G::Joueur),
            ("echange_id", G::Echange),
            ("id_commande", G::IdCommande),
        ],
        Methode::EconomieGrandLivre => &[
            ("joueur_id", G::Joueur),
            ("apres", G::Entier),
            ("limite", G::Entier),
        ],
        Methode::ChatEnvoyer => &[
            ("joueur_id", G::Joueur),
            ("canal", G::Canal),
            ("texte", G::Texte),
            ("id_commande", G::IdCommande),
        ],
        Methode::ChatHistorique => &[
            ("joueur_id", G::Joueur),
            ("canal", G::Canal),
            ("avant", G::CurseurChat),
            ("limite", G::Entier),
        ],
        Methode::ChatMuseler => &[
            ("joueur_id", G::Joueur),
            ("nom", G::Nom),
            ("duree_s", G::Entier),
        ],
        Methode::EvenementsDepuis => &[("curseur", G::CurseurEvenements), ("limite", G::Entier)],
        Methode::SignalementCreer => &[
            ("joueur_id", G::Joueur),
            ("cible_id", G::Joueur),
            ("cible_nom", G::Nom),
            ("raison", G::Texte),
        ],
        Methode::MjBannir => &[
            ("compte_id", G::Sanctionne),
            ("joueur_id", G::Sanctionne),
            ("raison", G::Texte),
            ("duree_s", G::Entier),
        ],
        Methode::MjDossier => &[("compte_id", G::Sanctionne), ("joueur_id", G::Joueur)],
        Methode::MjRetablir | Methode::MjExpulser => &[
            ("compte_id", G::Sanctionne),
            ("joueur_id", G::Sanctionne),
            ("raison", G::Texte),
        ],
        Methode::MjDonner | Methode::MjRetirer => &[
            ("joueur_id", G::Joueur),
            ("or", G::Entier),
            ("items", G::Lignes),
            ("raison", G::Texte),
            ("id_commande", G::IdCommande),
        ],
        Methode::MjDeplacer => &[
            ("joueur_id", G::Joueur),
            ("zone", G::Zone),
            ("x", G::Coordonnee),
            ("y", G::Coordonnee),
            ("raison", G::Texte),
        ],
        Methode::MjSignalements => &[
            ("etat", G::EtatSignalement),
            ("apres", G::Entier),
            ("limite", G::Entier),
        ],
        Methode::MjTraiterSignalement => &[("signalement_id", G::IdCommande), ("note", G::Texte)],
        Methode::MjChercher => &[
            ("texte", G::Texte),
            ("apres", G::Joueur),
            ("limite", G::Entier),
        ],
        Methode::MjChronologie => &[
            ("compte_id", G::Joueur),
            ("joueur_id", G::Joueur),
            ("curseur", G::CurseurEvenements),
            ("limite", G::Entier),
        ],
        Methode::MjEtatA => &[
            ("aggregate_type", G::TypeAgregat),
            ("aggregate_id", G::Joueur),
            ("sequence", G::Entier),
        ],
        Methode::MjDifference => &[
            ("aggregate_type", G::TypeAgregat),
            ("aggregate_id", G::Joueur),
            ("de", G::Entier),
            ("a", G::Entier),
        ],
    }
}

/// What exists in the game when the fuzzing starts: ids worth aiming at.
#[derive(Debug, Clone)]
struct Monde {
    /// The caller's characters, another account's, the admin's.
    joueurs: Vec<Value>,
    noms: Vec<Value>,
    combats: Vec<Value>,
    echanges: Vec<Value>,
    jetons: Vec<Value>,
}

/// Strings that have broken parsers before.
fn chaine_hostile() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "\\PC{0,24}",
        1 => "[\\x00-\\x1f\\x7f]{1,8}",
        1 => (1usize..12_000).prop_map(|n| "a".repeat(n)),
        1 => (1usize..2_000).prop_map(|n| "é\u{202e}🐺".repeat(n)),
        1 => prop::sample::select(vec![
            "", " ", "NaN", "Infinity", "-Infinity", "-0", "1e999", "null", "true",
            "0x10", "../../etc/passwd", "'; DROP TABLE events; --", "%00", "\u{0}",
            "\u{feff}", "\u{200b}\u{200b}", "ÉPÉE", "😀😀😀", "\\u0000", "{}", "[]",
            "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ])
        .prop_map(str::to_owned),
    ]
    .boxed()
}

/// Any JSON value, nested a little.
fn json_quelconque() -> BoxedStrategy<Value> {
    let feuille = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        chaine_hostile().prop_map(Value::from),
    ];
    feuille
        .prop_recursive(4, 48, 6, |interieur| {
            prop_oneof![
                prop::collection::vec(interieur.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-z_]{0,12}", interieur), 0..6)
                    .prop_map(|paires| Value::Object(paires.into_iter().collect())),
            ]
        })
        .boxed()
}

fn nombre_hostile() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (0i64..600).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => prop::sample::select(vec![
            json!(0), json!(-1), json!(1), json!(9_999), json!(10_000), json!(u32::MAX),
            json!(u64::from(u32::MAX) + 1), json!(i64::MIN), json!(u64::MAX), json!(0.5),
            json!(-0.0), json!(1e300), json!(-1e300), json!(2.0),
        ]),
    ]
    .boxed()
}

fn uuid_quelconque() -> BoxedStrategy<Value> {
    any::<u128>()
        .prop_map(|n| Value::from(Uuid::from_u128(n).to_string()))
        .boxed()
}

fn parmi(valeurs: &[Value]) -> BoxedStrategy<Value> {
    prop::sample::select(valeurs.to_vec()).boxed()
}

fn codes(valides: &[&str]) -> BoxedStrategy<Value> {
    let valides: Vec<Value> = valides.iter().map(|c| Value::from(*c)).collect();
    prop_oneof![
        4 => parmi(&valides),
        2 => "[a-z][a-z0-9_]{0,60}".prop_map(Value::from),
        1 => chaine_hostile().prop_map(Value::from),
    ]
    .boxed()
}

/// A plausible value for a field of this kind: mostly well-formed, often valid, sometimes not.
#[allow(clippy::too_many_lines)] // One arm per kind of field: a table.
fn valeur(genre: Genre, monde: &Monde) -> BoxedStrategy<Value> {
    let joueur = prop_oneof![
        6 => parmi(&monde.joueurs),
        1 => uuid_quelconque(),
        1 => Just(json!("00000000-0000-0000-0000-000000000000")),
    ]
    .boxed();
    match genre {
        Genre::Joueur => joueur,
        Genre::Combat => prop_oneof![4 => parmi(&monde.combats), 1 => uuid_quelconque()].boxed(),
        Genre::Echange => prop_oneof![4 => parmi(&monde.echanges), 1 => uuid_quelconque()].boxed(),
        Genre::IdCommande => prop_oneof![
            2 => uuid_quelconque(),
            // A few ids reused across methods and targets: COMMANDE_REUTILISEE.
            1 => (0u128..4).prop_map(|n| Value::from(Uuid::from_u128(n + 1).to_string())),
        ]
        .boxed(),
        Genre::Nom => prop_oneof![
            2 => parmi(&monde.noms),
            3 => "[A-Za-zéÉ][A-Za-z0-9_é-]{0,20}".prop_map(Value::from),
            1 => chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
        Genre::Classe => parmi(&[
            json!("Tank"),
            json!("DPS"),
            json!("Heal"),
            json!("Mage"),
            json!("tank"),
            json!(""),
            json!(null),
        ]),
        Genre::Rencontre => codes(&["meute_de_loups", "sangliers_furieux", "trone_de_la_liche"]),
        Genre::Quete => codes(&["chasse_aux_loups", "premiers_pas"]),
        Genre::Recette => codes(&["potion_de_soin", "lingot_de_fer", "cape_de_soie"]),
        Genre::Marchand => codes(&[
            "apothicaire_mirabelle",
            "forgeronne_brunehilde",
            "trappeur_gaspard",
        ]),
        Genre::Item => codes(&["pain", "potion_de_soin", "peau_de_loup", "epee_en_fer"]),
        Genre::Zone => codes(&["plaine_verte", "foret_sombre", "crypte_oubliee"]),
        Genre::TypeAgregat => codes(&["Joueur", "Inventaire", "Quete", "Combat", "Echange", "Dragon"]),
        Genre::Quantite | Genre::Entier => nombre_hostile(),
        Genre::Coordonnee => prop_oneof![
            // Inside every zone, and past the edge of each (the widest is 1,200 m).
            3 => (0.0f64..1300.0).prop_map(Value::from),
            1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            1 => nombre_hostile(),
            1 => parmi(&[json!("NaN"), json!("Infinity"), json!(-1e308), json!(1e308)]),
        ]
        .boxed(),
        Genre::Offre => (
            prop::option::of(nombre_hostile()),
            prop::option::of(prop::collection::vec(
                (codes(&["pain", "potion_de_soin"]), nombre_hostile()),
                0..4,
            )),
        )
            .prop_map(|(or, items)| {
                let mut offre = Map::new();
                if let Some(or) = or {
                    offre.insert("or".into(), or);
                }
                if let Some(items) = items {
                    let items: Map<String, Value> = items
                        .into_iter()
                        .map(|(code, n)| (code.as_str().unwrap_or("x").to_owned(), n))
                        .collect();
                    offre.insert("items".into(), Value::Object(items));
                }
                Value::Object(offre)
            })
            .boxed(),
        Genre::Action => prop_oneof![
            nombre_hostile().prop_map(|c| json!({"type": "attaquer", "cible": c})),
            joueur.prop_map(|c| json!({"type": "soigner", "cible": c})),
            Just(json!({"type": "provoquer"})),
            Just(json!({"type": "defendre"})),
            chaine_hostile().prop_map(|t| json!({"type": t})),
        ]
        .boxed(),
        Genre::Canal => prop_oneof![
            Just(json!({"type": "monde"})),
            Just(json!({"type": "zone"})),
            parmi(&monde.combats).prop_map(|c| json!({"type": "groupe", "combat_id": c})),
            joueur.prop_map(|d| json!({"type": "prive", "destinataire": d})),
            chaine_hostile().prop_map(|t| json!({"type": t})),
        ]
        .boxed(),
        Genre::Texte => prop_oneof![
            3 => "[a-zA-Z ]{0,40}".prop_map(Value::from),
            2 => chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
        Genre::CurseurEvenements => prop_oneof![
            parmi(&[
                json!("0.0"),
                json!("1.1"),
                json!("-1.-1"),
                json!("18446744073709551615.0"),
                json!("9223372036854775807.9223372036854775807"),
                json!("."),
            ]),
            "[0-9.-]{0,30}".prop_map(Value::from),
            chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
        Genre::CurseurChat => prop_oneof![
            parmi(&[
                json!("0-0"),
                json!("1-1"),
                json!("+"),
                json!("-"),
                json!("99999999999999999999-0"),
                json!("1-99999999999999999999"),
            ]),
            "[0-9-]{0,25}".prop_map(Value::from),
            chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
        Genre::Sanctionne => prop_oneof![
            2 => parmi(&monde.joueurs[2..3]),
            1 => uuid_quelconque(),
        ]
        .boxed(),
        Genre::Lignes => prop::collection::vec(
            (codes(&["pain", "potion_de_soin", "licorne"]), nombre_hostile()),
            0..3,
        )
        .prop_map(|l| {
            Value::Array(
                l.into_iter()
                    .map(|(item, quantite)| json!({"item": item, "quantite": quantite}))
                    .collect(),
            )
        })
        .boxed(),
        Genre::EtatSignalement => prop_oneof![
            parmi(&[json!("ouverts"), json!("traites"), json!("tous")]),
            chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
        Genre::Jeton => prop_oneof![
            parmi(&monde.jetons),
            chaine_hostile().prop_map(Value::from),
        ]
        .boxed(),
    }
}

/// A method's params: its template's fields, each valid, junk or missing, maybe an extra one;
/// or not an object at all.
fn params(m: Methode, monde: &Monde) -> BoxedStrategy<Option<Value>> {
    let champs: Vec<BoxedStrategy<(&'static str, Option<Value>)>> = modele(m)
        .iter()
        .map(|&(nom, genre)| {
            prop_oneof![
                10 => valeur(genre, monde).prop_map(Some),
                1 => json_quelconque().prop_map(Some),
                1 => Just(None),
            ]
            .prop_map(move |v| (nom, v))
            .boxed()
        })
        .collect();
    let objet = (
        champs,
        prop::option::weighted(0.05, ("[a-z_]{1,12}", json_quelconque())),
    )
        .prop_map(|(champs, en_trop)| {
            let mut p: Map<String, Value> = champs
                .into_iter()
                .filter_map(|(nom, v)| v.map(|v| (nom.to_owned(), v)))
                .collect();
            if let Some((cle, v)) = en_trop {
                p.insert(cle, v);
            }
            Some(Value::Object(p))
        });
    prop_oneof![
        20 => objet,
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => json_quelconque().prop_map(Some),
    ]
    .boxed()
}

/// One call: an envelope around a method's params, itself sometimes broken.
fn appel(monde: &Monde) -> BoxedStrategy<Value> {
    let par_methode: Vec<BoxedStrategy<(Value, Option<Value>)>> = Methode::TOUTES
        .iter()
        .map(|&m| {
            params(m, monde)
                .prop_map(move |p| (Value::from(m.nom()), p))
                .boxed()
        })
        .collect();
    let methode_et_params = prop_oneof![
        30 => prop::strategy::Union::new(par_methode),
        1 => ("[a-z.]{0,20}".prop_map(Value::from), Just(None)),
        1 => (json_quelconque(), prop::option::of(json_quelconque())),
    ];
    let id = prop_oneof![
        4 => any::<i64>().prop_map(|n| Some(Value::from(n))),
        2 => chaine_hostile().prop_map(|s| Some(Value::from(s))),
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => any::<f64>().prop_map(|f| Some(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number))),
        1 => any::<u64>().prop_map(|n| Some(Value::from(n))),
        1 => json_quelconque().prop_map(Some),
    ];
    let version = prop_oneof![
        30 => Just(Some(json!("2.0"))),
        1 => parmi(&[json!("1.0"), json!(2.0), json!(2), json!(null), json!("2.0 ")]).prop_map(Some),
        1 => Just(None),
    ];
    let en_trop = prop::option::weighted(0.03, ("[a-z]{1,8}", json_quelconque()));
    (methode_et_params, id, version, en_trop)
        .prop_map(|((methode, params), id, version, en_trop)| {
            let mut a = Map::new();
            if let Some((cle, v)) = en_trop {
                a.insert(cle, v);
            }
            if let Some(v) = version {
                a.insert("jsonrpc".into(), v);
            }
            if let Some(id) = id {
                a.insert("id".into(), id);
            }
            a.insert("method".into(), methode);
            if let Some(p) = params {
                a.insert("params".into(), p);
            }
            Value::Object(a)
        })
        .boxed()
}

/// A whole message, as bytes.
fn message(monde: &Monde) -> BoxedStrategy<Vec<u8>> {
    let un = appel(monde);
    prop_oneof![
        80 => un.clone().prop_map(|a| a.to_string().into_bytes()),
        8 => prop::collection::vec(un.clone(), 0..6).prop_map(|l| Value::Array(l).to_string().into_bytes()),
        1 => prop::collection::vec(Just(json!({"jsonrpc": "2.0", "id": 1, "method": "quete.catalogue"})), 49..53)
            .prop_map(|l| Value::Array(l).to_string().into_bytes()),
        3 => (un, any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(|(a, i, octet, couper)| {
            // A valid-looking call with one byte changed, or cut short.
            let mut octets = a.to_string().into_bytes();
            let n = i.index(octets.len());
            if couper { octets.truncate(n) } else { octets[n] = octet }
            octets
        }),
        3 => prop::collection::vec(any::<u8>(), 0..256),
        3 => json_quelconque().prop_map(|v| v.to_string().into_bytes()),
        1 => (1usize..400, any::<bool>()).prop_map(|(n, tableau)| {
            let (o, f) = if tableau { ("[", "]") } else { ("{\"a\":", "}") };
            format!("{}1{}", o.repeat(n), f.repeat(n)).into_bytes()
        }),
    ]
    .boxed()
}

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Qui {
    Joueur,
    Admin,
    Personne,
    Expire,
    Invalide,
}

fn qui() -> impl Strategy<Value = (Qui, Transport)> {
    (
        prop_oneof![
            12 => Just(Qui::Joueur),
            3 => Just(Qui::Admin),
            1 => Just(Qui::Personne),
            1 => Just(Qui::Expire),
            1 => Just(Qui::Invalide),
        ],
        prop_oneof![3 => Just(Transport::Http), 1 => Just(Transport::WebSocket)],
    )
}

/// Every (`error.code`, `data.code`) the server may answer with, from the one list the server
/// keeps (the protocol's own codes and every refusal of the game).
type Codes = BTreeSet<(i64, String)>;

fn codes_du_serveur() -> Codes {
    CODES_DU_PROTOCOLE
        .iter()
        .map(|&(n, c)| (n, c.to_owned()))
        .chain(codes_de_refus().map(|c| (codes::REFUS, c.to_owned())))
        .collect()
}

/// The words in backquotes of `texte` that look like a code (capitals and `_`).
fn mots_codes(texte: &str) -> BTreeSet<&str> {
    texte
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.len() >= 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[test]
fn chaque_code_du_serveur_est_documente_et_chaque_code_documente_existe() {
    let protocole = include_str!("../../doc/protocole.md");
    let debut = protocole.find("\n## 5. ").expect("§5 de protocole.md");
    let fin = protocole[debut..].find("\n## 6. ").expect("§6") + debut;
    // §5 lists the protocol's codes and the aggregates' refusals; Monde's and Chat's are
    // documented with their methods (§4.7, §4.8).
    let section_5 = mots_codes(&protocole[debut..fin]);
    let partout = mots_codes(protocole);
    let serveur = codes_du_serveur();
    for (numero, code) in &serveur {
        let ou = if *numero == codes::REFUS {
            &partout
        } else {
            &section_5
        };
        assert!(
            ou.contains(code.as_str()),
            "({numero}, {code}) manque à doc/protocole.md"
        );
    }
    for mot in section_5 {
        assert!(
            serveur.iter().any(|(_, c)| c == mot),
            "doc/protocole.md §5 documente `{mot}`, que le serveur ne rend jamais"
        );
    }
}

/// The answer to one call, as the spec says: none for a well-formed notification; else the
/// id given (null when it is unreadable).
fn reponse_attendue(appel: &Value) -> Option<Value> {
    let Value::Object(a) = appel else {
        return Some(Value::Null);
    };
    let id_lisible = matches!(
        a.get("id"),
        None | Some(Value::Null | Value::String(_) | Value::Number(_))
    );
    if !id_lisible {
        return Some(Value::Null);
    }
    let bien_forme = a.get("jsonrpc") == Some(&json!("2.0"))
        && matches!(a.get("method"), Some(Value::String(_)))
        && matches!(
            a.get("params"),
            None | Some(Value::Object(_) | Value::Array(_))
        );
    match a.get("id") {
        Some(id) => Some(id.clone()),
        None if bien_forme => None,
        None => Some(Value::Null),
    }
}

/// Checks one answer object: its shape, its id, its error if any.
fn verifier_un(r: &Value, id: &Value, connus: &Codes) -> Result<(), String> {
    let Value::Object(o) = r else {
        return Err(format!("une réponse n'est pas un objet : {r}"));
    };
    if o.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(format!("`jsonrpc` manque : {r}"));
    }
    if o.get("id") != Some(id) {
        return Err(format!("id {id} attendu : {r}"));
    }
    let cles: BTreeSet<&str> = o.keys().map(String::as_str).collect();
    match (o.get("result"), o.get("error")) {
        (Some(_), None) if cles.len() == 3 => Ok(()),
        (None, Some(e)) if cles.len() == 3 => verifier_erreur(e, connus),
        _ => Err(format!("ni résultat ni erreur seule : {r}")),
    }
}

fn verifier_erreur(e: &Value, connus: &Codes) -> Result<(), String> {
    let code = e["code"].as_i64().ok_or_else(|| format!("code : {e}"))?;
    let stable = e["data"]["code"]
        .as_str()
        .ok_or_else(|| format!("data.code : {e}"))?;
    if e["message"].as_str().is_none_or(str::is_empty) {
        return Err(format!("message : {e}"));
    }
    if code == codes::INTERNE {
        return Err(format!("erreur interne pour une entrée : {e}"));
    }
    if connus.contains(&(code, stable.to_owned())) {
        Ok(())
    } else {
        Err(format!("code inconnu du serveur ({code}, {stable}) : {e}"))
    }
}

/// Checks the whole answer to a message.
fn verifier(corps: &[u8], reponse: Option<&Value>, connus: &Codes) -> Result<(), String> {
    let Ok(message) = serde_json::from_slice::<Value>(corps) else {
        let r = reponse.ok_or("pas de réponse à un JSON illisible")?;
        verifier_un(r, &Value::Null, connus)?;
        return (r["error"]["code"] == codes::ANALYSE)
            .then_some(())
            .ok_or_else(|| format!("-32700 attendu : {r}"));
    };
    match &message {
        Value::Array(appels) if appels.is_empty() || appels.len() > 50 => {
            let r = reponse.ok_or("pas de réponse à un lot refusé")?;
            verifier_un(r, &Value::Null, connus)?;
            (r["error"]["code"] == codes::REQUETE_INVALIDE)
                .then_some(())
                .ok_or_else(|| format!("-32600 attendu : {r}"))
        }
        Value::Array(appels) => {
            let ids: Vec<Value> = appels.iter().filter_map(reponse_attendue).collect();
            match (ids.is_empty(), reponse) {
                (true, None) => Ok(()),
                (false, Some(Value::Array(reponses))) if reponses.len() == ids.len() => reponses
                    .iter()
                    .zip(&ids)
                    .try_for_each(|(r, id)| verifier_un(r, id, connus)),
                (_, r) => Err(format!("{} réponses attendues : {r:?}", ids.len())),
            }
        }
        un => match (reponse_attendue(un), reponse) {
            (None, None) => Ok(()),
            (Some(id), Some(r)) => verifier_un(r, &id, connus),
            (attendu, r) => Err(format!("réponse attendue {attendu:?}, reçue {r:?}")),
        },
    }
}

fn contexte(qui: Qui, transport: Transport, joueur: Authentifie, admin: Authentifie) -> Contexte {
    let (auth, refus) = match qui {
        Qui::Joueur => (Some(joueur), None),
        Qui::Admin => (Some(admin), None),
        Qui::Personne => (None, None),
        Qui::Expire => (
            Some(Authentifie {
                expire_a: Utc::now() - chrono::Duration::seconds(1),
                ..joueur
            }),
            None,
        ),
        Qui::Invalide => (None, Some(JetonRefuse::Invalide)),
    };
    Contexte {
        auth,
        refus,
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        id_requete: Uuid::new_v4(),
        transport,
        joueur: None,
    }
}

fn nombre_de_cas() -> usize {
    std::env::var("MMO_CAS_FUZZ")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(100_000)
}

/// The seed: `MMO_GRAINE_FUZZ` (64 hex digits, as printed), else a random one.
fn graine() -> [u8; 32] {
    let texte = std::env::var("MMO_GRAINE_FUZZ")
        .unwrap_or_else(|_| format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()));
    let mut graine = [0u8; 32];
    for (i, octet) in graine.iter_mut().enumerate() {
        *octet = texte
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .expect("MMO_GRAINE_FUZZ : 64 chiffres hexadécimaux");
    }
    graine
}

/// One message in this many also goes through `POST /rpc` (as the player), and another one
/// in this many through a fresh WebSocket of the player, for the layers in front of the
/// dispatcher: the bytes as they are, the status or the close, the same checks.
const PAR_RESEAU: usize = 20;

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    url: String,
    url_ws: String,
    jeton: Arc<str>,
}

impl Http {
    async fn envoyer(&self, corps: &[u8]) -> Result<(u16, Option<Value>), String> {
        let r = self
            .client
            .post(&self.url)
            .bearer_auth(&self.jeton)
            .header("content-type", "application/json")
            .body(corps.to_vec())
            .send()
            .await
            .map_err(|e| format!("HTTP : {e}"))?;
        let statut = r.status().as_u16();
        let texte = r.bytes().await.map_err(|e| format!("HTTP : {e}"))?;
        let valeur = (!texte.is_empty())
            .then(|| serde_json::from_slice(&texte).map_err(|e| format!("corps HTTP : {e}")))
            .transpose()?;
        Ok((statut, valeur))
    }
}

/// What a fresh socket of the player answered to a message: the answer (none for a
/// notification), or the close.
#[derive(Debug)]
enum ParWs {
    Reponse(Option<Value>),
    Fermee(Option<u16>),
}

const SENTINELLE: &str = "sentinelle du fuzzing";

/// Sends the message on a fresh socket (text if it is UTF-8, else binary), then a call with a
/// known id: whatever comes back before that call's answer is the message's.
async fn par_websocket(url: &str, corps: &[u8]) -> Result<ParWs, String> {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;

    let (mut flux, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("WebSocket : {e}"))?;
    let message = match std::str::from_utf8(corps) {
        Ok(texte) => Message::Text(texte.to_owned().into()),
        Err(_) => Message::Binary(corps.to_vec().into()),
    };
    let sentinelle = json!({"jsonrpc": "2.0", "id": SENTINELLE, "method": "nulle.part"});
    // A closed socket refuses the sentinel: what it said on closing is the answer.
    let _ = flux.send(message).await;
    let _ = flux
        .send(Message::Text(sentinelle.to_string().into()))
        .await;
    let mut reponse = None;
    loop {
        let recu = tokio::time::timeout(Duration::from_secs(30), flux.next())
            .await
            .map_err(|_| "WebSocket : rien en 30 s".to_owned())?;
        match recu {
            None | Some(Err(_)) => return Ok(ParWs::Fermee(None)),
            Some(Ok(Message::Close(trame))) => {
                return Ok(ParWs::Fermee(trame.map(|t| t.code.into())));
            }
            Some(Ok(Message::Text(texte))) => {
                let v: Value =
                    serde_json::from_str(&texte).map_err(|e| format!("WebSocket : {e}"))?;
                let Err(v) = mmo_tests::en_notifications(v) else {
                    continue; // pushes
                };
                if v["id"] == SENTINELLE {
                    return Ok(ParWs::Reponse(reponse));
                }
                if reponse.replace(v).is_some() {
                    return Err("deux réponses à un message".to_owned());
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

/// The answer over WebSocket: closed in 1009 over 64 KiB; bytes that are not UTF-8 (sent as
/// binary) get `REQUETE_INVALIDE`; else the same checks as in-process.
fn verifier_ws(corps: &[u8], reponse: Result<ParWs, String>, connus: &Codes) -> Result<(), String> {
    match reponse? {
        ParWs::Fermee(Some(1009)) if corps.len() > 64 * 1024 => Ok(()),
        ParWs::Reponse(Some(r)) if std::str::from_utf8(corps).is_err() => {
            verifier_un(&r, &Value::Null, connus)?;
            (r["error"]["code"] == codes::REQUETE_INVALIDE)
                .then_some(())
                .ok_or_else(|| format!("binaire : -32600 attendu : {r}"))
        }
        ParWs::Reponse(r) if corps.len() <= 64 * 1024 => verifier(corps, r.as_ref(), connus),
        autre => Err(format!("WebSocket : {autre:?}")),
    }
}

/// The answer over HTTP: 413 over 64 KiB, else 200 with the answer or 204 with none.
fn verifier_http(
    corps: &[u8],
    reponse: Result<(u16, Option<Value>), String>,
    connus: &Codes,
) -> Result<(), String> {
    let (statut, valeur) = reponse?;
    match (statut, valeur) {
        (413, Some(r)) if corps.len() > 64 * 1024 => verifier_un(&r, &Value::Null, connus),
        (200, Some(r)) => verifier(corps, Some(&r), connus),
        (204, None) => verifier(corps, None, connus),
        (statut, r) => Err(format!("HTTP {statut} : {r:?}")),
    }
}

/// Sets up two players, an admin, characters, a combat and a trade to aim at.
async fn preparer(banc: &Banc, pool: &PgPool) -> (Monde, Authentifie, Authentifie) {
    let alice = banc.compte("alice").await;
    let bob = banc.compte("bob").await;
    let chef = banc.compte("chef").await;
    sqlx::query("UPDATE comptes SET admin = true WHERE login = 'chef'")
        .execute(pool)
        .await
        .expect("admin");
    let a1 = banc.personnage(&alice.jeton, "Alicia", "Tank").await;
    let a2 = banc.personnage(&alice.jeton, "Aliette", "Heal").await;
    let b1 = banc.personnage(&bob.jeton, "Bobinette", "DPS").await;
    let c1 = banc.personnage(&chef.jeton, "Chefaillon", "Heal").await;
    // The fuzz aims at a real combat and a real trade (and at an unknown id of each): a setup
    // that cannot make them fails here, not as a fuzz quietly aiming at nothing. The trade
    // offers bread from the starting kit, which the process manager delivers: wait for it.
    for (jeton, joueur) in [(&alice.jeton, &a2), (&bob.jeton, &b1)] {
        banc.lire_quand(
            jeton,
            "inventaire.consulter",
            json!({"joueur_id": joueur}),
            |i| i["items"]["pain"].as_u64().is_some_and(|n| n >= 1),
        )
        .await;
    }
    let combats = [(&alice.jeton, &a1), (&bob.jeton, &b1)];
    let mut ids_combats = vec![json!(Uuid::new_v4())];
    for (jeton, joueur) in combats {
        let p = json!({"joueur_id": joueur, "rencontre": "meute_de_loups"});
        let r = banc
            .appel(jeton, "combat.demarrer", p)
            .await
            .unwrap_or_else(|e| panic!("combat de {joueur} pour le fuzz : {e}"));
        ids_combats.push(r["combat_id"].clone());
    }
    let offre = json!({"joueur_id": a2, "destinataire": b1, "offre": {"items": {"pain": 1}}});
    let r = banc
        .appel(&alice.jeton, "echange.proposer", offre)
        .await
        .unwrap_or_else(|e| panic!("échange pour le fuzz : {e}"));
    let echanges = vec![json!(Uuid::new_v4()), r["echange_id"].clone()];
    let perime = alice.jeton_perime();
    let forge = alice.jeton_forge();
    let etat = &banc.serveur.passerelle;
    let joueur = etat.jetons.verifier(&alice.jeton).expect("jeton d'Alice");
    let admin = etat.jetons.verifier(&chef.jeton).expect("jeton du chef");
    let monde = Monde {
        joueurs: vec![a1, a2, b1, c1],
        noms: vec![json!("Alicia"), json!("bobinette"), json!("Chefaillon")],
        combats: ids_combats,
        echanges,
        jetons: [alice.jeton, bob.jeton, chef.jeton, perime, forge]
            .map(Value::from)
            .to_vec(),
    };
    (monde, joueur, admin)
}

#[sqlx::test(migrations = "../migrations")]
async fn le_repartiteur_ne_panique_jamais_et_ne_rend_que_des_erreurs_documentees(pool: PgPool) {
    if std::env::var_os("RUST_LOG").is_some() {
        gateway::telemetrie::initialiser(false);
    }
    let mut reglages = passerelle_de_test();
    reglages.appels_par_seconde = 1_000_000;
    let banc = Banc::demarrer_avec(&pool, reglages).await;
    let (monde, joueur, admin) = preparer(&banc, &pool).await;
    let connus = Arc::new(codes_du_serveur());
    let cas = nombre_de_cas();
    let graine = graine();
    let graine_hex = graine.iter().fold(String::new(), |mut hex, o| {
        let _ = write!(hex, "{o:02x}");
        hex
    });
    eprintln!("fuzz : {cas} messages, graine {graine_hex} (MMO_GRAINE_FUZZ=… pour rejouer)");

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &graine),
    );
    let strategie = (message(&monde), qui());
    let etat: Arc<Passerelle> = Arc::clone(&banc.serveur.passerelle);
    let http = Http {
        client: banc.http.clone(),
        url: format!("{}/rpc", banc.base),
        url_ws: format!(
            "ws://{}/ws?jeton={}",
            banc.serveur.adresse,
            monde.jetons[0].as_str().unwrap_or_default()
        ),
        jeton: Arc::from(monde.jetons[0].as_str().unwrap_or_default()),
    };
    let debut = Instant::now();
    let generes = (0..cas).map(|n| {
        let (corps, (qui, transport)) = strategie
            .new_tree(&mut runner)
            .expect("cas généré")
            .current();
        (n, corps, qui, transport)
    });
    let mut resultats = futures_util::stream::iter(generes)
        .map(|(n, corps, qui, transport)| {
            let etat = Arc::clone(&etat);
            let connus = Arc::clone(&connus);
            let mut ctx = contexte(qui, transport, joueur, admin);
            let reseau = match n % PAR_RESEAU {
                0 => Some((http.clone(), false)),
                10 => Some((http.clone(), true)),
                _ => None,
            };
            async move {
                let tache = tokio::spawn(async move {
                    let r = tokio::time::timeout(
                        Duration::from_secs(30),
                        rpc::traiter(&etat, &mut ctx, &corps),
                    )
                    .await;
                    let par_reseau = match reseau {
                        Some((h, false)) => Some(Err(h.envoyer(&corps).await)),
                        Some((h, true)) => Some(Ok(par_websocket(&h.url_ws, &corps).await)),
                        None => None,
                    };
                    (corps, r, par_reseau)
                });
                let verdict = match tache.await {
                    Err(e) if e.is_panic() => Err(format!("panique : {e:?}")),
                    Err(e) => Err(format!("tâche : {e}")),
                    Ok((corps, Err(_), _)) => Err(format!(
                        "pas de réponse en 30 s à {}",
                        String::from_utf8_lossy(&corps)
                    )),
                    Ok((corps, Ok(reponse), par_reseau)) => {
                        let issue = issue_d_un_appel(&corps, reponse.as_ref());
                        verifier(&corps, reponse.as_ref(), &connus)
                            .and_then(|()| match par_reseau {
                                Some(Err(r)) => verifier_http(&corps, r, &connus),
                                Some(Ok(r)) => verifier_ws(&corps, r, &connus),
                                None => Ok(()),
                            })
                            .map_err(|e| {
                                let montre: String =
                                    String::from_utf8_lossy(&corps).chars().take(600).collect();
                                format!("{e}\n  message : {montre}")
                            })
                            .map(|()| issue)
                    }
                };
                verdict
                    .map(|issue| issue.map(|(m, i)| (m, i, qui)))
                    .map_err(|e| format!("cas {n} ({qui:?}, {transport:?}) : {e}"))
            }
        })
        .buffer_unordered(16);
    let mut echecs = Vec::new();
    let mut vus = 0usize;
    let mut issues: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    while let Some(r) = resultats.next().await {
        vus += 1;
        match r {
            Err(e) => echecs.push(e),
            Ok(Some((m, issue, _))) => {
                *issues.entry(m.nom()).or_default().entry(issue).or_default() += 1;
            }
            Ok(None) => {}
        }
    }
    drop(resultats);
    let duree = debut.elapsed();
    eprintln!(
        "fuzz : {vus} messages en {:.1} s ({:.0}/s), {} échecs",
        duree.as_secs_f64(),
        vus as f64 / duree.as_secs_f64(),
        echecs.len()
    );
    eprintln!("fuzz : issues des appels seuls, par méthode (ok, puis les codes) :");
    for (m, parts) in &issues {
        let mut parts: Vec<_> = parts.iter().collect();
        parts.sort_by(|a, b| b.1.cmp(a.1));
        let liste: Vec<String> = parts
            .iter()
            .take(6)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        eprintln!("  {m} : {}", liste.join(", "));
    }
    assert_eq!(vus, cas);
    assert!(
        echecs.is_empty(),
        "graine {graine_hex} : {} échecs, dont :\n{}",
        echecs.len(),
        echecs
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every method was reached past the envelope, the token and the params: its handler ran
    // (a result, or a refusal of its own), not only the checks in front of it.
    if cas >= 10_000 {
        for &m in Methode::TOUTES {
            let atteinte = issues.get(m.nom()).is_some_and(|parts| {
                parts
                    .keys()
                    .any(|c| !AVANT_LA_METHODE.contains(&c.as_str()))
            });
            assert!(
                atteinte,
                "{} : jamais atteinte ({:?})",
                m.nom(),
                issues.get(m.nom())
            );
        }
    }
    banc.arreter().await;
}

/// The refusals that come before a method's own code runs.
const AVANT_LA_METHODE: &[&str] = &[
    "REQUETE_INVALIDE",
    "METHODE_INCONNUE",
    "PARAMETRES_INVALIDES",
    "NON_AUTHENTIFIE",
    "JETON_EXPIRE",
    "JETON_INVALIDE",
    "TROP_DE_REQUETES",
];

/// For a message that is one call of a known method: the method and how it ended (`ok` or
/// the error's `data.code`).
fn issue_d_un_appel(corps: &[u8], reponse: Option<&Value>) -> Option<(Methode, String)> {
    let appel: Value = serde_json::from_slice(corps).ok()?;
    let methode = Methode::depuis_nom(appel.get("method")?.as_str()?)?;
    let reponse = reponse?;
    let issue = match reponse.get("error") {
        None => "ok".to_owned(),
        Some(e) => code_stable(e).to_owned(),
    };
    Some((methode, issue))
}

fn code_stable(e: &Value) -> &str {
    e["data"]["code"].as_str().unwrap_or("?")
}
