//! JSON-RPC 2.0, one dispatcher for `POST /rpc` and the WebSocket: parsing (single calls and
//! batches), authentication, the per-account rate limit, then one thin handler per method,
//! each call under its own span. The wire format is [`crate::protocole`]'s; every answer is a
//! result or one of its documented errors, and nothing a client sends can make the
//! dispatcher panic or answer a 500.

pub mod appelant;
pub mod chat;
pub mod combat;
pub mod economie;
pub mod evenements;
pub mod joueur;
pub mod monde;
pub mod quete;

use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{Authentifie, JetonRefuse};
use crate::config::limites::TAILLE_LOT;
use crate::passerelle::Passerelle;
use crate::protocole::{Appel, ErreurRpc, lire_appel, params, reponse, reponse_erreur};
use appelant::Appelant;

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
    MondePlacer => "monde.placer", true;
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

/// Handles a whole message (one call or a batch): the answer to send back, if any (a
/// notification, or a batch of notifications, gets none).
pub async fn traiter(passerelle: &Passerelle, ctx: &mut Contexte, corps: &[u8]) -> Option<Value> {
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
                if let Some(r) = traiter_un(passerelle, ctx, appel).await {
                    reponses.push(r);
                }
            }
            (!reponses.is_empty()).then_some(Value::Array(reponses))
        }
        appel => traiter_un(passerelle, ctx, appel).await,
    }
}

async fn traiter_un(passerelle: &Passerelle, ctx: &mut Contexte, valeur: Value) -> Option<Value> {
    match lire_appel(valeur) {
        Ok(appel) => {
            let methode = Methode::depuis_nom(&appel.methode);
            repondre(passerelle, ctx, methode, appel).await
        }
        Err((id, e)) => {
            passerelle
                .metriques
                .appel("invalide", e.code_stable(), None);
            Some(reponse_erreur(id, &e))
        }
    }
}

/// One call, under its span whatever the transport: what a handler logs carries the method,
/// the account (when the call comes with one) and the request.
#[tracing::instrument(
    name = "rpc",
    skip_all,
    fields(
        methode = methode.map_or("inconnue", Methode::nom),
        compte_id = ctx.auth.map(|a| tracing::field::display(a.compte_id)),
        id_requete = %ctx.id_requete,
    )
)]
async fn repondre(
    passerelle: &Passerelle,
    ctx: &mut Contexte,
    methode: Option<Methode>,
    appel: Appel,
) -> Option<Value> {
    let debut = Instant::now();
    let resultat = match methode {
        None => Err(ErreurRpc::methode_inconnue(&appel.methode)),
        Some(m) => appeler(passerelle, ctx, m, appel.params).await,
    };
    let nom = methode.map_or("inconnue", Methode::nom);
    let issue = resultat
        .as_ref()
        .map_or_else(ErreurRpc::code_stable, |_| "ok");
    passerelle
        .metriques
        .appel(nom, issue, Some(debut.elapsed()));
    let id = appel.id?;
    Some(match resultat {
        Ok(r) => reponse(id, r),
        Err(e) => reponse_erreur(id, &e),
    })
}

/// Why a call without a valid token is refused: the token's own refusal when one came.
fn refus_de_jeton(raison: Option<JetonRefuse>) -> ErreurRpc {
    match raison {
        None => ErreurRpc::non_authentifie(),
        Some(JetonRefuse::Expire) => ErreurRpc::jeton_expire(),
        Some(JetonRefuse::Invalide) => ErreurRpc::jeton_invalide(),
    }
}

