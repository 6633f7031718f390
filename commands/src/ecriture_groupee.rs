//! Group commit: the commands decided at the same moment, on different aggregates, are written
//! in one statement — one transaction, one commit, one fsync — and each keeps its own answer,
//! its own conflict detection and its own idempotency (doc/magasin.md §2, « Écrire en
//! groupe »).
//!
//! [`Depot::executer`](crate::Depot::executer) hands each decided command's events to the
//! collector ([`EcritureGroupee::ecrire`]) and waits for its [`IssueEcriture`]. The collector takes
//! every command already waiting; when other batches are being written, it waits for more, at
//! most [`ReglagesEcriture::attente`] (1 ms at most) or until
//! [`ReglagesEcriture::commandes_par_lot`]. At most [`ReglagesEcriture::lots_en_vol`] batches
//! are written at once; while they are, the next one grows. Alone, a command waits for nobody.
//!
//! The statement ([`ECRIRE_LOT`]) leaves out, without aborting the others:
//! - a command whose first sequence the store already holds: it was decided on a state that
//!   another process's writes left behind;
//! - a command whose id another transaction registered in `commandes_appliquees` (a
//!   duplicate), and, among the batch's commands sharing an id, all but the first.
//!
//! Each is answered [`IssueEcriture::Conflit`], and `executer` re-decides it alone, or answers its
//! first application. A command that races another process's uncommitted write of the same
//! key aborts the statement (a unique violation, or a deadlock between two batches): the batch
//! is written again, and the statement, which now sees the committed winner, leaves that
//! command out. A statement is atomic: a batch cut short (connection lost, process killed)
//! leaves nothing of any of its commands, and each of them gets the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use magasin::Metadonnees;
use magasin::lecteur::PositionGlobale;
use magasin::suivi::Reveil;
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

/// The longest a batch may wait for more commands: group commit trades a little latency for
/// fsyncs, never more than this.
pub const ATTENTE_MAX: Duration = Duration::from_millis(1);

/// How commands share statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReglagesEcriture {
    /// How long a batch waits for more commands while others are being written (at most
    /// [`ATTENTE_MAX`]; zero: it takes what is waiting and goes).
    pub attente: Duration,
    /// The most commands in one statement.
    pub commandes_par_lot: usize,
    /// Batches written at the same time, each on a connection of the pool.
    pub lots_en_vol: usize,
}

impl Default for ReglagesEcriture {
    fn default() -> Self {
        Self {
            attente: Duration::ZERO,
            commandes_par_lot: 64,
            lots_en_vol: 2,
        }
    }
}

impl ReglagesEcriture {
    /// The settings within their bounds: a wait of at most [`ATTENTE_MAX`], at least one
    /// command per batch and one batch in flight.
    #[must_use]
    pub fn bornes(self) -> Self {
        Self {
            attente: self.attente.min(ATTENTE_MAX),
            commandes_par_lot: self.commandes_par_lot.max(1),
            lots_en_vol: self.lots_en_vol.max(1),
        }
    }
}

/// Counters for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct CompteursEcriture {
    /// Statements that wrote a batch (retries of a batch included).
    pub lots: AtomicU64,
    /// Commands those statements carried.
    pub commandes: AtomicU64,
    /// Batches written again after a race with another process's uncommitted write.
    pub reprises: AtomicU64,
    /// Commands handed over and not yet in a statement (a gauge).
    pub en_attente: AtomicU64,
}

/// One command's events, to be written after `version` of its aggregate, all with the same
/// metadata.
pub(crate) struct Ecriture {
    pub(crate) agregat: &'static str,
    pub(crate) agregat_id: String,
    pub(crate) version: i64,
    pub(crate) genres: Vec<String>,
    pub(crate) versions: Vec<String>,
    pub(crate) charges: Vec<String>,
    pub(crate) meta: Metadonnees,
    /// `meta` as the JSON every event carries.
    pub(crate) metadata: String,
}

/// What became of one command of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssueEcriture {
    /// Its events are committed; the last of them stands there in the global order.
    Ecrite(PositionGlobale),
    /// Nothing written: its first sequence is taken, or its id was applied by another
    /// transaction (or by another command of its batch).
    Conflit,
}

type Reponse = oneshot::Sender<Result<IssueEcriture, sqlx::Error>>;

/// Statements that wrote a batch again after a race before giving up (each command is then
/// answered [`IssueEcriture::Conflit`] and decided again).
const ESSAIS: u32 = 3;

