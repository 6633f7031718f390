//! JSON-RPC 2.0, one dispatcher for `POST /rpc` and the WebSocket: parsing (single calls and
//! batches), authentication, the per-account rate limit, then one thin handler per method,
//! each call under its own span. The wire format is [`crate::protocole`]'s; every answer is a
//! result or one of its documented errors, and nothing a client sends can make the
//! dispatcher panic or answer a 500.

pub mod appelant;
pub mod chat;
pub mod coherence;
pub mod combat;
pub mod economie;
pub mod evenements;
pub mod joueur;
pub mod mj;
pub mod moderation;
pub mod monde;
pub mod openrpc;
pub mod quete;

use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{Authentifie, JetonRefuse, roles};
use crate::config::limites::TAILLE_LOT;
use crate::passerelle::Passerelle;
use crate::protocole::{
    Appel, ErreurRpc, Evenements, en_json, lire_appel, params, reponse, reponse_erreur,
};
use appelant::Appelant;
use domain::ids::JoueurId;

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
    /// The character the last successful call of a player acted for (its `joueur_id`): on a
    /// socket, the one it plays, whose world pushes it receives (`Sockets`).
    pub joueur: Option<JoueurId>,
}

macro_rules! methodes {
    (|$ps:ident, $ctx:ident, $a:ident, $p:ident| {
        $($variante:ident => $nom:literal, $admin:literal, $params:ty => $resultat:ty = $corps:expr;)*
    }) => {
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

            /// The JSON Schema of its params (the whole object, as the dispatcher reads it)
            /// and of its result (as it writes it): from the very types of [`Self::executer`],
            /// for the OpenRPC document ([`openrpc`]).
            pub fn schemas(self, generateur: &mut SchemaGenerator) -> (Schema, Schema) {
                match self {
                    $(Self::$variante => (
                        <$params as JsonSchema>::json_schema(generateur),
                        generateur.subschema_for::<$resultat>(),
                    ),)*
                }
            }

            /// Reads the params into the method's type, runs its handler, writes its result.
            async fn executer(
                self,
                $ps: &Passerelle,
                $ctx: &mut Contexte,
                $a: Option<Appelant>,
                brut: Option<Value>,
            ) -> Result<Value, ErreurRpc> {
                match self {
                    $(Self::$variante => {
                        let $p: $params = params(brut)?;
                        let resultat: $resultat = $corps;
                        en_json(&resultat)
                    })*
                }
            }
        }
    };
}

