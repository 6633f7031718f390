//! The relay: every committed event, in the store's global order, onto the bus.
//!
//! It follows the store like a projection (one leader per database; its events from its
//! process's shared reader, [`magasin::partage`], or from the store, woken by the notify) and
//! publishes each event to `evenements.<Aggregate>.<EventType>` with `Nats-Msg-Id` = the
//! event's id. The checkpoint moves only after JetStream acknowledged every event of the
//! batch: a crash, a lost connection or a NATS restart at any point makes the relay publish
//! the unacknowledged part again, and the stream's deduplication window drops what it already
//! had. Nothing is lost (the store is the source of truth) and nothing is stored twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use magasin::lecteur::{EvenementStocke, PositionGlobale};
use magasin::partage::{LecteurPartage, Source};
use magasin::suivi::{self, JaugesDeRetard, Tete};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::bus::Bus;

/// The relay's checkpoint row in `points_de_reprise`.
pub const LECTEUR: &str = "relais";

/// The relay's advisory lock: "MMOR", apart from the projections' "MMOP" keys.
const CLE_VERROU: i64 = 0x4D4D_4F52_0000_0001;

/// What the relay reports (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct RapportRelais {
    /// This instance leads the relay.
    pub meneur: AtomicBool,
    /// Events published and acknowledged by this instance.
    pub publies: AtomicU64,
    /// Batches published again after a failure.
    pub reprises: AtomicU64,
    /// How far behind the store's head it is, at the last measure (while leading).
    pub retard: JaugesDeRetard,
}

/// The relay from the store to the bus.
pub struct Relais {
    pool: PgPool,
    bus: Bus,
    taille_lot: i64,
    sondage: Duration,
    etat: Arc<RapportRelais>,
    partage: Option<LecteurPartage>,
}

/// Why a batch did not reach the bus.
#[derive(Debug, thiserror::Error)]
pub enum ErreurRelais {
    /// The store could not be read or the checkpoint written.
    #[error("magasin : {0}")]
    Depot(#[from] sqlx::Error),
    /// NATS refused or did not acknowledge a publication.
    #[error("bus : {0}")]
    Bus(#[from] async_nats::Error),
}

impl Relais {
    /// A relay with batches of 500 events and a 200 ms fallback poll.
    pub fn new(pool: PgPool, bus: Bus) -> Self {
        Self {
            pool,
            bus,
            taille_lot: 500,
            sondage: Duration::from_millis(200),
            etat: Arc::default(),
            partage: None,
        }
    }

    /// Takes its events from the process's shared reader instead of reading the store itself.
    #[must_use]
    pub fn avec_lecteur(mut self, lecteur: LecteurPartage) -> Self {
        self.partage = Some(lecteur);
        self
    }

    fn source(&self) -> Source {
        match &self.partage {
            Some(partage) => partage.source(),
            None => Source::directe(self.pool.clone()),
        }
    }

    /// What it reports.
    pub fn rapport(&self) -> Arc<RapportRelais> {
        Arc::clone(&self.etat)
    }

    /// Runs until `arret` turns true. A failure (PostgreSQL or NATS down) is logged and the
    /// relay starts over from its checkpoint after a pause.
    pub async fn executer(self, mut arret: watch::Receiver<bool>) {
        while !*arret.borrow() {
            if let Err(e) = self.mener(&mut arret).await {
                tracing::warn!(erreur = %e, "relais interrompu, reprise depuis le point de reprise");
                self.etat.meneur.store(false, Ordering::Relaxed);
                self.etat.reprises.fetch_add(1, Ordering::Relaxed);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = arret.changed() => {}
                }
            }
        }
    }

    async fn mener(&self, arret: &mut watch::Receiver<bool>) -> Result<(), ErreurRelais> {
        let Some(mut tete) = Tete::prendre(&self.pool, CLE_VERROU, self.sondage, arret).await?
        else {
            return Ok(());
        };
        self.etat.meneur.store(true, Ordering::Relaxed);
        tracing::info!("relais vers NATS mené par cette instance");
        self.bus.flux().await?;
        let mut source = self.source();
        let mut mesure: Option<std::time::Instant> = None;
        while !*arret.borrow() {
            let (n, point) = self.relayer(&source).await?;
            if i64::try_from(n).is_ok_and(|n| n >= self.taille_lot) {
                continue;
            }
            if mesure.is_none_or(|m| m.elapsed() >= suivi::MESURE_RETARD) {
                self.etat.retard.mesurer(&self.pool, LECTEUR).await?;
                mesure = Some(std::time::Instant::now());
            }
            tete.verifier().await?;
            source.attendre(point, self.sondage, arret).await?;
        }
        self.etat.meneur.store(false, Ordering::Relaxed);
        tete.rendre().await?;
        Ok(())
    }

    /// Publishes the next batch after the checkpoint and, once JetStream acknowledged all of
    /// it, moves the checkpoint. Returns how many events it published.
    pub async fn relayer_un_lot(&self) -> Result<usize, ErreurRelais> {
        Ok(self.relayer(&self.source()).await?.0)
    }

    /// [`Self::relayer_un_lot`] from `source`; also where the checkpoint stands after it.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn relayer(&self, source: &Source) -> Result<(usize, PositionGlobale), ErreurRelais> {
        let depuis = point_de_reprise(&self.pool).await?;
        let lot = source
            .lire_apres(&self.pool, depuis, self.taille_lot)
            .await?;
        let Some(dernier) = lot.last() else {
            return Ok((0, depuis));
        };
        // Every publication is sent before the first acknowledgement is awaited: one round
        // trip per batch, not per event.
        let mut accuses: Vec<PublishAckFuture> = Vec::with_capacity(lot.len());
        for e in &lot {
            accuses.push(self.publier(e).await?);
        }
        for accuse in accuses {
            accuse.await.map_err(async_nats::Error::from)?;
        }
        sqlx::query(
            "INSERT INTO points_de_reprise (lecteur, transaction_id, global_position, mis_a_jour) \
             VALUES ($1, $2::bigint::text::xid8, $3, now()) \
             ON CONFLICT (lecteur) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, \
             global_position = EXCLUDED.global_position, mis_a_jour = now()",
        )
        .bind(LECTEUR)
        .bind(dernier.transaction)
        .bind(dernier.global_position)
        .execute(&self.pool)
        .await?;
        self.etat
            .publies
            .fetch_add(lot.len() as u64, Ordering::Relaxed);
        Ok((lot.len(), dernier.position()))
    }

    async fn publier(&self, e: &EvenementStocke) -> Result<PublishAckFuture, ErreurRelais> {
        let corps = serde_json::to_vec(e).map_err(|x| ErreurRelais::Bus(x.into()))?;
        let message = PublishMessage::build()
            .message_id(e.event_id.to_string())
            .payload(corps.into());
        let sujet = self.bus.sujet_evenement(&e.aggregate_type, &e.event_type);
        Ok(self
            .bus
            .jetstream()
            .send_publish(sujet, message)
            .await
            .map_err(async_nats::Error::from)?)
    }
}

/// Where the relay stands (the start if it never ran).
pub async fn point_de_reprise(pool: &PgPool) -> Result<PositionGlobale, sqlx::Error> {
    let ligne: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM points_de_reprise \
         WHERE lecteur = $1",
    )
    .bind(LECTEUR)
    .fetch_optional(pool)
    .await?;
    Ok(ligne.map_or(PositionGlobale::DEBUT, PositionGlobale::from))
}
