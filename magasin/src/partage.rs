//! One tail of the log per process (doc/magasin.md §3, « Un lecteur par processus »): the
//! [`LecteurPartage`] reads the store's global order once, keeps the latest events in a
//! bounded buffer, and every reader of the process — the projection workers, the relay, the
//! pushes to the sockets — takes its batches from there, in memory, in order, each from its
//! own place. Each still keeps its own checkpoint and its own leadership; only the reading is
//! shared.
//!
//! The buffer holds every event after `debut` up to the tail's head, contiguous in the global
//! order: the tail reads with [`lecteur::lire_apres`], so once it has read up to an event, no
//! event at or before it can appear any more (`magasin.md` §3). A reader whose place is in that
//! range is served from memory; one that fell behind the buffer's start (the buffer keeps at
//! most `capacite` events and drops the oldest first), or that is ahead of the tail, reads the
//! store itself, through its own connection, until it is back in range. A slow reader
//! therefore holds nobody back and loses nothing: it costs the store a query per batch, as
//! every reader did before.
//!
//! A reader takes its events through a [`Source`]: [`LecteurPartage::source`], or
//! [`Source::directe`] for one alone in its process (the rebuild, a test), which reads the
//! store and listens to the store's notify itself.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::lecteur::{self, EvenementStocke, LotFiltre, PositionGlobale};
use crate::suivi;

/// Events the shared reader keeps by default: at 3,000 events a second, three seconds of log
/// (a few megabytes).
pub const CAPACITE_PAR_DEFAUT: usize = 10_000;

/// The most events the tail reads in one query.
const LOT_DE_LA_TETE: i64 = 1_000;

/// How long the tail waits for a notify before it reads anyway: the notify of a transaction
/// that became visible only later (an older one was still open) wakes nobody.
const SONDAGE_DE_LA_TETE: Duration = Duration::from_millis(100);

/// What the shared reader counts (for `/metrics` and tests).
#[derive(Debug, Default)]
pub struct CompteursPartage {
    /// Queries the tail ran on the store.
    pub lectures: AtomicU64,
    /// Events the tail read.
    pub lus: AtomicU64,
    /// Events handed to readers from memory.
    pub servis_en_memoire: AtomicU64,
    /// Events readers read from the store themselves, outside the buffer.
    pub servis_par_le_magasin: AtomicU64,
}

/// The process's one tail of the log. Cheap to clone; [`LecteurPartage::lancer`] starts it.
#[derive(Clone)]
pub struct LecteurPartage {
    commun: Arc<Commun>,
}

struct Commun {
    pool: PgPool,
    capacite: usize,
    tampon: RwLock<Tampon>,
    /// The buffer's head: the last event read (`None` until the tail has started).
    tete: watch::Sender<Option<PositionGlobale>>,
    compteurs: Arc<CompteursPartage>,
}

/// Every event after `debut`, contiguous in the global order (`debut` is `None` until the tail
/// has found where the store stands).
#[derive(Default)]
struct Tampon {
    debut: Option<PositionGlobale>,
    evenements: VecDeque<Arc<EvenementStocke>>,
}

impl Tampon {
    /// The buffered events after `apres`, if the buffer holds all of them (`apres` is at or
    /// after its start, and not past its head).
    fn apres(&self, apres: PositionGlobale) -> Option<impl Iterator<Item = &Arc<EvenementStocke>>> {
        let debut = self.debut?;
        let tete = self.evenements.back().map_or(debut, |e| e.position());
        if apres < debut || apres > tete {
            return None;
        }
        let premier = self.evenements.partition_point(|e| e.position() <= apres);
        Some(self.evenements.range(premier..))
    }
}

impl LecteurPartage {
    /// A shared reader on this pool keeping at most `capacite` events (at least one); it reads
    /// nothing until [`Self::lancer`].
    pub fn new(pool: PgPool, capacite: usize) -> Self {
        Self {
            commun: Arc::new(Commun {
                pool,
                capacite: capacite.max(1),
                tampon: RwLock::default(),
                tete: watch::Sender::new(None),
                compteurs: Arc::default(),
            }),
        }
    }

