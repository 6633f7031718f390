//! The aggregate repository of the write side: command execution on the event store.
//!
//! The store is postgres-es's `events` table (its primary key `(aggregate_type, aggregate_id,
//! sequence)` is the optimistic-concurrency check), written and read here rather than through
//! cqrs-es's `CqrsFramework` and postgres-es's repository, which reload an aggregate's whole
//! stream for every command and write its events one statement each inside a client-side
//! transaction: five round trips and more for one command, and a cost that grows with the
//! stream (doc/magasin.md §2, doc/performance.md). The aggregates keep cqrs-es's `Aggregate`
//! trait: `handle` decides, `apply` folds.
//!
//! [`Depot::executer`] is the one way a command reaches an aggregate. It decides on the state
//! this process already holds for the aggregate ([`Memoire`]), writes the events with the
//! command's metadata on each — in one statement with the commands decided at the same moment
//! on other aggregates ([`crate::ecriture_groupee`]) — and lets the store catch a state this
//! process had not fully seen (another process wrote): it then reads the missing events and
//! decides again, a bounded number of times. A decision that writes nothing (a refusal, a
//! no-op) is confirmed against the store before it is answered. A command id already applied
//! is answered with the events it produced then (the database refuses a second application,
//! see the migration's `commandes_appliquees`). Either way, where the command's last event
//! stands in the global order is noted for the request's answer ([`crate::ecrits`]).
//!
//! A cold load (an aggregate this process does not hold) starts from the aggregate's stored
//! snapshot, if a usable one exists, and folds only the events after it; every
//! [`crate::instantanes::INTERVALLE_PAR_DEFAUT`] events (or the setting) a new snapshot is
//! written in the background, after the events it holds are committed ([`crate::instantanes`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use domain::Services;
use domain::combat::Combat;
use domain::echange::Echange;
use domain::inventaire::Inventaire;
use domain::joueur::Joueur;
use domain::moderation::Moderation;
use domain::quete::Quete;
use domain::versions;
use magasin::Metadonnees;
use magasin::suivi::Reveil;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::ecriture_groupee::{
    CompteursEcriture, Ecriture, EcritureGroupee, IssueEcriture, ReglagesEcriture,
};
use crate::erreurs::{ErreurApplication, Refus};
use crate::instantanes::{CompteursInstantanes, Instantanes};

/// How hard to try when other writers keep winning the race for an aggregate.
#[derive(Debug, Clone, Copy)]
pub struct PolitiqueReessai {
    /// Attempts in all (the first included).
    pub tentatives: u32,
    /// Wait before the second attempt; doubled at each further one, up to [`ATTENTE_MAX`].
    pub attente_initiale: Duration,
}

/// The longest wait between two attempts: doubling without a bound would put a command
/// with many attempts to sleep for minutes.
pub const ATTENTE_MAX: Duration = Duration::from_millis(100);