// The one table of the protocol: name, admin only, the params type the dispatcher reads, the
// result type it writes, the handler. The OpenRPC document is generated from it.
methodes! {
    |ps, ctx, a, p| {
        SessionAuthentifier => "session.authentifier", false, ParamsAuthentifier => Authentification = authentifier(ps, ctx, p).await?;
        JoueurCreer => "joueur.creer", false, joueur::Creer => joueur::JoueurCree = joueur::creer(ps, appelant(a)?, p).await?;
        JoueurLister => "joueur.lister", false, joueur::AJourDe => joueur::Personnages = joueur::lister(ps, appelant(a)?, p).await?;
        JoueurProfil => "joueur.profil", false, joueur::Profil => projections::requetes::joueurs::Profil = joueur::profil(ps, p).await?;
        ClassementConsulter => "classement.consulter", false, joueur::Classement => joueur::PageClassement = joueur::classement(ps, p).await?;
        MondeZone => "monde.zone", false, monde::Zone => monde::VueDeZone = monde::zone(ps, appelant(a)?, p).await?;
        MondeDeplacer => "monde.deplacer", false, monde::Deplacer => commands::services::monde::Emplacement = monde::deplacer(ps, appelant(a)?, p).await?;
        MondeChangerZone => "monde.changer_zone", false, monde::ChangerZone => commands::services::monde::Emplacement = monde::changer_zone(ps, appelant(a)?, p).await?;
        MondePlacer => "monde.placer", true, monde::Placer => commands::services::monde::Emplacement = monde::placer(ps, p).await?;
        MondeProches => "monde.proches", false, monde::Proches => monde::ListeProches = monde::proches(ps, appelant(a)?, p).await?;
        CombatDemarrer => "combat.demarrer", false, combat::Demarrer => combat::CombatCree = combat::demarrer(ps, appelant(a)?, p).await?;
        CombatRejoindre => "combat.rejoindre", false, combat::DansUnCombat => Evenements = combat::rejoindre(ps, appelant(a)?, p).await?;
        CombatQuitter => "combat.quitter", false, combat::DansUnCombat => Evenements = combat::quitter(ps, appelant(a)?, p).await?;
        CombatLancer => "combat.lancer", false, combat::DansUnCombat => Evenements = combat::lancer(ps, appelant(a)?, p).await?;
        CombatAgir => "combat.agir", false, combat::Agir => Evenements = combat::agir(ps, appelant(a)?, p).await?;
        CombatEtat => "combat.etat", false, combat::UnCombat => projections::requetes::combats::VueCombat = combat::etat(ps, p).await?;
        CombatHistorique => "combat.historique", false, combat::UnCombat => combat::HistoriqueCombat = combat::historique(ps, appelant(a)?, p).await?;
        QueteCatalogue => "quete.catalogue", false, joueur::Aucun => quete::CatalogueQuetes = quete::catalogue(ps, p)?;
        QueteAccepter => "quete.accepter", false, quete::UneQuete => Evenements = quete::accepter(ps, appelant(a)?, p).await?;
        QueteAbandonner => "quete.abandonner", false, quete::UneQuete => Evenements = quete::abandonner(ps, appelant(a)?, p).await?;
        QueteJournal => "quete.journal", false, quete::Journal => quete::JournalQuetes = quete::journal(ps, appelant(a)?, p).await?;
        InventaireConsulter => "inventaire.consulter", false, economie::Consulter => projections::requetes::inventaires::ResumeInventaire = economie::consulter(ps, appelant(a)?, p).await?;
        InventaireFabriquer => "inventaire.fabriquer", false, economie::Fabriquer => Evenements = economie::fabriquer(ps, appelant(a)?, p).await?;
        InventaireAcheter => "inventaire.acheter", false, economie::Negoce => Evenements = economie::acheter(ps, appelant(a)?, p).await?;
        InventaireVendre => "inventaire.vendre", false, economie::Negoce => Evenements = economie::vendre(ps, appelant(a)?, p).await?;
        InventaireJeter => "inventaire.jeter", false, economie::Jeter => Evenements = economie::jeter(ps, appelant(a)?, p).await?;
        EchangeProposer => "echange.proposer", false, economie::Proposer => economie::EchangeOuvert = economie::proposer(ps, appelant(a)?, p).await?;
        EchangeModifier => "echange.modifier", false, economie::Modifier => Evenements = economie::modifier(ps, appelant(a)?, p).await?;
        EchangeAccepter => "echange.accepter", false, economie::UnEchange => Evenements = economie::accepter(ps, appelant(a)?, p).await?;
        EchangeAnnuler => "echange.annuler", false, economie::UnEchange => Evenements = economie::annuler(ps, appelant(a)?, p).await?;
        EconomieGrandLivre => "economie.grand_livre", false, economie::GrandLivre => economie::PageGrandLivre = economie::grand_livre(ps, appelant(a)?, p).await?;
        EconomieTotaux => "economie.totaux", true, joueur::AJourDe => economie::Totaux = economie::totaux(ps, p).await?;
        ChatEnvoyer => "chat.envoyer", false, chat::Envoyer => chat::MessageEnvoye = chat::envoyer(ps, appelant(a)?, p).await?;
        ChatHistorique => "chat.historique", false, chat::Historique => commands::services::chat::PageChat = chat::historique(ps, appelant(a)?, p).await?;
        ChatMuseler => "chat.museler", true, chat::Museler => chat::Muselage = chat::museler(ps, appelant(a)?, p).await?;
        SignalementCreer => "signalement.creer", false, moderation::Signaler => moderation::SignalementDepose = moderation::signaler(ps, appelant(a)?, p).await?;
        MjBannir => "mj.bannir", true, moderation::Bannir => moderation::Bannissement = moderation::bannir(ps, appelant(a)?, p).await?;
        MjRetablir => "mj.retablir", true, moderation::UnCompte => moderation::CompteVise = moderation::retablir(ps, appelant(a)?, p).await?;
        MjExpulser => "mj.expulser", true, moderation::UnCompte => moderation::CompteVise = moderation::expulser(ps, appelant(a)?, p).await?;
        MjDossier => "mj.dossier", true, moderation::Dossier => commands::services::moderation::DossierCompte = moderation::dossier(ps, p).await?;
        MjDonner => "mj.donner", true, moderation::Corriger => Evenements = moderation::donner(ps, appelant(a)?, p).await?;
        MjRetirer => "mj.retirer", true, moderation::Corriger => Evenements = moderation::retirer(ps, appelant(a)?, p).await?;
        MjDeplacer => "mj.deplacer", true, moderation::Deplacer => commands::services::monde::Emplacement = moderation::deplacer(ps, appelant(a)?, p).await?;
        MjSignalements => "mj.signalements", true, moderation::Signalements => moderation::PageSignalements = moderation::signalements(ps, p).await?;
        MjTraiterSignalement => "mj.traiter_signalement", true, moderation::Traiter => commands::services::moderation::Signalement = moderation::traiter(ps, appelant(a)?, p).await?;
        EvenementsDepuis => "evenements.depuis", false, evenements::Depuis => evenements::Rattrapage = evenements::depuis(ps, appelant(a)?, p).await?;
        MjChercher => "mj.chercher", true, mj::Chercher => mj::Trouves = mj::chercher(ps, p).await?;
        MjChronologie => "mj.chronologie", true, mj::Chronologie => mj::PageChronologie = mj::chronologie(ps, p).await?;
        MjEtatA => "mj.etat_a", true, mj::EtatA => mj::EtatAgregat = mj::etat_a(ps, p).await?;
        MjDifference => "mj.difference", true, mj::Difference => mj::Differences = mj::difference(ps, p).await?;
    }
}