    /// What it counts.
    pub fn compteurs(&self) -> &Arc<CompteursPartage> {
        &self.commun.compteurs
    }

    /// How many events it keeps at most.
    pub fn capacite(&self) -> usize {
        self.commun.capacite
    }

    /// A source for one reader of this process.
    pub fn source(&self) -> Source {
        Source {
            pool: self.commun.pool.clone(),
            partage: Some(self.clone()),
            ecoute: None,
        }
    }

    /// Starts the tail: from the store's head, every event in global order into the buffer,
    /// woken by the store's notify, until `arret`. A failure is logged and the tail resumes
    /// from its head; the buffer it holds stays valid.
    pub fn lancer(&self, arret: watch::Receiver<bool>) -> JoinHandle<()> {
        let partage = self.clone();
        tokio::spawn(async move { partage.suivre(arret).await })
    }

    async fn suivre(&self, mut arret: watch::Receiver<bool>) {
        while !*arret.borrow() {
            if let Err(e) = self.suivre_depuis(&mut arret).await {
                tracing::warn!(erreur = %e, "lecteur partagé interrompu, reprise");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = arret.changed() => {}
                }
            }
        }
    }

    async fn suivre_depuis(&self, arret: &mut watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let pool = &self.commun.pool;
        let mut ecoute = suivi::ecouter(pool).await?;
        let reprise = *self.commun.tete.borrow();
        let depuis = match reprise {
            Some(tete) => tete,
            None => lecteur::tete(pool).await?,
        };
        self.commencer(depuis);
        let mut tete = depuis;
        while !*arret.borrow() {
            let lot = lecteur::lire_apres(pool, tete, LOT_DE_LA_TETE).await?;
            let compteurs = &self.commun.compteurs;
            compteurs.lectures.fetch_add(1, Ordering::Relaxed);
            compteurs.lus.fetch_add(lot.len() as u64, Ordering::Relaxed);
            let plein = i64::try_from(lot.len()).is_ok_and(|n| n >= LOT_DE_LA_TETE);
            if let Some(dernier) = lot.last() {
                tete = dernier.position();
                self.garder(lot);
            }
            if !plein {
                suivi::attendre(&mut ecoute, SONDAGE_DE_LA_TETE, arret).await?;
            }
        }
        Ok(())
    }

    /// The buffer starts after `depuis` (once; a resumed tail goes on from its head).
    fn commencer(&self, depuis: PositionGlobale) {
        let mut tampon = self
            .commun
            .tampon
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if tampon.debut.is_none() {
            tampon.debut = Some(depuis);
            self.commun.tete.send_replace(Some(depuis));
        }
    }

    /// Appends a batch read after the head, dropping the oldest events beyond the capacity.
    fn garder(&self, lot: Vec<EvenementStocke>) {
        let Some(tete) = lot.last().map(EvenementStocke::position) else {
            return;
        };
        {
            let mut tampon = self
                .commun
                .tampon
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            tampon.evenements.extend(lot.into_iter().map(Arc::new));
            while tampon.evenements.len() > self.commun.capacite {
                if let Some(sorti) = tampon.evenements.pop_front() {
                    tampon.debut = Some(sorti.position());
                }
            }
        }
        self.commun.tete.send_replace(Some(tete));
    }

    /// Up to `limite` buffered events after `apres`, if the buffer holds all of them.
    fn en_memoire(
        &self,
        apres: PositionGlobale,
        limite: usize,
    ) -> Option<Vec<Arc<EvenementStocke>>> {
        let tampon = self
            .commun
            .tampon
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let lot: Vec<_> = tampon.apres(apres)?.take(limite).cloned().collect();
        self.commun
            .compteurs
            .servis_en_memoire
            .fetch_add(lot.len() as u64, Ordering::Relaxed);
        Some(lot)
    }

    fn servis_par_le_magasin(&self, n: usize) {
        self.commun
            .compteurs
            .servis_par_le_magasin
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Waits until events after `apres` are in the buffer, at most `sondage`.
    async fn attendre_apres(
        &self,
        apres: PositionGlobale,
        sondage: Duration,
        arret: &mut watch::Receiver<bool>,
    ) {
        let mut tete = self.commun.tete.subscribe();
        tokio::select! {
            _ = tete.wait_for(|t| t.is_some_and(|t| t > apres)) => {}
            () = tokio::time::sleep(sondage) => {}
            _ = arret.changed() => {}
        }
    }
}

