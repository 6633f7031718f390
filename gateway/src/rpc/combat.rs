//! Service Combat: `combat.demarrer|rejoindre|quitter|lancer|agir|etat|historique`.

use commands::services::combat as service;
use domain::combat::Action;
use domain::ids::{CombatId, JoueurId};
use domain::valeurs::CodeRencontre;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::appelant::Appelant;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json, evenements_json};

/// `combat.demarrer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demarrer {
    joueur_id: JoueurId,
    rencontre: CodeRencontre,
    id_commande: Option<Uuid>,
}

/// Prepares a combat against an encounter, the caller's character as initiator.
pub async fn demarrer(etat: &Passerelle, a: Appelant, p: Demarrer) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let combat_id = service::preparer(
        &etat.depot,
        &etat.monde,
        a.compte_id,
        p.joueur_id,
        p.rencontre,
        &meta,
    )
    .await?;
    Ok(json!({ "combat_id": combat_id }))
}

/// `combat.rejoindre`, `combat.quitter`, `combat.lancer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DansUnCombat {
    joueur_id: JoueurId,
    combat_id: CombatId,
    id_commande: Option<Uuid>,
}

/// Joins a combat in preparation.
pub async fn rejoindre(
    etat: &Passerelle,
    a: Appelant,
    p: DansUnCombat,
) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::rejoindre(
        &etat.depot,
        &etat.monde,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// Leaves a combat before its launch.
pub async fn quitter(etat: &Passerelle, a: Appelant, p: DansUnCombat) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::quitter(&etat.depot, a.compte_id, p.joueur_id, p.combat_id, &meta).await?;
    evenements_json(&e)
}

/// Launches a combat (its initiator only).
pub async fn lancer(etat: &Passerelle, a: Appelant, p: DansUnCombat) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::lancer(&etat.depot, a.compte_id, p.joueur_id, p.combat_id, &meta).await?;
    evenements_json(&e)
}

/// `combat.agir`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agir {
    joueur_id: JoueurId,
    combat_id: CombatId,
    action: Action,
    id_commande: Option<Uuid>,
}

/// Acts in the current round.
pub async fn agir(etat: &Passerelle, a: Appelant, p: Agir) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let e = service::agir(
        &etat.depot,
        a.compte_id,
        p.joueur_id,
        p.combat_id,
        p.action,
        &meta,
    )
    .await?;
    evenements_json(&e)
}

/// `combat.etat`, `combat.historique`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnCombat {
    combat_id: CombatId,
}

/// A combat's summary (cache, else read model).
pub async fn etat(etat: &Passerelle, p: UnCombat) -> Result<Value, ErreurRpc> {
    let combat = projections::cache::combat(&etat.pool, &etat.cache, p.combat_id.uuid())
        .await?
        .ok_or_else(|| ErreurRpc::introuvable("combat", &p.combat_id))?;
    en_json(&combat)
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Entree {
    sequence: i64,
    #[serde(rename = "type")]
    event_type: String,
    donnees: Value,
    compte_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    horodatage: chrono::DateTime<chrono::Utc>,
}

/// The audit of a combat: every event in order, with who caused it and when. For the
/// accounts of its participants, and admins.
pub async fn historique(etat: &Passerelle, a: Appelant, p: UnCombat) -> Result<Value, ErreurRpc> {
    let acces: Option<(bool,)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM noms_joueurs n \
                        WHERE n.joueur_id = ANY(c.participants) AND n.compte_id = $2) \
         FROM lecture.combats c WHERE c.combat_id = $1",
    )
    .bind(p.combat_id.uuid())
    .bind(a.compte_id.uuid())
    .fetch_optional(&etat.pool)
    .await?;
    match acces {
        None => return Err(ErreurRpc::introuvable("combat", &p.combat_id)),
        Some((false,)) if !a.admin => {
            return Err(ErreurRpc::interdit(
                "l'historique d'un combat est réservé à ses participants",
            ));
        }
        Some(_) => {}
    }
    let mut entrees: Vec<Entree> = sqlx::query_as(
        "SELECT sequence, event_type, payload AS donnees, compte_id, correlation_id, \
                causation_id, recorded_at AS horodatage \
         FROM lecture.combats_historique WHERE combat_id = $1 ORDER BY sequence",
    )
    .bind(p.combat_id.uuid())
    .fetch_all(&etat.pool)
    .await?;
    for e in &mut entrees {
        // The payload is stored externally tagged; the entry already names its type.
        if let Value::Object(m) = &mut e.donnees
            && let Some(interieur) = m.remove(&e.event_type)
        {
            e.donnees = interieur;
        }
    }
    Ok(json!({ "combat_id": p.combat_id, "evenements": entrees }))
}
