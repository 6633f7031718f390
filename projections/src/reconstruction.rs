//! Rebuild: replay a projection from position zero into fresh tables and swap them in.
//!
//! The replay runs into shadow copies of the projection's tables (`CREATE TABLE ... (LIKE
//! lecture.t INCLUDING ALL)` in a schema of their own), with its own checkpoint, while the live
//! worker keeps serving and updating the old tables. The swap is one transaction: it locks the
//! live checkpoint (the live worker waits between two batches), replays what was committed
//! since into the shadow tables, drops the old tables, moves the new ones into place and sets
//! the live checkpoint to where the replay stopped. Readers see the old model or the new one,
//! never a mix; the live worker resumes from the new checkpoint on the new tables.

use magasin::partage::Source;
use sqlx::{Acquire, PgPool};

use crate::travailleur::{appliquer_un_lot, lot_plein};
use crate::{ErreurProjection, Projection, SCHEMA};

/// Events per batch of a rebuild (`mmo projections rebuild` and its bench): larger than the
/// live worker's, since nobody waits on a rebuild's batches.
pub const TAILLE_LOT: i64 = 5_000;

/// Where a rebuild stands, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avancement {
    /// Events replayed so far.
    pub rejoues: u64,
    /// Events in the store when the rebuild started (an estimate of the total).
    pub total: u64,
}

/// Rebuilds a projection; `progres` is called after each batch. Returns the number of events
/// replayed.
pub async fn reconstruire(
    pool: &PgPool,
    projection: Projection,
    taille_lot: i64,
    mut progres: impl FnMut(Avancement),
) -> Result<u64, ErreurProjection> {
    let ombre = format!("{SCHEMA}_reconstruction_{}", projection.nom());
    let lecteur = format!("{}@reconstruction", projection.nom());
    // Straight from the store: a rebuild reads the whole log, far behind any shared buffer.
    let source = Source::directe(pool.clone());
    let mut c = pool.acquire().await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {ombre} CASCADE"))
        .execute(&mut *c)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {ombre}"))
        .execute(&mut *c)
        .await?;
    for table in projection.tables() {
        sqlx::query(&format!(
            "CREATE TABLE {ombre}.{table} (LIKE {SCHEMA}.{table} INCLUDING ALL)"
        ))
        .execute(&mut *c)
        .await?;
    }
    sqlx::query("DELETE FROM points_de_reprise WHERE lecteur = $1")
        .bind(&lecteur)
        .execute(&mut *c)
        .await?;
    let (total,): (i64,) = sqlx::query_as("SELECT count(*) FROM events")
        .fetch_one(&mut *c)
        .await?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut rejoues = 0u64;
    // The bulk of the replay, batch by batch, while the live model keeps serving.
    loop {
        let mut tx = c.begin().await?;
        let n =
            appliquer_un_lot(&mut tx, &source, projection, &ombre, &lecteur, taille_lot).await?;
        tx.commit().await?;
        rejoues += n as u64;
        progres(Avancement { rejoues, total });
        if !lot_plein(n, taille_lot) {
            break;
        }
    }
    // The swap, with the live checkpoint locked: catch up, move the tables, move the
    // checkpoint.
    let mut tx = c.begin().await?;
    sqlx::query("INSERT INTO points_de_reprise (lecteur) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(projection.nom())
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT 1 FROM points_de_reprise WHERE lecteur = $1 FOR UPDATE")
        .bind(projection.nom())
        .execute(&mut *tx)
        .await?;
    loop {
        let n =
            appliquer_un_lot(&mut tx, &source, projection, &ombre, &lecteur, taille_lot).await?;
        rejoues += n as u64;
        if !lot_plein(n, taille_lot) {
            break;
        }
    }
    for table in projection.tables() {
        sqlx::query(&format!("DROP TABLE {SCHEMA}.{table}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("ALTER TABLE {ombre}.{table} SET SCHEMA {SCHEMA}"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE points_de_reprise AS vivant SET transaction_id = ombre.transaction_id, \
         global_position = ombre.global_position, mis_a_jour = now() \
         FROM points_de_reprise AS ombre WHERE vivant.lecteur = $1 AND ombre.lecteur = $2",
    )
    .bind(projection.nom())
    .bind(&lecteur)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM points_de_reprise WHERE lecteur = $1")
        .bind(&lecteur)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("DROP SCHEMA {ombre}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    progres(Avancement { rejoues, total });
    Ok(rejoues)
}
