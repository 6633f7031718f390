//! What every reader that follows the store needs besides [`crate::lecteur`]: leading alone
//! (one instance per reader holds an advisory lock) and waking as soon as events are written.
//!
//! Both hold a connection for as long as the reader runs, so both open their own, outside the
//! shared pool: held for hours, pool connections would starve the commands. The lock lives as
//! long as its connection: if the process dies, PostgreSQL drops the connection and another
//! instance takes the lead.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::sync::watch;

/// The store's notify channel (see the `events` trigger).
pub const CANAL: &str = "evenements";

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