/// The batch's commands (one row each: `$1`–`$9`) and events (one row each: `$10`–`$14`, with
/// their command's index and rank). See the module's documentation for what it leaves out.
/// Returns, for each command, where its last event stands, or nulls if it was left out.
const ECRIRE_LOT: &str = "WITH commandes AS ( \
       SELECT * FROM UNNEST($1::int4[], $2::text[], $3::text[], $4::int8[], $5::uuid[], \
                            $6::uuid[], $7::uuid[], $8::uuid[], $9::text[]) \
         AS c (commande, aggregate_type, aggregate_id, version, id_commande, correlation_id, \
               causation_id, compte_id, metadata)), \
     libres AS ( \
       SELECT DISTINCT ON (c.id_commande) c.* FROM commandes c \
       WHERE NOT EXISTS (SELECT 1 FROM events e \
                         WHERE e.aggregate_type = c.aggregate_type \
                           AND e.aggregate_id = c.aggregate_id AND e.sequence = c.version + 1) \
       ORDER BY c.id_commande, c.commande), \
     inscrites AS ( \
       INSERT INTO commandes_appliquees (id_commande, aggregate_type, aggregate_id, transaction_id) \
       SELECT id_commande, aggregate_type, aggregate_id, pg_current_xact_id() FROM libres \
       ON CONFLICT (id_commande) DO NOTHING \
       RETURNING id_commande), \
     ecrits AS ( \
       INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
                           payload, metadata, id_commande, correlation_id, causation_id, compte_id) \
       SELECT c.aggregate_type, c.aggregate_id, c.version + e.rang, e.genre, e.version, \
              e.payload::json, c.metadata::json, c.id_commande, c.correlation_id, \
              c.causation_id, c.compte_id \
       FROM UNNEST($10::int4[], $11::int8[], $12::text[], $13::text[], $14::text[]) \
              WITH ORDINALITY AS e (commande, rang, genre, version, payload, ordre) \
       JOIN libres c ON c.commande = e.commande \
       JOIN inscrites i ON i.id_commande = c.id_commande \
       ORDER BY e.ordre \
       RETURNING aggregate_type, aggregate_id, sequence, transaction_id, global_position) \
     SELECT c.commande, max(w.transaction_id::text::bigint), max(w.global_position) \
     FROM commandes c LEFT JOIN ecrits w \
       ON w.aggregate_type = c.aggregate_type AND w.aggregate_id = c.aggregate_id \
      AND w.sequence > c.version \
     GROUP BY c.commande";

/// Writes commands in groups. Cheap to share; its collector starts with the first command
/// (on the current tokio runtime) and stops when the last handle is dropped.
pub struct EcritureGroupee {
    envoi: OnceLock<mpsc::UnboundedSender<(Ecriture, Reponse)>>,
    commun: Arc<Commun>,
}

/// What the collector and the batches it writes share.
struct Commun {
    pool: PgPool,
    reglages: ReglagesEcriture,
    reveil: Arc<Reveil>,
    compteurs: Arc<CompteursEcriture>,
}

impl EcritureGroupee {
    /// Group commit on this pool; `reveil` wakes the readers after each batch.
    pub(crate) fn new(
        pool: PgPool,
        reglages: ReglagesEcriture,
        reveil: Arc<Reveil>,
        compteurs: Arc<CompteursEcriture>,
    ) -> Self {
        Self {
            envoi: OnceLock::new(),
            commun: Arc::new(Commun {
                pool,
                reglages: reglages.bornes(),
                reveil,
                compteurs,
            }),
        }
    }

    /// Its counters.
    pub fn compteurs(&self) -> &Arc<CompteursEcriture> {
        &self.commun.compteurs
    }

    /// Its settings, within their bounds.
    pub fn reglages(&self) -> ReglagesEcriture {
        self.commun.reglages
    }

