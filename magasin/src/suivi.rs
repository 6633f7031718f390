//! What every reader that follows the store needs besides [`crate::lecteur`]: leading alone
//! (one instance per reader holds an advisory lock), waking as soon as events are written
//! ([`Reveil`] on the writing side, [`ecouter`] and [`attendre`] on the reading side), and
//! knowing how far behind it is ([`retard`]).
//!
//! Both hold a connection for as long as the reader runs, so both open their own, outside the
//! shared pool: held for hours, pool connections would starve the commands. The lock lives as
//! long as its connection: if the process dies, PostgreSQL drops the connection and another
//! instance takes the lead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::sync::watch;

use crate::lecteur::PositionGlobale;

/// The store's notify channel.
pub const CANAL: &str = "evenements";

/// Wakes the readers of every process after events are written: `NOTIFY evenements`, sent
/// after the writing statement committed, from a transaction of its own, at most one at a time
/// per process (writes during a notify are covered by the next one).
///
/// Not from the writing transaction (a trigger did that until 2026-11-30): PostgreSQL takes
/// one cluster-wide lock from a notifying transaction's pre-commit to the end of its commit,
/// fsync included, so every command waited for the previous command's fsync and none could
/// share one (see doc/performance.md). A transaction that only notifies has no WAL to flush.
pub struct Reveil {
    pool: PgPool,
    demande: AtomicBool,
    en_cours: AtomicBool,
}

impl Reveil {
    /// A waker on this pool.
    pub fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            demande: AtomicBool::new(false),
            en_cours: AtomicBool::new(false),
        })
    }

    /// Events were just committed: the readers will be told (on a task of the current tokio
    /// runtime; the caller does not wait).
    pub fn signaler(self: &Arc<Self>) {
        self.demande.store(true, Ordering::Release);
        if self.en_cours.swap(true, Ordering::AcqRel) {
            return;
        }
        let reveil = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                while reveil.demande.swap(false, Ordering::AcqRel) {
                    if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                        .bind(CANAL)
                        .execute(&reveil.pool)
                        .await
                    {
                        // The readers' poll covers a lost notify.
                        tracing::warn!(erreur = %e, "notification des lecteurs perdue");
                    }
                }
                reveil.en_cours.store(false, Ordering::Release);
                // A signal that came between the last check and the line above found the task
                // still running: take it, unless a new task already did.
                if !reveil.demande.load(Ordering::Acquire)
                    || reveil.en_cours.swap(true, Ordering::AcqRel)
                {
                    return;
                }
            }
        });
    }
}

/// A reader's leadership: the connection that holds its advisory lock.
pub struct Tete {
    connexion: PgConnection,
    cle: i64,
}

impl Tete {
    /// Waits until this instance holds the lock `cle`, retrying every `attente`; `None` if
    /// `arret` turned true first.
    pub async fn prendre(
        pool: &PgPool,
        cle: i64,
        attente: Duration,
        arret: &mut watch::Receiver<bool>,
    ) -> Result<Option<Self>, sqlx::Error> {
        let mut connexion = PgConnection::connect_with(&pool.connect_options()).await?;
        loop {
            let (pris,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                .bind(cle)
                .fetch_one(&mut connexion)
                .await?;
            if pris {
                return Ok(Some(Self { connexion, cle }));
            }
            tokio::select! {
                () = tokio::time::sleep(attente) => {}
                _ = arret.changed() => {}
            }
            if *arret.borrow() {
                return Ok(None);
            }
        }
    }

    /// Fails if the lock's connection is gone (another instance may lead now).
    pub async fn verifier(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&mut self.connexion).await?;
        Ok(())
    }

    /// Gives the lead up.
    pub async fn rendre(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.cle)
            .execute(&mut self.connexion)
            .await?;
        Ok(())
    }
}

/// Listens to the store's notify on a connection of its own.
pub async fn ecouter(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let pool_ecoute = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let mut ecoute = PgListener::connect_with(&pool_ecoute).await?;
    ecoute.listen(CANAL).await?;
    Ok(ecoute)
}

/// Waits for a notify, at most `sondage` (the poll catches events whose transaction became
/// visible after its notify, when an older transaction was still open), or for `arret`.
pub async fn attendre(
    ecoute: &mut PgListener,
    sondage: Duration,
    arret: &mut watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    tokio::select! {
        r = ecoute.recv() => { r?; }
        () = tokio::time::sleep(sondage) => {}
        _ = arret.changed() => {}
    }
    Ok(())
}

/// How often a leading reader measures its lag for the gauges, at most: the lag is a count
/// over the events after the checkpoint, and under steady writes measuring it after every
/// small batch cost as much as the batch itself.
pub const MESURE_RETARD: Duration = Duration::from_millis(250);

/// How far a reader is behind the store's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retard {
    /// Where it stands.
    pub position: PositionGlobale,
    /// Events after its checkpoint.
    pub evenements: i64,
    /// Age of the oldest of them, in milliseconds (0 when caught up).
    pub millisecondes: i64,
}

/// A reader's checkpoint (its row in `points_de_reprise`, the start if it has none) and lag,
/// straight from the database.
pub async fn retard(pool: &PgPool, lecteur: &str) -> Result<Retard, sqlx::Error> {
    let (transaction, position, evenements, millisecondes): (i64, i64, i64, Option<f64>) =
        sqlx::query_as(
            "WITH p AS (SELECT transaction_id, global_position FROM points_de_reprise WHERE lecteur = $1 \
                        UNION ALL SELECT '0'::xid8, 0 LIMIT 1) \
             SELECT p.transaction_id::text::bigint, p.global_position, count(e.*), \
                    (EXTRACT(EPOCH FROM now() - min(e.recorded_at)) * 1000)::float8 \
             FROM p LEFT JOIN events e ON (e.transaction_id, e.global_position) > (p.transaction_id, p.global_position) \
             GROUP BY p.transaction_id, p.global_position",
        )
        .bind(lecteur)
        .fetch_one(pool)
        .await?;
    Ok(Retard {
        position: PositionGlobale {
            transaction,
            position,
        },
        evenements,
        millisecondes: millisecondes.map_or(0, |ms| ms.max(0.0) as i64),
    })
}

/// A reader's lag as its gauges show it (`/metrics`): the last measure, written by the
/// instance that leads the reader, read at each scrape.
#[derive(Debug, Default)]
pub struct JaugesDeRetard {
    /// Events after its checkpoint.
    pub evenements: AtomicI64,
    /// Age of the oldest of them, in milliseconds (0 when caught up).
    pub millisecondes: AtomicI64,
}

impl JaugesDeRetard {
    /// Measures the lag of `lecteur` into the gauges.
    pub async fn mesurer(&self, pool: &PgPool, lecteur: &str) -> Result<(), sqlx::Error> {
        let r = retard(pool, lecteur).await?;
        self.evenements.store(r.evenements, Ordering::Relaxed);
        self.millisecondes.store(r.millisecondes, Ordering::Relaxed);
        Ok(())
    }
}
