//! Service Modération: the game masters' `mj.*` methods (admin) and the players'
//! `signalement.creer`. Every action takes a mandatory `raison` and is an event whose author
//! is the game master (doc/exploitation.md, « Modérer »). A ban or a kick is applied on this
//! instance at once and announced to the others ([`crate::moderation`]).

use std::time::Duration;

use commands::services::moderation::{
    DossierCompte, EtatSignalement, IssueSignalement, Signalement,
};
use domain::catalogue::LigneItem;
use domain::ids::{CompteId, JoueurId};
use domain::inventaire::CommandeInventaire;
use domain::moderation::CommandeModeration;
use domain::valeurs::{CodeZone, NomJoueur, Or, Raison};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::appelant::Appelant;
use super::coherence::commande;
use crate::moderation::{Annonce, annoncer};
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, Evenements, evenements_json};

/// The longest ban with an end, in seconds (ten years); without `duree_s`, until unbanned.
const BAN_MAX_S: u32 = 10 * 365 * 24 * 3600;

/// An account, by its id or by one of its characters: exactly one of the two.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["compte_id"], "properties": { "compte_id": { "not": { "type": "null" } }, "joueur_id": { "type": "null" } } },
    { "required": ["joueur_id"], "properties": { "joueur_id": { "not": { "type": "null" } }, "compte_id": { "type": "null" } } },
]))]
pub struct UnCompte {
    compte_id: Option<CompteId>,
    joueur_id: Option<JoueurId>,
    raison: Raison,
}

/// `mj.bannir`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["compte_id"], "properties": { "compte_id": { "not": { "type": "null" } }, "joueur_id": { "type": "null" } } },
    { "required": ["joueur_id"], "properties": { "joueur_id": { "not": { "type": "null" } }, "compte_id": { "type": "null" } } },
]))]
pub struct Bannir {
    compte_id: Option<CompteId>,
    joueur_id: Option<JoueurId>,
    raison: Raison,
    /// 1 s to ten years; absent: until unbanned.
    #[schemars(range(min = 1, max = BAN_MAX_S))]
    duree_s: Option<u32>,
}

/// The account a moderation action aimed at.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CompteVise {
    /// The account.
    pub compte_id: CompteId,
}

/// `mj.bannir`'s answer: the ban in force.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bannissement {
    /// The account.
    pub compte_id: CompteId,
    /// When it ends on its own (`null`: until unbanned).
    pub jusqu_a: Option<chrono::DateTime<chrono::Utc>>,
    /// Why.
    pub raison: String,
}

fn parametre_compte(
    compte_id: Option<CompteId>,
    joueur_id: Option<JoueurId>,
) -> Result<(Option<CompteId>, Option<JoueurId>), ErreurRpc> {
    match (compte_id, joueur_id) {
        (Some(_), Some(_)) | (None, None) => Err(ErreurRpc::parametres(
            &"`compte_id` ou `joueur_id`, l'un des deux",
        )),
        c => Ok(c),
    }
}

async fn compte_vise(
    passerelle: &Passerelle,
    compte_id: Option<CompteId>,
    joueur_id: Option<JoueurId>,
) -> Result<CompteId, ErreurRpc> {
    let (c, j) = parametre_compte(compte_id, joueur_id)?;
    Ok(passerelle.moderation.compte_vise(c, j).await?)
}

/// Bans an account: its calls are refused and its sockets closed on every instance, now.
pub async fn bannir(
    passerelle: &Passerelle,
    a: Appelant,
    p: Bannir,
) -> Result<Bannissement, ErreurRpc> {
    if p.duree_s.is_some_and(|d| !(1..=BAN_MAX_S).contains(&d)) {
        return Err(ErreurRpc::parametres(&format!(
            "`duree_s` va de 1 à {BAN_MAX_S}"
        )));
    }
    let compte = compte_vise(passerelle, p.compte_id, p.joueur_id).await?;
    let duree = p.duree_s.map(|d| Duration::from_secs(u64::from(d)));
    let revocation = passerelle
        .moderation
        .bannir(&passerelle.depot, compte, p.raison, duree, &a.meta(None))
        .await?;
    tracing::warn!(target: "securite", compte_id = %compte, par = %a.compte_id, raison = %revocation.raison, "compte banni");
    let annonce = Annonce::Banni {
        revocation: revocation.clone(),
    };
    passerelle
        .revocations
        .appliquer(&annonce, &passerelle.sockets);
    annoncer(&passerelle.bus, &annonce).await;
    Ok(Bannissement {
        compte_id: compte,
        jusqu_a: revocation.jusqu_a,
        raison: revocation.raison,
    })
}

