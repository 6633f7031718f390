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
//! and take over when the leader's connection goes away. With its process's shared reader
//! ([`Travailleur::avec_lecteur`], what `mmo serve` and `mmo worker` give) it takes its events
//! from memory and wakes when the shared reader has read past its checkpoint; alone, it reads
//! the store and wakes on the store's `NOTIFY evenements`; either way it polls as a fallback.
//!
//! With a cache ([`Travailleur::avec_cache`]), after each committed batch the worker writes the
//! rows the batch touched to Redis (see [`crate::cache`]): after the commit, never before, and
//! a Redis failure never fails the batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use magasin::lecteur::{LotFiltre, PositionGlobale};
use magasin::partage::{LecteurPartage, Source};
use magasin::suivi::{JaugesDeRetard, MESURE_RETARD, Tete};
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
    partage: Option<LecteurPartage>,
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
            partage: None,
        }
    }

    /// Takes its events from the process's shared reader instead of reading the store itself.
    #[must_use]
    pub fn avec_lecteur(mut self, lecteur: LecteurPartage) -> Self {
        self.partage = Some(lecteur);
        self
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
        let mut source = match &self.partage {
            Some(partage) => partage.source(),
            None => Source::directe(self.pool.clone()),
        };
        let mut mesure: Option<std::time::Instant> = None;
        while !*arret.borrow() {
            let (n, point) = traiter(
                &self.pool,
                &source,
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
            source.attendre(point, self.sondage, arret).await?;
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

/// One batch of the live projection read from the store, in its own transaction; returns how
/// many events it read.
pub async fn traiter_un_lot(
    pool: &PgPool,
    projection: Projection,
    taille_lot: i64,
) -> Result<usize, ErreurProjection> {
    let source = Source::directe(pool.clone());
    Ok(traiter(pool, &source, projection, taille_lot, None)
        .await?
        .0)
}

/// One batch of the live projection, in its own transaction, then (after the commit) the
/// caches of the aggregates it touched, if `cache` is given. A cache failure is logged, never
/// returned. Returns how many events it read and where the checkpoint stands after it.
#[tracing::instrument(level = "debug", skip_all, fields(projection = projection.nom()))]
async fn traiter(
    pool: &PgPool,
    source: &Source,
    projection: Projection,
    taille_lot: i64,
    cache: Option<&Cache>,
) -> Result<(usize, PositionGlobale), ErreurProjection> {
    let mut tx = pool.begin().await?;
    let (lot, point) = appliquer_lot(
        &mut tx,
        source,
        projection,
        SCHEMA,
        projection.nom(),
        taille_lot,
    )
    .await?;
    tx.commit().await?;
    if let Some(cache) = cache {
        cache
            .rafraichir(pool, projection, &ids_touches(projection, &lot.evenements))
            .await;
    }
    Ok((lot.lus, point))
}

/// Inside the caller's transaction: locks `lecteur`'s checkpoint, folds the next events into
/// `projection`'s tables in `schema`, moves the checkpoint. Returns how many events it read.
pub(crate) async fn appliquer_un_lot(
    c: &mut PgConnection,
    source: &Source,
    projection: Projection,
    schema: &str,
    lecteur: &str,
    taille_lot: i64,
) -> Result<usize, ErreurProjection> {
    Ok(
        appliquer_lot(c, source, projection, schema, lecteur, taille_lot)
            .await?
            .0
            .lus,
    )
}

/// [`appliquer_un_lot`] with the events from `source`, returning what it read (the events of
/// the projection's aggregate types, and how many events the batch held in all) and where the
/// checkpoint stands after it.
async fn appliquer_lot(
    c: &mut PgConnection,
    source: &Source,
    projection: Projection,
    schema: &str,
    lecteur: &str,
    taille_lot: i64,
) -> Result<(LotFiltre, PositionGlobale), ErreurProjection> {
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
    let apres = PositionGlobale {
        transaction,
        position,
    };
    let lot = source
        .lire_apres_de(&mut *c, apres, taille_lot, projection.types_agregats())
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
    let point = lot.jusqu_a.unwrap_or(apres);
    Ok((lot, point))
}