async fn appeler(
    passerelle: &Passerelle,
    ctx: &mut Contexte,
    methode: Methode,
    p: Option<Value>,
) -> Result<Value, ErreurRpc> {
    if methode == Methode::SessionAuthentifier {
        return authentifier(passerelle, ctx, p);
    }
    let auth = match (ctx.auth, ctx.refus) {
        (Some(a), _) if a.expire_a > Utc::now() => a,
        (Some(_), _) => return Err(ErreurRpc::jeton_expire()),
        (None, refus) => return Err(refus_de_jeton(refus)),
    };
    if methode.admin() && !auth.admin {
        return Err(ErreurRpc::interdit("méthode réservée aux administrateurs"));
    }
    passerelle
        .limite_appels
        .prendre(&auth.compte_id)
        .map_err(ErreurRpc::trop_de_requetes)?;
    let a = Appelant {
        compte_id: auth.compte_id,
        admin: auth.admin,
        id_requete: ctx.id_requete,
    };
    match methode {
        Methode::SessionAuthentifier => authentifier(passerelle, ctx, p),
        Methode::JoueurCreer => joueur::creer(passerelle, a, params(p)?).await,
        Methode::JoueurLister => joueur::lister(passerelle, a, params(p)?).await,
        Methode::JoueurProfil => joueur::profil(passerelle, params(p)?).await,
        Methode::ClassementConsulter => joueur::classement(passerelle, params(p)?).await,
        Methode::MondeZone => monde::zone(passerelle, a, params(p)?).await,
        Methode::MondeDeplacer => monde::deplacer(passerelle, a, params(p)?).await,
        Methode::MondeChangerZone => monde::changer_zone(passerelle, a, params(p)?).await,
        Methode::MondeProches => monde::proches(passerelle, a, params(p)?).await,
        Methode::MondePlacer => monde::placer(passerelle, params(p)?).await,
        Methode::CombatDemarrer => combat::demarrer(passerelle, a, params(p)?).await,
        Methode::CombatRejoindre => combat::rejoindre(passerelle, a, params(p)?).await,
        Methode::CombatQuitter => combat::quitter(passerelle, a, params(p)?).await,
        Methode::CombatLancer => combat::lancer(passerelle, a, params(p)?).await,
        Methode::CombatAgir => combat::agir(passerelle, a, params(p)?).await,
        Methode::CombatEtat => combat::etat(passerelle, params(p)?).await,
        Methode::CombatHistorique => combat::historique(passerelle, a, params(p)?).await,
        Methode::QueteCatalogue => quete::catalogue(passerelle, params(p)?),
        Methode::QueteAccepter => quete::accepter(passerelle, a, params(p)?).await,
        Methode::QueteAbandonner => quete::abandonner(passerelle, a, params(p)?).await,
        Methode::QueteJournal => quete::journal(passerelle, a, params(p)?).await,
        Methode::InventaireConsulter => economie::consulter(passerelle, a, params(p)?).await,
        Methode::InventaireFabriquer => economie::fabriquer(passerelle, a, params(p)?).await,
        Methode::InventaireAcheter => economie::acheter(passerelle, a, params(p)?).await,
        Methode::InventaireVendre => economie::vendre(passerelle, a, params(p)?).await,
        Methode::InventaireJeter => economie::jeter(passerelle, a, params(p)?).await,
        Methode::EchangeProposer => economie::proposer(passerelle, a, params(p)?).await,
        Methode::EchangeModifier => economie::modifier(passerelle, a, params(p)?).await,
        Methode::EchangeAccepter => economie::accepter(passerelle, a, params(p)?).await,
        Methode::EchangeAnnuler => economie::annuler(passerelle, a, params(p)?).await,
        Methode::EconomieGrandLivre => economie::grand_livre(passerelle, a, params(p)?).await,
        Methode::EconomieTotaux => economie::totaux(passerelle, params(p)?).await,
        Methode::ChatEnvoyer => chat::envoyer(passerelle, a, params(p)?).await,
        Methode::ChatHistorique => chat::historique(passerelle, a, params(p)?).await,
        Methode::ChatMuseler => chat::museler(passerelle, params(p)?).await,
        Methode::EvenementsDepuis => evenements::depuis(passerelle, a, params(p)?).await,
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
fn authentifier(
    passerelle: &Passerelle,
    ctx: &mut Contexte,
    p: Option<Value>,
) -> Result<Value, ErreurRpc> {
    if ctx.transport != Transport::WebSocket {
        return Err(ErreurRpc::methode_inconnue(
            "session.authentifier (WebSocket seulement ; en HTTP : en-tête Authorization)",
        ));
    }
    let ParamsAuthentifier { jeton } = params(p)?;
    let auth = passerelle
        .jetons
        .verifier(&jeton)
        .map_err(|r| refus_de_jeton(Some(r)))?;
    if let Some(actuel) = ctx.auth
        && actuel.compte_id != auth.compte_id
    {
        return Err(ErreurRpc::interdit(
            "cette connexion appartient à un autre compte",
        ));
    }
    ctx.auth = Some(auth);
    ctx.refus = None;
    tracing::Span::current().record("compte_id", tracing::field::display(auth.compte_id));
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
        assert!(Methode::MondePlacer.admin());
        assert!(!Methode::ChatEnvoyer.admin());
        assert!(!Methode::JoueurCreer.admin());
    }
}
