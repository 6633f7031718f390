//! The projection worker.
//!
//! One batch is one transaction: lock the projection's checkpoint row, read the next events in
//! global order, fold them into the read model, move the checkpoint, commit. A crash at any
//! point rolls the whole batch back; the next batch starts from the committed checkpoint, so
//! nothing is missed and nothing applied twice. The checkpoint is read inside the transaction
//! (not remembered between batches), which also lets a rebuild swap tables and move it.
//!
//! One instance per projection is active: it holds `pg_try_advisory_lock` on a dedicated
//! connection for as long as it leads ([`magasin::suivi::Tete`]); the others retry the lock
//! and take over when the leader's connection goes away. It wakes on the store's
//! `NOTIFY evenements` and polls as a fallback.
//!
//! With a cache ([`Travailleur::avec_cache`]), after each committed batch the worker writes the
//! rows the batch touched to Redis (see [`crate::cache`]): after the commit, never before, and
//! a Redis failure never fails the batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use magasin::lecteur::{self, LotFiltre, PositionGlobale};
use magasin::suivi::{self, JaugesDeRetard, MESURE_RETARD, Tete};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;

use crate::cache::{Cache, ids_touches};
use crate::{ErreurProjection, Projection, SCHEMA};

/// What a worker reports (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct RapportTravailleur {
    /// This instance holds the projection's lock.
    pub meneur: AtomicBool,
    /// Events folded in by this instance.
    pub appliques: AtomicU64,
    /// How far behind the store's head it is, at the last measure (while leading).
    pub retard: JaugesDeRetard,
}

/// A projection worker.
pub struct Travailleur {
    pool: PgPool,
    projection: Projection,
    taille_lot: i64,
    sondage: Duration,
    etat: Arc<RapportTravailleur>,
    cache: Option<Cache>,
}

impl Travailleur {
    /// A worker with batches of 500 events and a 500 ms fallback poll.
    pub fn new(pool: PgPool, projection: Projection) -> Self {
        Self {
            pool,
            projection,
            taille_lot: 500,
            sondage: Duration::from_millis(500),
            etat: Arc::default(),
            cache: None,
        }
    }

    /// Changes the batch size.
    #[must_use]
    pub fn avec_lots_de(mut self, taille_lot: i64) -> Self {
        self.taille_lot = taille_lot.max(1);
        self
    }

    /// Changes the fallback poll (and the leadership retry) interval.
    #[must_use]
    pub fn avec_sondage(mut self, sondage: Duration) -> Self {
        self.sondage = sondage;
        self
    }

    /// Keeps the Redis caches of this projection (if it has any: joueurs, inventaires,
    /// combats) up to date after each committed batch. Takes a `ConnectionManager` or a
    /// [`Cache`] with a key prefix.
    #[must_use]
    pub fn avec_cache(mut self, cache: impl Into<Cache>) -> Self {
        self.cache = Some(cache.into());
        self
    }

    /// What it reports.
    pub fn rapport(&self) -> Arc<RapportTravailleur> {
        self.etat.clone()
    }

    /// Runs until `arret` turns true. Errors (a lost connection, PostgreSQL restarting) are
    /// logged and the worker starts over: it competes for the lock again and resumes from the
    /// committed checkpoint.
    pub async fn executer(self, mut arret: watch::Receiver<bool>) {
        while !*arret.borrow() {
            if let Err(e) = self.mener(&mut arret).await {
                tracing::warn!(projection = self.projection.nom(), erreur = %e, "projection interrompue, reprise");
                self.etat.meneur.store(false, Ordering::Relaxed);
                tokio::select! {
                    () = tokio::time::sleep(self.sondage) => {}
                    _ = arret.changed() => {}
                }
            }
        }
    }