impl Default for PolitiqueReessai {
    fn default() -> Self {
        Self {
            tentatives: 8,
            attente_initiale: Duration::from_millis(2),
        }
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Compteurs {
    /// Commands that lost a race for their aggregate (each lost attempt counts).
    pub conflits: AtomicU64,
    /// Commands answered from a previous application of the same id.
    pub deja_appliquees: AtomicU64,
    /// Commands that gave up after the last attempt.
    pub abandons: AtomicU64,
    /// Stored snapshots written, failed, skipped and ignored.
    pub instantanes: Arc<CompteursInstantanes>,
    /// Batches of commands written together, and the commands they carried.
    pub ecriture: Arc<CompteursEcriture>,
}

/// Aggregates of one type a process keeps in memory before it forgets those not in use.
pub const AGREGATS_EN_MEMOIRE: usize = 100_000;

/// An aggregate kept in the store.
pub trait AgregatStocke:
    Aggregate<
        Services = Services,
        Command: Clone,
        Event: DeserializeOwned + Unpin + 'static,
        Error: Send + Sync + 'static,
    > + Clone
    + JsonSchema
    + 'static
{
    /// What this process holds of this aggregate type.
    fn memoire(depot: &Depot) -> &Memoire<Self>;
    /// Wraps this aggregate's refusal.
    fn refus(erreur: Self::Error) -> Refus;
    /// The fingerprint of this aggregate's state shape, which its stored snapshots must carry
    /// ([`crate::instantanes::empreinte`], computed once).
    fn empreinte() -> &'static str;
}

macro_rules! agregat_stocke {
    ($agregat:ty, $champ:ident, $variante:ident) => {
        impl AgregatStocke for $agregat {
            fn memoire(depot: &Depot) -> &Memoire<Self> {
                &depot.$champ
            }
            fn refus(erreur: Self::Error) -> Refus {
                Refus::$variante(erreur)
            }
            fn empreinte() -> &'static str {
                static EMPREINTE: OnceLock<String> = OnceLock::new();
                EMPREINTE.get_or_init(crate::instantanes::empreinte::<Self>)
            }
        }
    };
}

agregat_stocke!(Joueur, joueurs, Joueur);
agregat_stocke!(Combat, combats, Combat);
agregat_stocke!(Quete, quetes, Quete);
agregat_stocke!(Inventaire, inventaires, Inventaire);
agregat_stocke!(Echange, echanges, Echange);
agregat_stocke!(Moderation, moderations, Moderation);

/// An aggregate's state after the first `version` events of its stream.
#[derive(Debug, Clone, Default)]
struct Connu<A> {
    etat: A,
    version: i64,
    /// The version of its latest stored snapshot this process knows of (read, or written by
    /// it); 0: none.
    instantane: i64,
}

/// One aggregate's slot: what this process knows of it (nothing yet, or nothing it can trust
/// after a failed write), behind a lock that also queues this process's commands on it, so
/// that they never race each other for a version.
type Case<A> = Arc<tokio::sync::Mutex<Option<Connu<A>>>>;

/// The aggregates of one type this process holds. The store stays the truth: a state here may
/// lag behind it when another process writes, and the primary key catches a write decided on
/// such a state.
pub struct Memoire<A> {
    cases: Mutex<HashMap<String, Case<A>>>,
}

impl<A> Default for Memoire<A> {
    fn default() -> Self {
        Self {
            cases: Mutex::new(HashMap::new()),
        }
    }
}

impl<A> Memoire<A> {
    fn case(&self, agregat_id: &str) -> Case<A> {
        let mut cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(case) = cases.get(agregat_id) {
            return Arc::clone(case);
        }
        if cases.len() >= AGREGATS_EN_MEMOIRE {
            // Forget every aggregate no command is working on; they are read again on need.
            cases.retain(|_, case| Arc::strong_count(case) > 1);
        }
        Arc::clone(cases.entry(agregat_id.to_owned()).or_default())
    }
}

/// The write side's handle on PostgreSQL: the pool, the catalog and the aggregates this process
/// holds. Cheap to share behind an `Arc`.
pub struct Depot {
    pool: PgPool,
    catalogue: Services,
    joueurs: Memoire<Joueur>,
    combats: Memoire<Combat>,
    quetes: Memoire<Quete>,
    inventaires: Memoire<Inventaire>,
    echanges: Memoire<Echange>,
    moderations: Memoire<Moderation>,
    politique: PolitiqueReessai,
    compteurs: Arc<Compteurs>,
    reveil: Arc<Reveil>,
    ecriture: EcritureGroupee,
    instantanes: Instantanes,
}

/// Where the last event a command id produced stands in the global order.
const SITUER_COMMANDE: &str = "SELECT transaction_id::text::bigint, global_position FROM events \
     WHERE id_commande = $1 ORDER BY transaction_id DESC, global_position DESC LIMIT 1";

/// The events of a stream after a version (the payload as text: one at the current version is
/// deserialized straight from it).
const SUITE: &str = "SELECT sequence, event_type, event_version, payload::text FROM events \
     WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence";

impl Depot {
    /// The store on a migrated database.
    pub fn new(pool: PgPool, catalogue: Services) -> Self {
        let compteurs = Arc::<Compteurs>::default();
        let reveil = Reveil::new(pool.clone());
        Self {
            joueurs: Memoire::default(),
            combats: Memoire::default(),
            quetes: Memoire::default(),
            inventaires: Memoire::default(),
            echanges: Memoire::default(),
            moderations: Memoire::default(),
            ecriture: EcritureGroupee::new(
                pool.clone(),
                ReglagesEcriture::default(),
                Arc::clone(&reveil),
                Arc::clone(&compteurs.ecriture),
            ),
            reveil,
            pool,
            catalogue,
            politique: PolitiqueReessai::default(),
            instantanes: Instantanes::avec_compteurs(Arc::clone(&compteurs.instantanes)),
            compteurs,
        }
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn avec_politique(mut self, politique: PolitiqueReessai) -> Self {
        self.politique = politique;
        self
    }

    /// Replaces how commands share statements (group commit).
    #[must_use]
    pub fn avec_ecriture(mut self, reglages: ReglagesEcriture) -> Self {
        self.ecriture = EcritureGroupee::new(
            self.pool.clone(),
            reglages,
            Arc::clone(&self.reveil),
            Arc::clone(&self.compteurs.ecriture),
        );
        self
    }

    /// How commands share statements, as this store applies it.
    pub fn reglages_ecriture(&self) -> ReglagesEcriture {
        self.ecriture.reglages()
    }

    /// Takes a stored snapshot of an aggregate every `intervalle` events (0: none is read or
    /// written; default [`crate::instantanes::INTERVALLE_PAR_DEFAUT`]).
    #[must_use]
    pub fn avec_instantanes(mut self, intervalle: u32) -> Self {
        self.instantanes.intervalle = intervalle;
        self
    }

    /// Waits until no snapshot write is in flight.
    pub async fn attendre_instantanes(&self) {
        self.instantanes.attendre().await;
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The game catalog.
    pub fn catalogue(&self) -> &Services {
        &self.catalogue
    }

    /// Conflict and idempotency counters.
    pub fn compteurs(&self) -> &Arc<Compteurs> {
        &self.compteurs
    }

    /// Runs a command on an aggregate and returns the events it produced.
    ///
    /// A refusal of the domain comes back as [`ErreurApplication::Regle`]. When the store holds
    /// events this process had not seen (another process wrote), the command is decided again
    /// on the full state, up to the policy's number of attempts, then
    /// [`ErreurApplication::Conflit`]. A command id already applied returns the events of that
    /// application and changes nothing, whether the duplicate races the original (the database
    /// refuses its events) or comes later (the domain refuses it, or accepts it as a no-op).
    pub async fn executer<A>(
        &self,
        agregat_id: &str,
        commande: A::Command,
        meta: &Metadonnees,
    ) -> Result<Vec<A::Event>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let case = A::memoire(self).case(agregat_id);
        let mut garde = case.lock().await;
        // A read that fails below leaves the slot empty: the next command reads the stream
        // again. Anything else puts back a state that is a prefix of the stream.
        let mut connu = match garde.take() {
            Some(connu) => connu,
            None => self.charger_froid(agregat_id).await?,
        };
        let mut attente = self.politique.attente_initiale;
        let mut tentative = 1;
        loop {
            let mut etat = connu.etat.clone();
            let sink = EventSink::default();
            let decision = etat.handle(commande.clone(), &self.catalogue, &sink).await;
            let evenements = sink.collect().await;
            if decision.is_err() || evenements.is_empty() {
                // Nothing to write. A replayed command is often refused by the state it
                // produced itself (`Creer` → `DejaCree`): the caller gets the first answer.
                if let Some(anterieurs) = self
                    .reponse_anterieure::<A>(agregat_id, meta.id_commande)
                    .await?
                {
                    *garde = Some(connu);
                    return Ok(anterieurs);
                }
                // The decision stands only on the whole stream.
                let (a_jour, lus) = self.rattraper(agregat_id, connu).await?;
                connu = a_jour;
                if lus > 0 && tentative < self.politique.tentatives {
                    tentative += 1;
                    continue;
                }
                *garde = Some(connu);
                return decision
                    .map(|()| Vec::new())
                    .map_err(|e| ErreurApplication::Regle(A::refus(e)));
            }
            match self
                .ecrire::<A>(agregat_id, connu.version, &evenements, meta)
                .await
            {
                Ok(IssueEcriture::Ecrite(position)) => {
                    crate::ecrits::noter(position);
                    let n = i64::try_from(evenements.len()).unwrap_or(i64::MAX);
                    let mut apres = Connu {
                        etat,
                        version: connu.version + n,
                        instantane: connu.instantane,
                    };
                    // The events are committed: the state is the fold of the stream up to
                    // its version, never ahead of it.
                    if self.instantanes.du(apres.version, apres.instantane) {
                        self.instantaner(agregat_id, &mut apres, false);
                    }
                    *garde = Some(apres);
                    return Ok(evenements);
                }
                Ok(IssueEcriture::Conflit) => {
                    // Either another writer holds this version, or this very command id was
                    // applied already (by a concurrent duplicate, an earlier attempt, or
                    // another command of its batch).
                    if let Some(anterieurs) = self
                        .reponse_anterieure::<A>(agregat_id, meta.id_commande)
                        .await?
                    {
                        *garde = Some(connu);
                        return Ok(anterieurs);
                    }
                    self.compteurs.conflits.fetch_add(1, Ordering::Relaxed);
                    if tentative >= self.politique.tentatives {
                        self.compteurs.abandons.fetch_add(1, Ordering::Relaxed);
                        *garde = Some(connu);
                        return Err(ErreurApplication::Conflit);
                    }
                    if tentative > 1 {
                        // The first conflict is a state this process had not seen; more mean
                        // other processes keep writing this aggregate: let them pass.
                        tokio::time::sleep(attente + gigue(attente)).await;
                        attente = attente.saturating_mul(2).min(ATTENTE_MAX);
                    }
                    tentative += 1;
                    connu = self.rattraper(agregat_id, connu).await?.0;
                }
                Err(e) => {
                    // Committed or not, the state known is still a prefix of the stream.
                    *garde = Some(connu);
                    return Err(ErreurApplication::stockage(e));
                }
            }
        }
    }

    /// Writes a command's events after `version`, with whichever commands are decided at the
    /// same moment: where the last one stands in the global order, or a conflict (its first
    /// sequence is taken, or its id was applied).
    async fn ecrire<A>(
        &self,
        agregat_id: &str,
        version: i64,
        evenements: &[A::Event],
        meta: &Metadonnees,
    ) -> Result<IssueEcriture, sqlx::Error>
    where
        A: AgregatStocke,
    {
        let mut genres = Vec::with_capacity(evenements.len());
        let mut versions = Vec::with_capacity(evenements.len());
        let mut charges = Vec::with_capacity(evenements.len());
        for e in evenements {
            genres.push(e.event_type());
            versions.push(e.event_version());
            charges.push(serde_json::to_string(e).map_err(|e| sqlx::Error::Encode(e.into()))?);
        }
        let metadata =
            serde_json::to_string(&meta.en_map()).map_err(|e| sqlx::Error::Encode(e.into()))?;
        self.ecriture
            .ecrire(Ecriture {
                agregat: A::TYPE,
                agregat_id: agregat_id.to_owned(),
                version,
                genres,
                versions,
                charges,
                meta: meta.clone(),
                metadata,
            })
            .await
    }

    /// A cold load: the stored snapshot, if a usable one exists, and the events after it (the
    /// whole stream otherwise). A snapshot is written when the load folded a whole interval of
    /// events past the latest usable one, or found one it could not use.
    async fn charger_froid<A>(&self, agregat_id: &str) -> Result<Connu<A>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let lu = self
            .instantanes
            .lire::<A>(&self.pool, A::TYPE, agregat_id, A::empreinte())
            .await;
        let (depart, remplacer) = match lu {
            Some(Ok((etat, version))) => (
                Connu {
                    etat,
                    version,
                    instantane: version,
                },
                false,
            ),
            Some(Err(_)) => (Connu::default(), true),
            None => (Connu::default(), false),
        };
        let mut connu = self.rattraper(agregat_id, depart).await?.0;
        if connu.version > 0 && (remplacer || self.instantanes.du(connu.version, connu.instantane))
        {
            self.instantaner(agregat_id, &mut connu, remplacer);
        }
        Ok(connu)
    }

