//! JSON-RPC 2.0, one dispatcher for `POST /rpc` and the WebSocket: parsing (single calls and
//! batches), authentication, the per-account rate limit, then one thin handler per method.
//! Every answer is a result or a documented error ([`erreur`]); nothing a client sends can
//! make it panic or answer a 500.

pub mod chat;
pub mod combat;
pub mod economie;
pub mod erreur;
pub mod evenements;
pub mod joueur;
pub mod monde;
pub mod quete;

use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use domain::ids::CompteId;
use magasin::Metadonnees;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::{Authentifie, JetonRefuse};
use crate::config::limites::TAILLE_LOT;
use crate::etat::Etat;
pub use erreur::ErreurRpc;

/// How the call arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /rpc`: the token is in the `Authorization` header.
    Http,
    /// `/ws`: the token came with the upgrade or by `session.authentifier`.
    WebSocket,
}

/// What the dispatcher knows of the caller.
#[derive(Debug, Clone)]
pub struct Contexte {
    /// The valid token's account, if any.
    pub auth: Option<Authentifie>,
    /// Why the presented token was refused, if one was.
    pub refus: Option<JetonRefuse>,
    /// The peer's address.
    pub ip: IpAddr,
    /// The request (or WebSocket message): the correlation id of the commands it sends.
    pub id_requete: Uuid,
    /// HTTP or WebSocket.
    pub transport: Transport,
}

/// An authenticated caller, as handlers see it.
#[derive(Debug, Clone, Copy)]
pub struct Appelant {
    /// The account.
    pub compte_id: CompteId,
    /// May call admin methods.
    pub admin: bool,
    /// The request, for correlation.
    pub id_requete: Uuid,
}

impl Appelant {
    /// The metadata of a command this caller sends: the client's `id_commande` if it gave one
    /// (a retry with the same id changes nothing), else a fresh one.
    pub fn meta(&self, id_commande: Option<Uuid>) -> Metadonnees {
        Metadonnees::pour_compte(
            self.compte_id,
            id_commande.unwrap_or_else(Uuid::new_v4),
            self.id_requete,
            Utc::now(),
        )
    }
}

macro_rules! methodes {
    ($($variante:ident => $nom:literal, $admin:literal;)*) => {
        /// Every method of the protocol.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Methode {
            $(
                #[doc = concat!("`", $nom, "`")]
                $variante,
            )*
        }

        impl Methode {
            /// All of them, in protocol order.
            pub const TOUTES: &[Self] = &[$(Self::$variante),*];

            /// The method of this name.
            pub fn depuis_nom(nom: &str) -> Option<Self> {
                match nom {
                    $($nom => Some(Self::$variante),)*
                    _ => None,
                }
            }

            /// Its name on the wire.
            pub fn nom(self) -> &'static str {
                match self {
                    $(Self::$variante => $nom,)*
                }
            }

            /// Only for admin accounts.
            pub fn admin(self) -> bool {
                match self {
                    $(Self::$variante => $admin,)*
                }
            }
        }
    };
}

methodes! {
    SessionAuthentifier => "session.authentifier", false;
    JoueurCreer => "joueur.creer", false;
    JoueurLister => "joueur.lister", false;
    JoueurProfil => "joueur.profil", false;
    ClassementConsulter => "classement.consulter", false;
    MondeZone => "monde.zone", false;
    MondeDeplacer => "monde.deplacer", false;
    MondeChangerZone => "monde.changer_zone", false;
    MondeProches => "monde.proches", false;
    CombatDemarrer => "combat.demarrer", false;
    CombatRejoindre => "combat.rejoindre", false;
    CombatQuitter => "combat.quitter", false;
    CombatLancer => "combat.lancer", false;
    CombatAgir => "combat.agir", false;
    CombatEtat => "combat.etat", false;
    CombatHistorique => "combat.historique", false;
    QueteCatalogue => "quete.catalogue", false;
    QueteAccepter => "quete.accepter", false;
    QueteAbandonner => "quete.abandonner", false;
    QueteJournal => "quete.journal", false;
    InventaireConsulter => "inventaire.consulter", false;
    InventaireFabriquer => "inventaire.fabriquer", false;
    InventaireAcheter => "inventaire.acheter", false;
    InventaireVendre => "inventaire.vendre", false;
    InventaireJeter => "inventaire.jeter", false;
    EchangeProposer => "echange.proposer", false;
    EchangeModifier => "echange.modifier", false;
    EchangeAccepter => "echange.accepter", false;
    EchangeAnnuler => "echange.annuler", false;
    EconomieGrandLivre => "economie.grand_livre", false;
    EconomieTotaux => "economie.totaux", true;
    ChatEnvoyer => "chat.envoyer", false;
    ChatHistorique => "chat.historique", false;
    ChatMuseler => "chat.museler", true;
    EvenementsDepuis => "evenements.depuis", false;
}

