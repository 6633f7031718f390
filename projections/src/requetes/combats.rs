//! Reads of `lecture.combats` and `lecture.combats_historique`: a combat's summary, who may
//! read its audit trail, and that trail.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate as _;
use domain::combat::Combat;
use domain::ids::{CombatId, CompteId};
use domain::versions;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErreurProjection;

/// A combat as the read model summarises it: the columns of `lecture.combats`. (The fine
/// state, hit points and threat, is the aggregate's `domain::combat::EtatCombat`; readers
/// follow it through the pushed events.)
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct VueCombat {
    /// The combat.
    pub combat_id: Uuid,
    /// The encounter.
    pub rencontre: String,
    /// The zone.
    pub zone: String,
    /// Who prepared it.
    pub initiateur: Uuid,
    /// The party.
    pub participants: Vec<Uuid>,
    /// preparation | en_cours | annule | victoire | defaite.
    pub phase: String,
    /// The current (or last) round.
    pub tour: i32,
    /// When it was prepared.
    pub debut: DateTime<Utc>,
    /// When it ended.
    pub fin: Option<DateTime<Utc>>,
    /// The last applied sequence of its stream (among the events that change the summary).
    pub version: i64,
}

/// The summaries of `ids` (those projected), by id.
pub async fn vues(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<VueCombat>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT combat_id, rencontre, zone, initiateur, participants, phase, tour, debut, fin, \
         version FROM lecture.combats WHERE combat_id = ANY($1) ORDER BY combat_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

/// Whether one of the combat's participants belongs to `compte` (`None`: no such combat in the
/// read model). Owners come from `noms_joueurs`, written with each character, never late.
pub async fn compte_participe(
    pool: &PgPool,
    combat: CombatId,
    compte: CompteId,
) -> Result<Option<bool>, ErreurProjection> {
    let ligne: Option<(bool,)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM noms_joueurs n \
                        WHERE n.joueur_id = ANY(c.participants) AND n.compte_id = $2) \
         FROM lecture.combats c WHERE c.combat_id = $1",
    )
    .bind(combat.uuid())
    .bind(compte.uuid())
    .fetch_optional(pool)
    .await?;
    Ok(ligne.map(|(participe,)| participe))
}

/// An entry of a combat's audit trail: one event, who caused it and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct EntreeHistorique {
    /// Its place in the combat's stream.
    pub sequence: i64,
    /// The event's type (`AttaquePortee`...).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's fields, without the type's tag (the entry already names it).
    pub donnees: Value,
    /// The account whose command it was (none for the system's).
    pub compte_id: Option<Uuid>,
    /// The request it came from.
    pub correlation_id: Option<Uuid>,
    /// The command or event that caused it.
    pub causation_id: Option<Uuid>,
    /// When it was recorded.
    pub horodatage: DateTime<Utc>,
}

/// A row of the trail: the entry, and the version its payload was written at.
#[derive(sqlx::FromRow)]
struct LigneHistorique {
    event_version: String,
    #[sqlx(flatten)]
    entree: EntreeHistorique,
}

/// A combat's audit trail: every event of the combat, in order, at the current version of
/// each event type.
pub async fn historique(
    pool: &PgPool,
    combat: CombatId,
) -> Result<Vec<EntreeHistorique>, ErreurProjection> {
    let lignes: Vec<LigneHistorique> = sqlx::query_as(
        "SELECT event_version, sequence, event_type, payload AS donnees, compte_id, \
                correlation_id, causation_id, recorded_at AS horodatage \
         FROM lecture.combats_historique WHERE combat_id = $1 ORDER BY sequence",
    )
    .bind(combat.uuid())
    .fetch_all(pool)
    .await?;
    let mut entrees = Vec::with_capacity(lignes.len());
    for LigneHistorique {
        event_version: version,
        entree: mut e,
    } in lignes
    {
        // A row copied before its event's shape changed is read at the current version, as
        // the store's readers see it; one the code cannot upcast is shown as stored.
        match versions::monter(Combat::TYPE, &e.event_type, &version, e.donnees.clone()) {
            Ok((donnees, _)) => e.donnees = donnees,
            Err(erreur) => {
                tracing::warn!(combat = %combat, sequence = e.sequence, %erreur, "entrée d'historique illisible, montée telle quelle");
            }
        }
        entrees.push(e);
    }
    for e in &mut entrees {
        // The payload is stored externally tagged (`{"AttaquePortee": {...}}`).
        if let Value::Object(m) = &mut e.donnees
            && let Some(interieur) = m.remove(&e.event_type)
        {
            e.donnees = interieur;
        }
    }
    Ok(entrees)
}