    /// Writes a snapshot of a state that holds exactly the stream's committed events up to its
    /// version, in the background; over any stored one if `remplacer`.
    fn instantaner<A>(&self, agregat_id: &str, connu: &mut Connu<A>, remplacer: bool)
    where
        A: AgregatStocke,
    {
        if self.instantanes.ecrire(
            &self.pool,
            A::TYPE,
            agregat_id,
            A::empreinte(),
            connu.version,
            connu.etat.clone(),
            remplacer,
        ) {
            connu.instantane = connu.version;
        }
    }

    /// Folds the events of the stream after `connu` into it; also how many there were.
    async fn rattraper<A>(
        &self,
        agregat_id: &str,
        mut connu: Connu<A>,
    ) -> Result<(Connu<A>, usize), ErreurApplication>
    where
        A: AgregatStocke,
    {
        let suite: Vec<(i64, String, String, String)> = sqlx::query_as(SUITE)
            .bind(A::TYPE)
            .bind(agregat_id)
            .bind(connu.version)
            .fetch_all(&self.pool)
            .await
            .map_err(ErreurApplication::stockage)?;
        let lus = suite.len();
        for (sequence, genre, version, payload) in suite {
            // Upcast to the current version when it was written at an older one.
            let e = versions::decoder_texte::<A::Event>(A::TYPE, &genre, &version, &payload)
                .map_err(ErreurApplication::stockage)?;
            connu.etat.apply(e);
            connu.version = sequence;
        }
        Ok((connu, lus))
    }