    /// Writes one command's events with whichever commands come at the same moment.
    pub(crate) async fn ecrire(&self, ecriture: Ecriture) -> Result<IssueEcriture, sqlx::Error> {
        let envoi = self.envoi.get_or_init(|| {
            let (envoi, recus) = mpsc::unbounded_channel();
            tokio::spawn(collecter(recus, Arc::clone(&self.commun)));
            envoi
        });
        let (reponse, issue) = oneshot::channel();
        let en_attente = &self.commun.compteurs.en_attente;
        en_attente.fetch_add(1, Ordering::Relaxed);
        if envoi.send((ecriture, reponse)).is_err() {
            en_attente.fetch_sub(1, Ordering::Relaxed);
            return Err(sqlx::Error::WorkerCrashed);
        }
        issue.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

/// Gathers the commands into batches and starts writing each, until every sender is gone.
async fn collecter(mut recus: mpsc::UnboundedReceiver<(Ecriture, Reponse)>, commun: Arc<Commun>) {
    let ReglagesEcriture {
        attente,
        commandes_par_lot: max,
        lots_en_vol,
    } = commun.reglages;
    let permis = Arc::new(Semaphore::new(lots_en_vol));
    while let Some(premiere) = recus.recv().await {
        let mut lot = vec![premiere];
        prendre_ce_qui_attend(&mut recus, &mut lot, max);
        // Alone, a command waits for nobody; while other batches are written (the database is
        // busy anyway), a batch waits a moment for the commands that follow.
        if lot.len() < max && !attente.is_zero() && permis.available_permits() < lots_en_vol {
            let echeance = tokio::time::Instant::now() + attente;
            while lot.len() < max {
                tokio::select! {
                    suivante = recus.recv() => match suivante {
                        Some(s) => lot.push(s),
                        None => break,
                    },
                    () = tokio::time::sleep_until(echeance) => break,
                }
            }
        }
        let Ok(permis_du_lot) = Arc::clone(&permis).acquire_owned().await else {
            return;
        };
        // Those that came while the other batches were written go with this one.
        prendre_ce_qui_attend(&mut recus, &mut lot, max);
        let commun = Arc::clone(&commun);
        tokio::spawn(async move {
            ecrire_lot(&commun, lot).await;
            drop(permis_du_lot);
        });
    }
}

fn prendre_ce_qui_attend(
    recus: &mut mpsc::UnboundedReceiver<(Ecriture, Reponse)>,
    lot: &mut Vec<(Ecriture, Reponse)>,
    max: usize,
) {
    while lot.len() < max {
        match recus.try_recv() {
            Ok(e) => lot.push(e),
            Err(_) => return,
        }
    }
}

/// Writes a batch and answers each of its commands.
async fn ecrire_lot(commun: &Commun, mut lot: Vec<(Ecriture, Reponse)>) {
    commun
        .compteurs
        .en_attente
        .fetch_sub(lot.len() as u64, Ordering::Relaxed);
    // Keys taken in one order by every batch: two batches on the same aggregates wait for
    // each other instead of deadlocking (mostly: a deadlock is still retried).
    lot.sort_by(|(a, _), (b, _)| (a.agregat, &a.agregat_id).cmp(&(b.agregat, &b.agregat_id)));
    let (ecritures, reponses): (Vec<Ecriture>, Vec<Reponse>) = lot.into_iter().unzip();
    let issues = ecrire_avec_reprises(commun, &ecritures).await;
    if issues
        .iter()
        .any(|i| matches!(i, Ok(IssueEcriture::Ecrite(_))))
    {
        commun.reveil.signaler();
    }
    for (reponse, issue) in reponses.into_iter().zip(issues) {
        // A caller that stopped waiting (its request was dropped) has nobody to tell.
        let _ = reponse.send(issue);
    }
}

/// The batch in one statement, written again after a race; one command at a time if the
/// statement fails on one command's data, so that it fails alone.
async fn ecrire_avec_reprises(
    commun: &Commun,
    ecritures: &[Ecriture],
) -> Vec<Result<IssueEcriture, sqlx::Error>> {
    let mut essai = 1;
    loop {
        match executer_lot(commun, ecritures).await {
            Ok(issues) => return issues.into_iter().map(Ok).collect(),
            Err(e) if ecritures.len() == 1 => {
                // Alone, a race is the command's conflict, as a unique violation always was.
                return vec![if course(&e) {
                    Ok(IssueEcriture::Conflit)
                } else {
                    Err(e)
                }];
            }
            Err(e) if course(&e) => {
                commun.compteurs.reprises.fetch_add(1, Ordering::Relaxed);
                if essai >= ESSAIS {
                    return ecritures
                        .iter()
                        .map(|_| Ok(IssueEcriture::Conflit))
                        .collect();
                }
                essai += 1;
            }
            Err(e) if donnees(&e) => {
                let mut issues = Vec::with_capacity(ecritures.len());
                for ecriture in ecritures {
                    issues.push(
                        match executer_lot(commun, std::slice::from_ref(ecriture)).await {
                            Ok(mut i) => Ok(i.remove(0)),
                            Err(e) if course(&e) => Ok(IssueEcriture::Conflit),
                            Err(e) => Err(e),
                        },
                    );
                }
                return issues;
            }
            Err(e) => {
                // The connection or the server failed: committed or not, nobody knows; each
                // command gets the error (a resend finds its first application, if any).
                let mut issues = vec![Err(e)];
                while issues.len() < ecritures.len() {
                    issues.push(Err(copie(issues.first())));
                }
                return issues;
            }
        }
    }
}

/// A database error's SQLSTATE.
fn code(e: &sqlx::Error) -> Option<std::borrow::Cow<'_, str>> {
    e.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
}

/// A race with another transaction's write of the same key: a unique violation (the primary
/// key of `events`), a deadlock (two batches), a serialization failure.
fn course(e: &sqlx::Error) -> bool {
    matches!(code(e).as_deref(), Some("23505" | "40P01" | "40001"))
}

/// One command's data refused (an integrity constraint or a malformed value: SQLSTATE
/// classes 22 and 23), which should not fail the others.
fn donnees(e: &sqlx::Error) -> bool {
    code(e).is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
}

/// The same failure for another command of the batch (an `sqlx::Error` is not `Clone`).
fn copie(e: Option<&Result<IssueEcriture, sqlx::Error>>) -> sqlx::Error {
    match e {
        Some(Err(sqlx::Error::Io(io))) => {
            sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string()))
        }
        Some(Err(sqlx::Error::PoolTimedOut)) => sqlx::Error::PoolTimedOut,
        Some(Err(sqlx::Error::PoolClosed)) => sqlx::Error::PoolClosed,
        Some(Err(e)) => sqlx::Error::Protocol(format!("lot d'écriture interrompu : {e}")),
        _ => sqlx::Error::WorkerCrashed,
    }
}

