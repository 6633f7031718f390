//! Read-your-writes: a read that must reflect a place in the global order (the cursor a
//! command answered, doc/protocole.md §3.8) waits, bounded, until the projections it reads have
//! passed it.
//!
//! "Passed" is read from the checkpoints in `points_de_reprise`, which a worker moves in the
//! same transaction as the rows it folds: once a checkpoint is at or after a position, the
//! projection's tables hold every event up to it. Checkpoints are compared as the
//! (transaction, position) pair the global-order reader goes by (`magasin::lecteur`), and read
//! from the database, not from this process: the workers may run in another one (`mmo worker`).
//! The Redis caches are written after that commit, so they may still lag a checkpoint that
//! passed: a read that waited reads PostgreSQL ([`crate::cache`]'s `relire_*`).

use std::time::{Duration, Instant};

use magasin::lecteur::PositionGlobale;
use sqlx::PgPool;

use crate::{ErreurProjection, Projection};

/// The first pause between two looks at the checkpoints; doubled after each, up to
/// [`PAUSE_MAX`]. A worker usually folds a command's events within a few milliseconds.
const PAUSE_INITIALE: Duration = Duration::from_millis(2);

/// The longest pause between two looks: one cheap query per waiting read every 25 ms at most.
const PAUSE_MAX: Duration = Duration::from_millis(25);

/// Whether every projection of `projections` has passed `position` (its checkpoint is at or
/// after it). A projection that never ran has passed nothing.
pub async fn ont_passe(
    pool: &PgPool,
    projections: &[Projection],
    position: PositionGlobale,
) -> Result<bool, ErreurProjection> {
    let noms: Vec<&str> = projections.iter().map(|p| p.nom()).collect();
    let (passees,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM points_de_reprise \
         WHERE lecteur = ANY($1) \
           AND (transaction_id, global_position) >= ($2::bigint::text::xid8, $3)",
    )
    .bind(&noms)
    .bind(position.transaction)
    .bind(position.position)
    .fetch_one(pool)
    .await?;
    Ok(usize::try_from(passees).is_ok_and(|n| n >= noms.len()))
}

/// Waits until every projection of `projections` has passed `position`, looking at their
/// checkpoints at once, then after pauses growing from 2 to 25 ms, and a last time when
/// `delai` is over. `false` if they had not passed it by then.
pub async fn attendre(
    pool: &PgPool,
    projections: &[Projection],
    position: PositionGlobale,
    delai: Duration,
) -> Result<bool, ErreurProjection> {
    let fin = Instant::now() + delai;
    let mut pause = PAUSE_INITIALE;
    loop {
        if ont_passe(pool, projections, position).await? {
            return Ok(true);
        }
        let reste = fin.saturating_duration_since(Instant::now());
        if reste.is_zero() {
            return Ok(false);
        }
        tokio::time::sleep(pause.min(reste)).await;
        pause = pause.saturating_mul(2).min(PAUSE_MAX);
    }
}