/// Where one reader takes its events: from its process's [`LecteurPartage`], or straight from
/// the store ([`Source::directe`]). Readers read from their own place (their checkpoint) and
/// get the same batches either way.
pub struct Source {
    pool: PgPool,
    partage: Option<LecteurPartage>,
    /// A direct source's own listening connection, opened when it first waits.
    ecoute: Option<PgListener>,
}

impl Source {
    /// A reader alone in its process: it reads the store itself and listens to the store's
    /// notify on a connection of its own.
    pub fn directe(pool: PgPool) -> Self {
        Self {
            pool,
            partage: None,
            ecoute: None,
        }
    }

    /// Up to `limite` events after `apres` in global order (the store's rule,
    /// [`lecteur::lire_apres`]); from memory when the shared reader holds them all, otherwise
    /// from the store through `executeur`.
    pub async fn lire_apres<'e>(
        &self,
        executeur: impl sqlx::PgExecutor<'e>,
        apres: PositionGlobale,
        limite: i64,
    ) -> Result<Vec<Arc<EvenementStocke>>, sqlx::Error> {
        if let Some(partage) = &self.partage
            && let Some(lot) = partage.en_memoire(apres, usize::try_from(limite).unwrap_or(0))
        {
            return Ok(lot);
        }
        let lot = lecteur::lire_apres(executeur, apres, limite).await?;
        if let Some(partage) = &self.partage {
            partage.servis_par_le_magasin(lot.len());
        }
        Ok(lot.into_iter().map(Arc::new).collect())
    }

    /// The same batch as [`Self::lire_apres`], of which only the events of `types` are kept,
    /// with the batch's length and last position (the store's rule, [`lecteur::lire_apres_de`]).
    pub async fn lire_apres_de<'e>(
        &self,
        executeur: impl sqlx::PgExecutor<'e>,
        apres: PositionGlobale,
        limite: i64,
        types: &[&str],
    ) -> Result<LotFiltre, sqlx::Error> {
        if let Some(partage) = &self.partage
            && let Some(lot) = partage.en_memoire(apres, usize::try_from(limite).unwrap_or(0))
        {
            return Ok(LotFiltre {
                lus: lot.len(),
                jusqu_a: lot.last().map(|e| e.position()),
                evenements: lot
                    .iter()
                    .filter(|e| types.contains(&e.aggregate_type.as_str()))
                    .map(|e| EvenementStocke::clone(e))
                    .collect(),
            });
        }
        let lot = lecteur::lire_apres_de(executeur, apres, limite, types).await?;
        if let Some(partage) = &self.partage {
            partage.servis_par_le_magasin(lot.lus);
        }
        Ok(lot)
    }

    /// Waits until events after `apres` may be there: the shared reader has read past it, or
    /// (a direct source) the store notified; at most `sondage` either way, or until `arret`.
    pub async fn attendre(
        &mut self,
        apres: PositionGlobale,
        sondage: Duration,
        arret: &mut watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        if let Some(partage) = &self.partage {
            partage.attendre_apres(apres, sondage, arret).await;
            return Ok(());
        }
        let ecoute = match &mut self.ecoute {
            Some(ecoute) => ecoute,
            None => self.ecoute.insert(suivi::ecouter(&self.pool).await?),
        };
        let attente = suivi::attendre(ecoute, sondage, arret).await;
        if attente.is_err() {
            // Listened again at the next wait.
            self.ecoute = None;
        }
        attente
    }
}