/// Params by name, as the method's type: absent params are an empty object; positional
/// params are refused.
pub fn params<P: DeserializeOwned>(params: Option<Value>) -> Result<P, ErreurRpc> {
    let valeur = match params {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Array(_)) => {
            return Err(ErreurRpc::parametres(
                &"les paramètres se passent par nom (un objet)",
            ));
        }
        Some(v) => v,
    };
    serde_json::from_value(valeur).map_err(|e| ErreurRpc::parametres(&e))
}

/// A result as JSON.
pub fn en_json(valeur: &impl serde::Serialize) -> Result<Value, ErreurRpc> {
    serde_json::to_value(valeur).map_err(|e| ErreurRpc::interne(&e))
}

/// An event as the protocol shows it: `{"type": "AttaquePortee", "donnees": {...}}` (the
/// store keeps it externally tagged, `{"AttaquePortee": {...}}`).
pub fn evenement_json(valeur: Value) -> Value {
    match valeur {
        Value::Object(m) if m.len() == 1 => {
            let Some((genre, donnees)) = m.into_iter().next() else {
                return Value::Null;
            };
            json!({ "type": genre, "donnees": donnees })
        }
        Value::String(genre) => json!({ "type": genre, "donnees": {} }),
        autre => autre,
    }
}

/// A command's events, for its answer: `{"evenements": [...]}`.
pub fn evenements_json<E: serde::Serialize>(evenements: &[E]) -> Result<Value, ErreurRpc> {
    let liste = evenements
        .iter()
        .map(|e| en_json(e).map(evenement_json))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "evenements": liste }))
}

/// Checks that a character belongs to the caller (an admin may read any): for queries. The
/// owner comes from the name reservations (written before the character exists, so never
/// behind), through Service Monde's memory of them (an owner never changes).
pub async fn verifier_proprietaire(
    etat: &Etat,
    a: Appelant,
    joueur_id: domain::ids::JoueurId,
) -> Result<(), ErreurRpc> {
    if !a.admin {
        etat.monde
            .verifier_proprietaire(a.compte_id, joueur_id)
            .await?;
        return Ok(());
    }
    match etat.monde.proprietaire(joueur_id).await? {
        Some(_) => Ok(()),
        None => Err(ErreurRpc::introuvable("personnage", &joueur_id)),
    }
}

/// Handles a whole message (one call or a batch): the answer to send back, if any (a
/// notification, or a batch of notifications, gets none).
pub async fn traiter(etat: &Etat, ctx: &mut Contexte, corps: &[u8]) -> Option<Value> {
    let message: Value = match serde_json::from_slice(corps) {
        Ok(v) => v,
        Err(e) => return Some(reponse_erreur(Value::Null, &ErreurRpc::analyse(&e))),
    };
    match message {
        Value::Array(appels) if appels.is_empty() => Some(reponse_erreur(
            Value::Null,
            &ErreurRpc::requete_invalide("lot vide"),
        )),
        Value::Array(appels) if appels.len() > TAILLE_LOT => Some(reponse_erreur(
            Value::Null,
            &ErreurRpc::lot_trop_grand(TAILLE_LOT),
        )),
        Value::Array(appels) => {
            let mut reponses = Vec::with_capacity(appels.len());
            // In order, one after the other: a batch is a script, its calls may depend on
            // each other (and `session.authentifier` changes the context).
            for appel in appels {
                if let Some(r) = traiter_un(etat, ctx, appel).await {
                    reponses.push(r);
                }
            }
            (!reponses.is_empty()).then_some(Value::Array(reponses))
        }
        appel => traiter_un(etat, ctx, appel).await,
    }
}

/// A successful answer.
pub fn reponse(id: Value, resultat: Value) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), id);
    m.insert("result".into(), resultat);
    Value::Object(m)
}

/// An error answer.
pub fn reponse_erreur(id: Value, e: &ErreurRpc) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), id);
    m.insert(
        "error".into(),
        json!({ "code": e.code, "message": e.message, "data": e.data }),
    );
    Value::Object(m)
}

/// A notification the server pushes.
pub fn notification(methode: &str, params: Value) -> Value {
    let mut m = Map::with_capacity(3);
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("method".into(), Value::from(methode));
    m.insert("params".into(), params);
    Value::Object(m)
}

struct Appel {
    id: Option<Value>,
    methode: String,
    params: Option<Value>,
}

