//! Service Combat: `combat.demarrer|rejoindre|quitter|lancer|agir|etat|historique`.

use commands::services::combat as service;
use domain::combat::Action;
use domain::ids::{CombatId, JoueurId};
use domain::valeurs::CodeRencontre;
use projections::requetes::combats;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use projections::Projection;

use super::appelant::Appelant;
use super::coherence::{a_jour, commande};
use crate::passerelle::Passerelle;
use crate::protocole::{Curseur, ErreurRpc, Evenements, evenements_json};

/// `combat.demarrer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Demarrer {
    joueur_id: JoueurId,
    rencontre: CodeRencontre,
    id_commande: Option<Uuid>,
}

/// Prepares a combat against an encounter, the caller's character as initiator.
pub async fn demarrer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Demarrer,
) -> Result<CombatCree, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (combat_id, curseur) = commande(service::preparer(
        &passerelle.depot,
        &passerelle.monde,
        a.compte_id,
        p.joueur_id,
        p.rencontre,
        &meta,
    ))
    .await?;
    Ok(CombatCree { combat_id, curseur })
}

/// `combat.demarrer`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CombatCree {
    /// The combat in preparation.
    pub combat_id: CombatId,
    /// Where the last event the command wrote stands in the global order (its first
    /// application's, for a replay): a read given it as `a_jour_de` reflects the command.
    pub curseur: Option<Curseur>,
}

/// `combat.rejoindre`, `combat.quitter`, `combat.lancer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DansUnCombat {
    joueur_id: JoueurId,
    combat_id: CombatId,
    id_commande: Option<Uuid>,
}

/// Joins a combat in preparation.
pub async fn rejoindre(
    passerelle: &Passerelle,
    a: Appelant,
    p: DansUnCombat,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::rejoindre(
        &passerelle.depot,
        &passerelle.monde,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Leaves a combat before its launch.
pub async fn quitter(
    passerelle: &Passerelle,
    a: Appelant,
    p: DansUnCombat,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::quitter(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Launches a combat (its initiator only).
pub async fn lancer(
    passerelle: &Passerelle,
    a: Appelant,
    p: DansUnCombat,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::lancer(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `combat.agir`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agir {
    joueur_id: JoueurId,
    combat_id: CombatId,
    action: Action,
    id_commande: Option<Uuid>,
}

/// Acts in the current round.
pub async fn agir(passerelle: &Passerelle, a: Appelant, p: Agir) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::agir(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        p.action,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `combat.etat`, `combat.historique`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnCombat {
    combat_id: CombatId,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

/// A combat's summary (cache, else read model; the read model when it must reflect a cursor).
pub async fn etat(passerelle: &Passerelle, p: UnCombat) -> Result<combats::VueCombat, ErreurRpc> {
    let (pool, cache, id) = (&passerelle.pool, &passerelle.cache, p.combat_id.uuid());
    let vue = if a_jour(passerelle, &[Projection::Combats], p.a_jour_de).await? {
        projections::cache::relire_combat(pool, cache, id).await?
    } else {
        projections::cache::combat(pool, cache, id).await?
    };
    vue.ok_or_else(|| ErreurRpc::introuvable("combat", &p.combat_id))
}

/// The audit of a combat: every event in order, with who caused it and when. For the
/// accounts of its participants, and admins.
pub async fn historique(
    passerelle: &Passerelle,
    a: Appelant,
    p: UnCombat,
) -> Result<HistoriqueCombat, ErreurRpc> {
    a_jour(passerelle, &[Projection::Combats], p.a_jour_de).await?;
    match combats::compte_participe(&passerelle.pool, p.combat_id, a.compte_id).await? {
        None => return Err(ErreurRpc::introuvable("combat", &p.combat_id)),
        Some(false) if !a.admin => {
            return Err(ErreurRpc::interdit(
                "l'historique d'un combat est réservé à ses participants",
            ));
        }
        Some(_) => {}
    }
    let entrees = combats::historique(&passerelle.pool, p.combat_id).await?;
    Ok(HistoriqueCombat {
        combat_id: p.combat_id,
        evenements: entrees,
    })
}

/// `combat.historique`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoriqueCombat {
    /// The combat.
    pub combat_id: CombatId,
    /// Every event of the combat, in order.
    pub evenements: Vec<combats::EntreeHistorique>,
}
