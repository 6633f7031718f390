//! What every reader that follows the store needs besides [`crate::lecteur`]: leading alone
//! (one instance per reader holds an advisory lock) and waking as soon as events are written
//! ([`Reveil`] on the writing side, [`ecouter`] and [`attendre`] on the reading side).
//!
//! Both hold a connection for as long as the reader runs, so both open their own, outside the
//! shared pool: held for hours, pool connections would starve the commands. The lock lives as
//! long as its connection: if the process dies, PostgreSQL drops the connection and another
//! instance takes the lead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::sync::watch;

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