/// Reads one call; on failure, the id to answer with (null when unreadable) and the error.
fn lire_appel(valeur: Value) -> Result<Appel, (Value, ErreurRpc)> {
    let Value::Object(mut objet) = valeur else {
        return Err((
            Value::Null,
            ErreurRpc::requete_invalide("un appel est un objet"),
        ));
    };
    let id = objet.remove("id");
    let id_reponse = match &id {
        None | Some(Value::Null | Value::String(_) | Value::Number(_)) => {
            id.clone().unwrap_or(Value::Null)
        }
        Some(_) => {
            return Err((
                Value::Null,
                ErreurRpc::requete_invalide("`id` est une chaîne, un nombre ou null"),
            ));
        }
    };
    if objet.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((
            id_reponse,
            ErreurRpc::requete_invalide("`jsonrpc` doit valoir \"2.0\""),
        ));
    }
    let Some(Value::String(methode)) = objet.remove("method") else {
        return Err((id_reponse, ErreurRpc::requete_invalide("`method` manque")));
    };
    let params = objet.remove("params");
    if !matches!(params, None | Some(Value::Object(_) | Value::Array(_))) {
        return Err((
            id_reponse,
            ErreurRpc::requete_invalide("`params` est un objet ou un tableau"),
        ));
    }
    Ok(Appel {
        id,
        methode,
        params,
    })
}

async fn traiter_un(etat: &Etat, ctx: &mut Contexte, valeur: Value) -> Option<Value> {
    let appel = match lire_appel(valeur) {
        Ok(a) => a,
        Err((id, e)) => {
            etat.metriques.appel("invalide", e.code_stable(), None);
            return Some(reponse_erreur(id, &e));
        }
    };
    let debut = Instant::now();
    let methode = Methode::depuis_nom(&appel.methode);
    let resultat = match methode {
        None => Err(ErreurRpc::methode_inconnue(&appel.methode)),
        Some(m) => appeler(etat, ctx, m, appel.params).await,
    };
    let nom = methode.map_or("inconnue", Methode::nom);
    let issue = resultat
        .as_ref()
        .map_or_else(ErreurRpc::code_stable, |_| "ok");
    etat.metriques.appel(nom, issue, Some(debut.elapsed()));
    let id = appel.id?;
    Some(match resultat {
        Ok(r) => reponse(id, r),
        Err(e) => reponse_erreur(id, &e),
    })
}