/// Lifts a ban (`PAS_BANNI` without one).
pub async fn retablir(
    passerelle: &Passerelle,
    a: Appelant,
    p: UnCompte,
) -> Result<CompteVise, ErreurRpc> {
    let compte = compte_vise(passerelle, p.compte_id, p.joueur_id).await?;
    passerelle
        .moderation
        .retablir(&passerelle.depot, compte, p.raison, &a.meta(None))
        .await?;
    let annonce = Annonce::Retabli { compte_id: compte };
    passerelle
        .revocations
        .appliquer(&annonce, &passerelle.sockets);
    annoncer(&passerelle.bus, &annonce).await;
    Ok(CompteVise { compte_id: compte })
}

/// Closes the account's sockets on every instance, without a ban.
pub async fn expulser(
    passerelle: &Passerelle,
    a: Appelant,
    p: UnCompte,
) -> Result<CompteVise, ErreurRpc> {
    let compte = compte_vise(passerelle, p.compte_id, p.joueur_id).await?;
    let commande = CommandeModeration::Expulser { raison: p.raison };
    passerelle
        .moderation
        .consigner(&passerelle.depot, compte, commande, &a.meta(None))
        .await?;
    let annonce = Annonce::Expulse { compte_id: compte };
    passerelle
        .revocations
        .appliquer(&annonce, &passerelle.sockets);
    annoncer(&passerelle.bus, &annonce).await;
    Ok(CompteVise { compte_id: compte })
}

/// `mj.dossier`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["compte_id"], "properties": { "compte_id": { "not": { "type": "null" } }, "joueur_id": { "type": "null" } } },
    { "required": ["joueur_id"], "properties": { "joueur_id": { "not": { "type": "null" } }, "compte_id": { "type": "null" } } },
]))]
pub struct Dossier {
    compte_id: Option<CompteId>,
    joueur_id: Option<JoueurId>,
}

/// An account's moderation record: its login, the ban in force, every action with its author.
pub async fn dossier(passerelle: &Passerelle, p: Dossier) -> Result<DossierCompte, ErreurRpc> {
    let compte = compte_vise(passerelle, p.compte_id, p.joueur_id).await?;
    Ok(passerelle.moderation.dossier(compte).await?)
}

/// `mj.donner` and `mj.retirer`: some gold, or some items, or both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    { "required": ["or"], "properties": { "or": { "type": "integer", "minimum": 1 } } },
    { "required": ["items"], "properties": { "items": { "type": "array", "minItems": 1 } } },
]))]
pub struct Corriger {
    joueur_id: JoueurId,
    /// Gold (default 0).
    or: Option<Or>,
    /// Items (default none).
    items: Option<Vec<LigneItem>>,
    raison: Raison,
    id_commande: Option<Uuid>,
}

async fn corriger(
    passerelle: &Passerelle,
    a: Appelant,
    p: Corriger,
    retirer: bool,
) -> Result<Evenements, ErreurRpc> {
    let or = p.or.unwrap_or(Or::ZERO);
    let items = p.items.unwrap_or_default();
    if or.est_nul() && items.is_empty() {
        return Err(ErreurRpc::parametres(&"ni `or` ni `items` : rien à faire"));
    }
    let meta = a.meta(p.id_commande);
    let raison = p.raison;
    let correction = if retirer {
        CommandeInventaire::Retirer { or, items, raison }
    } else {
        CommandeInventaire::Donner { or, items, raison }
    };
    let (e, curseur) = commande(passerelle.moderation.corriger_inventaire(
        &passerelle.depot,
        p.joueur_id,
        correction,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Grants gold and items to a character (ledger cause `mj`).
pub async fn donner(
    passerelle: &Passerelle,
    a: Appelant,
    p: Corriger,
) -> Result<Evenements, ErreurRpc> {
    corriger(passerelle, a, p, false).await
}

/// Removes gold and items from a character, all or nothing (ledger cause `mj`).
pub async fn retirer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Corriger,
) -> Result<Evenements, ErreurRpc> {
    corriger(passerelle, a, p, true).await
}

/// `mj.deplacer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deplacer {
    joueur_id: JoueurId,
    zone: CodeZone,
    x: f64,
    y: f64,
    raison: Raison,
}

/// Moves a stuck character (as `monde.placer`), recorded with its reason.
pub async fn deplacer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Deplacer,
) -> Result<commands::services::monde::Emplacement, ErreurRpc> {
    let position =
        domain::valeurs::Position::parse(p.x, p.y).map_err(|e| ErreurRpc::parametres(&e))?;
    let Some((compte, _)) = passerelle.monde.proprietaire(p.joueur_id).await? else {
        return Err(ErreurRpc::introuvable("personnage", &p.joueur_id));
    };
    let arrivee =
        super::monde::placer_en(passerelle, p.joueur_id, p.zone.clone(), position).await?;
    let commande = CommandeModeration::Deplacer {
        joueur_id: p.joueur_id,
        zone: arrivee.zone.clone(),
        position: arrivee.position,
        raison: p.raison,
    };
    passerelle
        .moderation
        .consigner(&passerelle.depot, compte, commande, &a.meta(None))
        .await?;
    Ok(arrivee)
}

