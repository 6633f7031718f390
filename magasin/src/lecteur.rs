//! Reading the store: every event in global order from a checkpoint, in batches, for tailing
//! readers (projections, the bus relay); and one aggregate's stream, for audit.
//!
//! Why not `global_position > checkpoint`: positions come from a sequence when a transaction
//! inserts, but transactions commit in another order. A reader that saw position 11 (committed)
//! while 10 was still in flight moves its checkpoint past 10 and never sees it. Instead each
//! event records the id of the transaction that wrote it (xid8), and a reader takes only rows
//! whose transaction is older than the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has finished, so no row
//! can appear below that horizon any more. Rows are ordered by (transaction id, position) and
//! the checkpoint is that pair. The cost: a long transaction anywhere in the cluster holds the
//! horizon back, which delays readers (lag), never skips an event.
//!
//! Every event leaves this module at its type's current version ([`EvenementStocke::monter`]):
//! a reader written today never sees a payload of an older shape. One the current code cannot
//! upcast leaves as stored, logged; whoever decodes it ([`EvenementStocke::decoder`]) gets the
//! error naming it, and readers that only carry events (the relay) go on.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use domain::versions::{self, Illisible};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

/// A place in the global order: after the event at this (transaction, position).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PositionGlobale {
    /// The writing transaction's id (xid8).
    pub transaction: i64,
    /// The event's position (bigserial) within the order.
    pub position: i64,
}

impl From<(i64, i64)> for PositionGlobale {
    /// A `(transaction, position)` pair as the queries read it.
    fn from((transaction, position): (i64, i64)) -> Self {
        Self {
            transaction,
            position,
        }
    }
}

impl PositionGlobale {
    /// Before every event.
    pub const DEBUT: Self = Self {
        transaction: 0,
        position: 0,
    };
}

/// An event as stored, with its place in the global order and its metadata; also what the
/// bus carries (as JSON).
#[derive(Debug, Clone, PartialEq, FromRow, Serialize, Deserialize)]
pub struct EvenementStocke {
    /// The writing transaction's id.
    pub transaction: i64,
    /// Position in the global order.
    pub global_position: i64,
    /// The event's own id (the bus's deduplication key).
    pub event_id: Uuid,
    /// `Joueur`, `Combat`...
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Sequence within the aggregate, from 1.
    pub sequence: i64,
    /// The variant's name.
    pub event_type: String,
    /// The payload's version.
    pub event_version: String,
    /// The event itself.
    pub payload: Value,
    /// The command that produced it.
    pub id_commande: Option<Uuid>,
    /// The request or chain it belongs to.
    pub correlation_id: Option<Uuid>,
    /// Its direct cause.
    pub causation_id: Option<Uuid>,
    /// Who asked (absent: the system).
    pub compte_id: Option<Uuid>,
    /// When it was committed.
    pub recorded_at: DateTime<Utc>,
}

impl EvenementStocke {
    /// Where a reader stands after this event.
    pub fn position(&self) -> PositionGlobale {
        PositionGlobale {
            transaction: self.transaction,
            position: self.global_position,
        }
    }

    /// Brings the payload to its event type's current version (`domain::versions`), and the
    /// version with it; an event already there is not touched. On an error the event is left
    /// as it was.
    pub fn monter(&mut self) -> Result<(), Illisible> {
        if self.event_version == versions::version_courante(&self.aggregate_type, &self.event_type)
        {
            return Ok(());
        }
        let (payload, version) = versions::monter(
            &self.aggregate_type,
            &self.event_type,
            &self.event_version,
            self.payload.clone(),
        )?;
        self.payload = payload;
        version.clone_into(&mut self.event_version);
        Ok(())
    }

    /// The event as its aggregate's event enum, whatever version it was written at (an event
    /// from the bus may predate the running code).
    pub fn decoder<E: DeserializeOwned + DomainEvent>(&self) -> Result<E, Illisible> {
        versions::decoder(
            &self.aggregate_type,
            &self.event_type,
            &self.event_version,
            self.payload.clone(),
        )
    }
}

/// Upcasts every event of a read (see the module's documentation).
fn a_jour(mut evenements: Vec<EvenementStocke>) -> Vec<EvenementStocke> {
    for e in &mut evenements {
        if let Err(erreur) = e.monter() {
            tracing::warn!(event_id = %e.event_id, %erreur, "événement illisible, laissé tel quel");
        }
    }
    evenements
}