async fn appeler(
    etat: &Etat,
    ctx: &mut Contexte,
    methode: Methode,
    p: Option<Value>,
) -> Result<Value, ErreurRpc> {
    if methode == Methode::SessionAuthentifier {
        return authentifier(etat, ctx, p);
    }
    let auth = match (ctx.auth, ctx.refus) {
        (Some(a), _) if a.expire_a > Utc::now() => a,
        (Some(_), _) => return Err(ErreurRpc::non_authentifie(Some(JetonRefuse::Expire))),
        (None, refus) => return Err(ErreurRpc::non_authentifie(refus)),
    };
    if methode.admin() && !auth.admin {
        return Err(ErreurRpc::interdit("méthode réservée aux administrateurs"));
    }
    etat.limite_appels
        .prendre(&auth.compte_id)
        .map_err(ErreurRpc::trop_de_requetes)?;
    let a = Appelant {
        compte_id: auth.compte_id,
        admin: auth.admin,
        id_requete: ctx.id_requete,
    };
    match methode {
        Methode::SessionAuthentifier => authentifier(etat, ctx, p),
        Methode::JoueurCreer => joueur::creer(etat, a, params(p)?).await,
        Methode::JoueurLister => joueur::lister(etat, a, params(p)?).await,
        Methode::JoueurProfil => joueur::profil(etat, params(p)?).await,
        Methode::ClassementConsulter => joueur::classement(etat, params(p)?).await,
        Methode::MondeZone => monde::zone(etat, a, params(p)?).await,
        Methode::MondeDeplacer => monde::deplacer(etat, a, params(p)?).await,
        Methode::MondeChangerZone => monde::changer_zone(etat, a, params(p)?).await,
        Methode::MondeProches => monde::proches(etat, a, params(p)?).await,
        Methode::CombatDemarrer => combat::demarrer(etat, a, params(p)?).await,
        Methode::CombatRejoindre => combat::rejoindre(etat, a, params(p)?).await,
        Methode::CombatQuitter => combat::quitter(etat, a, params(p)?).await,
        Methode::CombatLancer => combat::lancer(etat, a, params(p)?).await,
        Methode::CombatAgir => combat::agir(etat, a, params(p)?).await,
        Methode::CombatEtat => combat::etat(etat, params(p)?).await,
        Methode::CombatHistorique => combat::historique(etat, a, params(p)?).await,
        Methode::QueteCatalogue => quete::catalogue(etat, params(p)?),
        Methode::QueteAccepter => quete::accepter(etat, a, params(p)?).await,
        Methode::QueteAbandonner => quete::abandonner(etat, a, params(p)?).await,
        Methode::QueteJournal => quete::journal(etat, a, params(p)?).await,
        Methode::InventaireConsulter => economie::consulter(etat, a, params(p)?).await,
        Methode::InventaireFabriquer => economie::fabriquer(etat, a, params(p)?).await,
        Methode::InventaireAcheter => economie::acheter(etat, a, params(p)?).await,
        Methode::InventaireVendre => economie::vendre(etat, a, params(p)?).await,
        Methode::InventaireJeter => economie::jeter(etat, a, params(p)?).await,
        Methode::EchangeProposer => economie::proposer(etat, a, params(p)?).await,
        Methode::EchangeModifier => economie::modifier(etat, a, params(p)?).await,
        Methode::EchangeAccepter => economie::accepter(etat, a, params(p)?).await,
        Methode::EchangeAnnuler => economie::annuler(etat, a, params(p)?).await,
        Methode::EconomieGrandLivre => economie::grand_livre(etat, a, params(p)?).await,
        Methode::EconomieTotaux => economie::totaux(etat, params(p)?).await,
        Methode::ChatEnvoyer => chat::envoyer(etat, a, params(p)?).await,
        Methode::ChatHistorique => chat::historique(etat, a, params(p)?).await,
        Methode::ChatMuseler => chat::museler(etat, params(p)?).await,
        Methode::EvenementsDepuis => evenements::depuis(etat, a, params(p)?).await,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsAuthentifier {
    jeton: String,
}

/// `session.authentifier {jeton}`: a WebSocket's first call when the token did not come with
/// the upgrade, or a fresh token before the current one expires. A socket stays with its
/// account: another account's token is refused.
fn authentifier(etat: &Etat, ctx: &mut Contexte, p: Option<Value>) -> Result<Value, ErreurRpc> {
    if ctx.transport != Transport::WebSocket {
        return Err(ErreurRpc::methode_inconnue(
            "session.authentifier (WebSocket seulement ; en HTTP : en-tête Authorization)",
        ));
    }
    let ParamsAuthentifier { jeton } = params(p)?;
    let auth = etat
        .jetons
        .verifier(&jeton)
        .map_err(|r| ErreurRpc::non_authentifie(Some(r)))?;
    if let Some(actuel) = ctx.auth
        && actuel.compte_id != auth.compte_id
    {
        return Err(ErreurRpc::interdit(
            "cette connexion appartient à un autre compte",
        ));
    }
    ctx.auth = Some(auth);
    ctx.refus = None;
    Ok(json!({ "compte_id": auth.compte_id, "admin": auth.admin, "expire_a": auth.expire_a }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaque_methode_se_retrouve_par_son_nom() {
        for m in Methode::TOUTES {
            assert_eq!(Methode::depuis_nom(m.nom()), Some(*m));
        }
        assert_eq!(Methode::depuis_nom("joueur.supprimer"), None);
        assert!(Methode::EconomieTotaux.admin());
        assert!(Methode::ChatMuseler.admin());
        assert!(!Methode::ChatEnvoyer.admin());
        assert!(!Methode::JoueurCreer.admin());
    }

    #[test]
    fn un_appel_mal_forme_est_refuse_avec_son_id_quand_il_est_lisible() {
        let (id, e) = lire_appel(json!({"jsonrpc": "1.0", "id": 7, "method": "x"}))
            .err()
            .expect("refusé");
        assert_eq!(id, json!(7));
        assert_eq!(e.code, erreur::codes::REQUETE_INVALIDE);
        let (id, _) = lire_appel(json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "x"}))
            .err()
            .expect("refusé");
        assert_eq!(id, Value::Null);
        assert!(lire_appel(json!([1])).is_err());
        assert!(lire_appel(json!({"jsonrpc": "2.0", "method": "x", "params": 3})).is_err());
    }

    #[test]
    fn des_parametres_positionnels_ou_incomplets_sont_refuses() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            nom: String,
        }
        assert!(params::<P>(Some(json!(["a"]))).is_err());
        let e = params::<P>(None).expect_err("nom manque");
        assert_eq!(e.code, erreur::codes::PARAMETRES);
        assert!(e.message.contains("nom"), "{}", e.message);
    }
}