/// `signalement.creer`: the reported character by id or by name, exactly one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["cible_id"], "properties": { "cible_id": { "not": { "type": "null" } }, "cible_nom": { "type": "null" } } },
    { "required": ["cible_nom"], "properties": { "cible_nom": { "not": { "type": "null" } }, "cible_id": { "type": "null" } } },
]))]
pub struct Signaler {
    /// The reporter's character.
    joueur_id: JoueurId,
    cible_id: Option<JoueurId>,
    cible_nom: Option<NomJoueur>,
    raison: Raison,
}

/// `signalement.creer`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignalementDepose {
    /// The report's id.
    pub signalement_id: Uuid,
    /// When it was filed.
    pub cree_le: chrono::DateTime<chrono::Utc>,
}

/// A player reports another player's character; the report waits in the console's queue.
pub async fn signaler(
    passerelle: &Passerelle,
    a: Appelant,
    p: Signaler,
) -> Result<SignalementDepose, ErreurRpc> {
    if p.cible_id.is_some() == p.cible_nom.is_some() {
        return Err(ErreurRpc::parametres(
            &"`cible_id` ou `cible_nom`, l'un des deux",
        ));
    }
    match passerelle
        .moderation
        .signaler(
            a.compte_id,
            p.joueur_id,
            p.cible_id,
            p.cible_nom.as_ref(),
            &p.raison,
        )
        .await?
    {
        IssueSignalement::Depose(s) => Ok(SignalementDepose {
            signalement_id: s.signalement_id,
            cree_le: s.cree_le,
        }),
        IssueSignalement::TropTot(attente) => Err(ErreurRpc::trop_de_requetes(attente)),
    }
}

/// `mj.signalements`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signalements {
    /// `ouverts` (default: the queue), `traites` or `tous`.
    etat: Option<EtatSignalement>,
    /// The cursor: reports after this `numero` (default 0, the oldest).
    #[schemars(range(min = 0))]
    apres: Option<i64>,
    /// 1 to 100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    limite: Option<u32>,
}

/// A page of reports, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageSignalements {
    /// The reports.
    pub signalements: Vec<Signalement>,
    /// The cursor of the next page (`apres`), `null` on the last.
    pub suivant: Option<i64>,
}

/// The reports, oldest first (the queue by default).
pub async fn signalements(
    passerelle: &Passerelle,
    p: Signalements,
) -> Result<PageSignalements, ErreurRpc> {
    let limite = p.limite.unwrap_or(50);
    if !(1..=100).contains(&limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 100"));
    }
    let apres = p.apres.unwrap_or(0);
    if apres < 0 {
        return Err(ErreurRpc::parametres(&"`apres` est positif"));
    }
    let signalements = passerelle
        .moderation
        .signalements(p.etat.unwrap_or_default(), apres, limite)
        .await?;
    let suivant = (signalements.len() == limite as usize)
        .then(|| signalements.last().map(|s| s.numero))
        .flatten();
    Ok(PageSignalements {
        signalements,
        suivant,
    })
}

/// `mj.traiter_signalement`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Traiter {
    signalement_id: Uuid,
    /// What the game master decided.
    note: Raison,
}

/// Closes a report with a note (`SIGNALEMENT_DEJA_TRAITE` if it is closed).
pub async fn traiter(
    passerelle: &Passerelle,
    a: Appelant,
    p: Traiter,
) -> Result<Signalement, ErreurRpc> {
    Ok(passerelle
        .moderation
        .traiter(p.signalement_id, a.compte_id, &p.note)
        .await?)
}