const COLONNES: &str = "transaction_id::text::bigint AS transaction, global_position, event_id, \
     aggregate_type, aggregate_id, sequence, event_type, event_version, payload, id_commande, \
     correlation_id, causation_id, compte_id, recorded_at";

/// Up to `limite` events after `apres`, in global order, only from transactions that can no
/// longer be joined by an earlier one. An empty batch means "nothing more for now".
pub async fn lire_apres<'e>(
    executeur: impl sqlx::PgExecutor<'e>,
    apres: PositionGlobale,
    limite: i64,
) -> Result<Vec<EvenementStocke>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM events \
         WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY transaction_id, global_position \
         LIMIT $3"
    ))
    .bind(apres.transaction)
    .bind(apres.position)
    .bind(limite)
    .fetch_all(executeur)
    .await
    .map(a_jour)
}

/// What a reader interested in some aggregate types read of a batch.
#[derive(Debug, Default)]
pub struct LotFiltre {
    /// The batch's events of those types, in global order.
    pub evenements: Vec<EvenementStocke>,
    /// How many events the batch held in all (a full batch means more may be waiting).
    pub lus: usize,
    /// Where the reader stands after the batch, whatever the last event's type: `None` if
    /// the batch was empty.
    pub jusqu_a: Option<PositionGlobale>,
}

/// A row of [`lire_apres_de`]: an event, and whether it closes the batch.
#[derive(FromRow)]
struct LigneFiltree {
    #[sqlx(flatten)]
    evenement: EvenementStocke,
    dernier: bool,
    lus: i64,
}

/// [`lire_apres`] for a reader that folds only some aggregate types: the batch is the same
/// `limite` events in global order, but only those of `types` leave the database (with the
/// last one, whatever its type, for the reader's checkpoint). The others are neither sent
/// nor decoded: a projection of one aggregate type no longer reads every payload.
pub async fn lire_apres_de<'e>(
    executeur: impl sqlx::PgExecutor<'e>,
    apres: PositionGlobale,
    limite: i64,
    types: &[&str],
) -> Result<LotFiltre, sqlx::Error> {
    let lignes: Vec<LigneFiltree> = sqlx::query_as(&format!(
        "WITH lot AS ( \
           SELECT * FROM events \
           WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
             AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
           ORDER BY transaction_id, global_position \
           LIMIT $3), \
         numerote AS ( \
           SELECT *, row_number() OVER (ORDER BY transaction_id, global_position) AS rang, \
                  count(*) OVER () AS lus \
           FROM lot) \
         SELECT {COLONNES}, rang = lus AS dernier, lus FROM numerote \
         WHERE aggregate_type = ANY($4) OR rang = lus \
         ORDER BY transaction_id, global_position"
    ))
    .bind(apres.transaction)
    .bind(apres.position)
    .bind(limite)
    .bind(types)
    .fetch_all(executeur)
    .await?;
    let mut lot = LotFiltre::default();
    for ligne in lignes {
        lot.lus = usize::try_from(ligne.lus).unwrap_or(0);
        if ligne.dernier {
            lot.jusqu_a = Some(ligne.evenement.position());
        }
        if types.contains(&ligne.evenement.aggregate_type.as_str()) {
            lot.evenements.push(ligne.evenement);
        }
    }
    lot.evenements = a_jour(lot.evenements);
    Ok(lot)
}

/// The position of the newest event every reader can already see (the start if none).
pub async fn tete(pool: &PgPool) -> Result<PositionGlobale, sqlx::Error> {
    let ligne: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(ligne.map_or(PositionGlobale::DEBUT, PositionGlobale::from))
}

/// One aggregate's whole stream, in order (audit of a combat, of an inventory).
pub async fn flux_agregat(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<EvenementStocke>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         ORDER BY sequence"
    ))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_all(pool)
    .await
    .map(a_jour)
}

/// The naive tail, `global_position > checkpoint`: kept only so that a test can show it skips
/// events under concurrent commits. Never use it to follow the store.
#[doc(hidden)]
pub async fn lire_apres_position_naive(
    pool: &PgPool,
    apres: i64,
    limite: i64,
) -> Result<Vec<EvenementStocke>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2"
    ))
    .bind(apres)
    .bind(limite)
    .fetch_all(pool)
    .await
    .map(a_jour)
}