    async fn mener(&self, arret: &mut watch::Receiver<bool>) -> Result<(), ErreurProjection> {
        let cle = self.projection.cle_verrou();
        let Some(mut tete) = Tete::prendre(&self.pool, cle, self.sondage, arret).await? else {
            return Ok(());
        };
        self.etat.meneur.store(true, Ordering::Relaxed);
        tracing::info!(
            projection = self.projection.nom(),
            "projection menée par cette instance"
        );
        let mut ecoute = suivi::ecouter(&self.pool).await?;
        let mut mesure: Option<std::time::Instant> = None;
        while !*arret.borrow() {
            let n = traiter_un_lot_avec_cache(
                &self.pool,
                self.projection,
                self.taille_lot,
                self.cache.as_ref(),
            )
            .await?;
            self.etat.appliques.fetch_add(n as u64, Ordering::Relaxed);
            if lot_plein(n, self.taille_lot) {
                continue;
            }
            // The gauge is at most this old (plus one wait when idle).
            if mesure.is_none_or(|m| m.elapsed() >= MESURE_RETARD) {
                self.etat
                    .retard
                    .mesurer(&self.pool, self.projection.nom())
                    .await?;
                mesure = Some(std::time::Instant::now());
            }
            // Still leading? A dead lock connection means another instance may lead now.
            tete.verifier().await?;
            suivi::attendre(&mut ecoute, self.sondage, arret).await?;
        }
        self.etat.meneur.store(false, Ordering::Relaxed);
        tete.rendre().await?;
        Ok(())
    }
}

/// A batch that read as many events as asked means more may be waiting.
pub(crate) fn lot_plein(lus: usize, taille_lot: i64) -> bool {
    i64::try_from(lus).is_ok_and(|n| n >= taille_lot)
}

/// One batch of the live projection, in its own transaction; returns how many events it read.
pub async fn traiter_un_lot(
    pool: &PgPool,
    projection: Projection,
    taille_lot: i64,
) -> Result<usize, ErreurProjection> {
    traiter_un_lot_avec_cache(pool, projection, taille_lot, None).await
}

/// One batch of the live projection, in its own transaction, then (after the commit) the
/// caches of the aggregates it touched, if `cache` is given. A cache failure is logged, never
/// returned. Returns how many events it read.
#[tracing::instrument(level = "debug", skip_all, fields(projection = projection.nom()))]
pub async fn traiter_un_lot_avec_cache(
    pool: &PgPool,
    projection: Projection,
    taille_lot: i64,
    cache: Option<&Cache>,
) -> Result<usize, ErreurProjection> {
    let mut tx = pool.begin().await?;
    let lot = appliquer_lot(&mut tx, projection, SCHEMA, projection.nom(), taille_lot).await?;
    tx.commit().await?;
    if let Some(cache) = cache {
        cache
            .rafraichir(pool, projection, &ids_touches(projection, &lot.evenements))
            .await;
    }
    Ok(lot.lus)
}

/// Inside the caller's transaction: locks `lecteur`'s checkpoint, folds the next events into
/// `projection`'s tables in `schema`, moves the checkpoint. Returns how many events it read.
pub(crate) async fn appliquer_un_lot(
    c: &mut PgConnection,
    projection: Projection,
    schema: &str,
    lecteur: &str,
    taille_lot: i64,
) -> Result<usize, ErreurProjection> {
    Ok(appliquer_lot(c, projection, schema, lecteur, taille_lot)
        .await?
        .lus)
}

/// [`appliquer_un_lot`], returning what it read: the events of the projection's aggregate
/// types, and how many events the batch held in all.
async fn appliquer_lot(
    c: &mut PgConnection,
    projection: Projection,
    schema: &str,
    lecteur: &str,
    taille_lot: i64,
) -> Result<LotFiltre, ErreurProjection> {
    sqlx::query(&format!("SET LOCAL search_path TO {schema}, public"))
        .execute(&mut *c)
        .await?;
    sqlx::query("INSERT INTO points_de_reprise (lecteur) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(lecteur)
        .execute(&mut *c)
        .await?;
    let (transaction, position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM points_de_reprise \
         WHERE lecteur = $1 FOR UPDATE",
    )
    .bind(lecteur)
    .fetch_one(&mut *c)
    .await?;
    let lot = lecteur::lire_apres_de(
        &mut *c,
        PositionGlobale {
            transaction,
            position,
        },
        taille_lot,
        projection.types_agregats(),
    )
    .await?;
    projection.appliquer(c, &lot.evenements).await?;
    if let Some(jusqu_a) = lot.jusqu_a {
        sqlx::query(
            "UPDATE points_de_reprise SET transaction_id = $2::bigint::text::xid8, \
             global_position = $3, mis_a_jour = now() WHERE lecteur = $1",
        )
        .bind(lecteur)
        .bind(jusqu_a.transaction)
        .bind(jusqu_a.position)
        .execute(&mut *c)
        .await?;
    }
    Ok(lot)
}