/// The caller of a method that needs one ([`appeler`] checked the token before).
fn appelant(a: Option<Appelant>) -> Result<Appelant, ErreurRpc> {
    a.ok_or_else(ErreurRpc::non_authentifie)
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
    let joueur = appel
        .params
        .as_ref()
        .and_then(|p| p.get("joueur_id"))
        .and_then(Value::as_str)
        .and_then(|j| Uuid::parse_str(j).ok())
        .map(JoueurId::from_uuid);
    let resultat = match methode {
        None => Err(ErreurRpc::methode_inconnue(&appel.methode)),
        Some(m) => appeler(passerelle, ctx, m, appel.params).await,
    };
    // An admin's call may name anybody's character: only a player's names its own.
    if resultat.is_ok() && methode.is_some_and(|m| !m.admin()) && joueur.is_some() {
        ctx.joueur = joueur;
    }
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
        return methode.executer(passerelle, ctx, None, p).await;
    }
    let auth = match (ctx.auth, ctx.refus) {
        (Some(a), _) if a.expire_a > Utc::now() => a,
        (Some(_), _) => return Err(ErreurRpc::jeton_expire()),
        (None, refus) => return Err(refus_de_jeton(refus)),
    };
    if let Some(r) = passerelle.revocations.en_vigueur(auth.compte_id) {
        return Err(ErreurRpc::compte_banni(&r));
    }
    // The token's role is the one it was issued with: confirmed by the accounts table, so a
    // demoted admin loses its rights at its next call on every instance (`auth::roles`).
    let admin = roles::role_actuel(&passerelle.pool, auth.compte_id, auth.admin).await?;
    if methode.admin() && !admin {
        return Err(ErreurRpc::interdit("méthode réservée aux administrateurs"));
    }
    passerelle
        .limite_appels
        .prendre(&auth.compte_id)
        .map_err(ErreurRpc::trop_de_requetes)?;
    let a = Appelant {
        compte_id: auth.compte_id,
        admin,
        id_requete: ctx.id_requete,
    };
    methode.executer(passerelle, ctx, Some(a), p).await
}

/// `session.authentifier`.
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamsAuthentifier {
    /// An access token of the socket's account.
    jeton: String,
}

/// `session.authentifier`'s answer: the socket's account and when its token expires.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct Authentification {
    /// The account.
    pub compte_id: domain::ids::CompteId,
    /// May call admin methods now (the token's claim, confirmed by the accounts table).
    pub admin: bool,
    /// When the token (and so the socket) expires.
    pub expire_a: chrono::DateTime<Utc>,
}

/// `session.authentifier {jeton}`: a WebSocket's first call when the token did not come with
/// the upgrade, or a fresh token before the current one expires. A socket stays with its
/// account: another account's token is refused.
async fn authentifier(
    passerelle: &Passerelle,
    ctx: &mut Contexte,
    p: ParamsAuthentifier,
) -> Result<Authentification, ErreurRpc> {
    if ctx.transport != Transport::WebSocket {
        return Err(ErreurRpc::methode_inconnue(
            "session.authentifier (WebSocket seulement ; en HTTP : en-tête Authorization)",
        ));
    }
    let ParamsAuthentifier { jeton } = p;
    let auth = passerelle
        .jetons
        .verifier(&jeton)
        .map_err(|r| refus_de_jeton(Some(r)))?;
    if let Some(r) = passerelle.revocations.en_vigueur(auth.compte_id) {
        return Err(ErreurRpc::compte_banni(&r));
    }
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
    Ok(Authentification {
        compte_id: auth.compte_id,
        admin: roles::role_actuel(&passerelle.pool, auth.compte_id, auth.admin).await?,
        expire_a: auth.expire_a,
    })
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
        assert!(Methode::MjChronologie.admin());
        assert!(Methode::MjEtatA.admin());
        assert!(Methode::MjBannir.admin() && Methode::MjTraiterSignalement.admin());
        assert!(!Methode::SignalementCreer.admin());
        assert!(!Methode::ChatEnvoyer.admin());
        assert!(!Methode::JoueurCreer.admin());
    }
}