/// One statement for the batch: each command's issue, in the batch's order.
async fn executer_lot(
    commun: &Commun,
    ecritures: &[Ecriture],
) -> Result<Vec<IssueEcriture>, sqlx::Error> {
    let n = ecritures.len();
    let mut commandes = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let mut versions_agregats = Vec::with_capacity(n);
    let mut ids_commandes = Vec::with_capacity(n);
    let mut correlations = Vec::with_capacity(n);
    let mut causations = Vec::with_capacity(n);
    let mut comptes: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut metadonnees = Vec::with_capacity(n);
    let (mut de, mut rangs, mut genres, mut versions, mut charges) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, e) in ecritures.iter().enumerate() {
        let i = i32::try_from(i).unwrap_or(i32::MAX);
        commandes.push(i);
        types.push(e.agregat);
        ids.push(e.agregat_id.as_str());
        versions_agregats.push(e.version);
        ids_commandes.push(e.meta.id_commande);
        correlations.push(e.meta.correlation_id);
        causations.push(e.meta.causation_id);
        comptes.push(e.meta.compte_id.map(domain::ids::CompteId::uuid));
        metadonnees.push(e.metadata.as_str());
        for (rang, ((genre, version), charge)) in
            e.genres.iter().zip(&e.versions).zip(&e.charges).enumerate()
        {
            de.push(i);
            rangs.push(i64::try_from(rang).unwrap_or(i64::MAX) + 1);
            genres.push(genre.as_str());
            versions.push(version.as_str());
            charges.push(charge.as_str());
        }
    }
    let lignes: Vec<(i32, Option<i64>, Option<i64>)> = sqlx::query_as(ECRIRE_LOT)
        .bind(commandes)
        .bind(types)
        .bind(ids)
        .bind(versions_agregats)
        .bind(ids_commandes)
        .bind(correlations)
        .bind(causations)
        .bind(comptes)
        .bind(metadonnees)
        .bind(de)
        .bind(rangs)
        .bind(genres)
        .bind(versions)
        .bind(charges)
        .fetch_all(&commun.pool)
        .await?;
    commun.compteurs.lots.fetch_add(1, Ordering::Relaxed);
    commun
        .compteurs
        .commandes
        .fetch_add(n as u64, Ordering::Relaxed);
    let mut issues = vec![IssueEcriture::Conflit; n];
    for (commande, transaction, position) in lignes {
        if let (Ok(i), Some(transaction), Some(position)) =
            (usize::try_from(commande), transaction, position)
            && let Some(issue) = issues.get_mut(i)
        {
            *issue = IssueEcriture::Ecrite(PositionGlobale {
                transaction,
                position,
            });
        }
    }
    Ok(issues)
}