    /// The answer a command id already got, if it was applied before (counted): what a
    /// duplicate receives instead of being decided again. The services ask it too when they
    /// refuse a request before its first write (`services::refus_ou_premiere_reponse`).
    pub(crate) async fn reponse_anterieure<A>(
        &self,
        agregat_id: &str,
        id_commande: Uuid,
    ) -> Result<Option<Vec<A::Event>>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let trouves = self
            .evenements_de_la_commande::<A>(agregat_id, id_commande)
            .await?;
        if trouves.is_some() {
            self.compteurs
                .deja_appliquees
                .fetch_add(1, Ordering::Relaxed);
            // The answer is the first application's, its place in the global order too.
            let position: Option<(i64, i64)> = sqlx::query_as(SITUER_COMMANDE)
                .bind(id_commande)
                .fetch_optional(&self.pool)
                .await
                .map_err(ErreurApplication::stockage)?;
            if let Some(position) = position {
                crate::ecrits::noter(position.into());
            }
        }
        Ok(trouves)
    }

    /// The events a command id produced, if it was applied: `None` if it never was; an error
    /// if it was applied to another aggregate than this one.
    async fn evenements_de_la_commande<A>(
        &self,
        agregat_id: &str,
        id_commande: Uuid,
    ) -> Result<Option<Vec<A::Event>>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        // One round trip: the command's owner and its events (none if it emitted nothing).
        // The payloads are read as plain JSON: they are another aggregate's events when the
        // id was used for one, and only this aggregate's are decoded as its events.
        let lignes: Vec<LigneDeCommande> = sqlx::query_as(
            "SELECT c.aggregate_type, c.aggregate_id, e.event_type, e.event_version, e.payload \
             FROM commandes_appliquees c \
             LEFT JOIN events e ON e.id_commande = c.id_commande \
             WHERE c.id_commande = $1 \
             ORDER BY e.sequence",
        )
        .bind(id_commande)
        .fetch_all(&self.pool)
        .await
        .map_err(ErreurApplication::stockage)?;
        let Some((type_agregat, id, ..)) = lignes.first() else {
            return Ok(None);
        };
        if type_agregat != A::TYPE || id != agregat_id {
            return Err(ErreurApplication::CommandeReutilisee(id_commande));
        }
        lignes
            .into_iter()
            .filter_map(|(_, _, genre, version, e)| Some((genre?, version?, e?)))
            .map(|(genre, version, Json(e))| {
                versions::decoder(A::TYPE, &genre, &version, e).map_err(ErreurApplication::stockage)
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An aggregate's state after its first `jusqu_a` events (the game master's time travel):
    /// folded from the store, each event decoded at its type's current version as a command
    /// would see it, nothing kept in memory. Also the stream's length, so that a caller tells
    /// "past the end" from "no such aggregate" (length 0).
    pub async fn etat_a<A>(
        &self,
        agregat_id: &str,
        jusqu_a: i64,
    ) -> Result<(A, i64), ErreurApplication>
    where
        A: AgregatStocke,
    {
        let suite: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT sequence, event_type, event_version, payload::text FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence <= $3 ORDER BY sequence",
        )
        .bind(A::TYPE)
        .bind(agregat_id)
        .bind(jusqu_a)
        .fetch_all(&self.pool)
        .await
        .map_err(ErreurApplication::stockage)?;
        let (longueur,): (Option<i64>,) = sqlx::query_as(
            "SELECT max(sequence) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
        )
        .bind(A::TYPE)
        .bind(agregat_id)
        .fetch_one(&self.pool)
        .await
        .map_err(ErreurApplication::stockage)?;
        let mut etat = A::default();
        for (_, genre, version, payload) in suite {
            let e = versions::decoder_texte::<A::Event>(A::TYPE, &genre, &version, &payload)
                .map_err(ErreurApplication::stockage)?;
            etat.apply(e);
        }
        Ok((etat, longueur.unwrap_or(0)))
    }

    /// An aggregate's current state, with every event the store holds for it (for the checks
    /// that need another aggregate's data). `None` if it has no event.
    pub async fn charger<A>(&self, agregat_id: &str) -> Result<Option<A>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        self.etat(agregat_id, true).await
    }

    /// An aggregate's state as this process last saw it, read from the store only when it
    /// holds nothing of it: for what never changes once written, such as a character's
    /// owner. `None` if it has no event.
    pub async fn charger_connu<A>(&self, agregat_id: &str) -> Result<Option<A>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        self.etat(agregat_id, false).await
    }

    /// The state this process holds of an aggregate, caught up with the store when it holds
    /// nothing of it or when `rattraper` asks (and kept for the next command).
    async fn etat<A>(
        &self,
        agregat_id: &str,
        rattraper: bool,
    ) -> Result<Option<A>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let case = A::memoire(self).case(agregat_id);
        let mut garde = case.lock().await;
        let connu = match garde.take() {
            Some(connu) if connu.version > 0 && !rattraper => connu,
            Some(connu) if connu.version > 0 => self.rattraper(agregat_id, connu).await?.0,
            _ => self.charger_froid(agregat_id).await?,
        };
        let etat = (connu.version > 0).then(|| connu.etat.clone());
        *garde = Some(connu);
        Ok(etat)
    }
}

/// The owner of a command id (aggregate type and id) and one of its events (type, version,
/// payload), if it emitted any.
type LigneDeCommande = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<Json<serde_json::Value>>,
);

/// Up to a quarter of the wait, so that writers who collided do not collide again in step.
fn gigue(attente: Duration) -> Duration {
    let quart = u64::try_from(attente.as_micros() / 4)
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_micros(Uuid::new_v4().as_u64_pair().0 % quart)
}
