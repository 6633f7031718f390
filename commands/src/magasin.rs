//! The event store and command execution.
//!
//! One cqrs-es framework per aggregate, each on postgres-es's event repository as a plain event
//! store: no snapshots (cqrs-es 0.5.0's snapshot and aggregate stores apply events twice into
//! the saved state) and no in-process queries (they are lost on a crash; projections tail the
//! store instead).
//!
//! [`Magasin::executer`] is the one way a command reaches an aggregate: it writes the command's
//! metadata on every event, retries a bounded number of times when another writer got to the
//! aggregate first, and answers a command id already applied with the events it produced then
//! (the database refuses a second application, see the migration's `commandes_appliquees`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use domain::Services;
use domain::combat::Combat;
use domain::echange::Echange;
use domain::inventaire::Inventaire;
use domain::joueur::Joueur;
use domain::quete::Quete;
use postgres_es::PostgresEventRepository;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use uuid::Uuid;

use crate::erreurs::{ErreurApplication, Refus};
use crate::metadonnees::Metadonnees;

/// A cqrs-es framework on the PostgreSQL event store.
pub type Cqrs<A> = CqrsFramework<A, PersistedEventStore<PostgresEventRepository, A>>;

/// The migrations of the whole backend (`migrations/`).
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

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
}

/// An aggregate kept in the store, with its framework.
pub trait AgregatStocke:
    Aggregate<
        Services = Services,
        Command: Clone,
        Event: DeserializeOwned + Unpin + 'static,
        Error: Send + Sync + 'static,
    >
{
    /// This aggregate's framework in the store.
    fn cqrs(magasin: &Magasin) -> &Cqrs<Self>;
    /// Wraps this aggregate's refusal.
    fn refus(erreur: Self::Error) -> Refus;
}

macro_rules! agregat_stocke {
    ($agregat:ty, $champ:ident, $variante:ident) => {
        impl AgregatStocke for $agregat {
            fn cqrs(magasin: &Magasin) -> &Cqrs<Self> {
                &magasin.$champ
            }
            fn refus(erreur: Self::Error) -> Refus {
                Refus::$variante(erreur)
            }
        }
    };
}

agregat_stocke!(Joueur, joueurs, Joueur);
agregat_stocke!(Combat, combats, Combat);
agregat_stocke!(Quete, quetes, Quete);
agregat_stocke!(Inventaire, inventaires, Inventaire);
agregat_stocke!(Echange, echanges, Echange);

/// The write side's handle on PostgreSQL: the pool, the catalog and one framework per
/// aggregate. Cheap to share behind an `Arc`.
pub struct Magasin {
    pool: PgPool,
    catalogue: Services,
    joueurs: Cqrs<Joueur>,
    combats: Cqrs<Combat>,
    quetes: Cqrs<Quete>,
    inventaires: Cqrs<Inventaire>,
    echanges: Cqrs<Echange>,
    politique: PolitiqueReessai,
    compteurs: Arc<Compteurs>,
}

fn cqrs<A: Aggregate>(pool: &PgPool, services: A::Services) -> Cqrs<A> {
    let depot = PostgresEventRepository::new(pool.clone());
    CqrsFramework::new(
        PersistedEventStore::new_event_store(depot),
        vec![],
        services,
    )
}

impl Magasin {
    /// The store on a migrated database.
    pub fn new(pool: PgPool, catalogue: Services) -> Self {
        Self {
            joueurs: cqrs(&pool, catalogue.clone()),
            combats: cqrs(&pool, catalogue.clone()),
            quetes: cqrs(&pool, catalogue.clone()),
            inventaires: cqrs(&pool, catalogue.clone()),
            echanges: cqrs(&pool, catalogue.clone()),
            pool,
            catalogue,
            politique: PolitiqueReessai::default(),
            compteurs: Arc::default(),
        }
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn avec_politique(mut self, politique: PolitiqueReessai) -> Self {
        self.politique = politique;
        self
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
    /// A refusal of the domain comes back as [`ErreurApplication::Regle`]. When another writer
    /// wins the race for the aggregate, the command is decided again on the new state, up to
    /// the policy's number of attempts, then [`ErreurApplication::Conflit`]. A command id
    /// already applied returns the events of that application and changes nothing, whether the
    /// duplicate races the original (the database refuses its events) or comes later (the
    /// domain refuses it, or accepts it as a no-op).
    pub async fn executer<A>(
        &self,
        aggregat_id: &str,
        commande: A::Command,
        meta: &Metadonnees,
    ) -> Result<Vec<A::Event>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let mut attente = self.politique.attente_initiale;
        for tentative in 1..=self.politique.tentatives {
            let resultat = A::cqrs(self)
                .execute_with_metadata(aggregat_id, commande.clone(), meta.en_map())
                .await;
            match resultat {
                Ok(()) => {
                    return self
                        .evenements_de_la_commande::<A>(aggregat_id, meta.id_commande)
                        .await
                        .map(Option::unwrap_or_default);
                }
                Err(AggregateError::UserError(e)) => {
                    // A retried command is often refused by the state it produced itself
                    // (`Creer` → `DejaCree`): the caller gets the first answer, not the refusal.
                    if let Some(evenements) = self
                        .reponse_anterieure::<A>(aggregat_id, meta.id_commande)
                        .await?
                    {
                        return Ok(evenements);
                    }
                    return Err(ErreurApplication::Regle(A::refus(e)));
                }
                Err(AggregateError::AggregateConflict) => {
                    // Either another command won this version, or this very command id was
                    // applied already (by a concurrent duplicate or an earlier attempt).
                    if let Some(evenements) = self
                        .reponse_anterieure::<A>(aggregat_id, meta.id_commande)
                        .await?
                    {
                        return Ok(evenements);
                    }
                    self.compteurs.conflits.fetch_add(1, Ordering::Relaxed);
                    if tentative < self.politique.tentatives {
                        tokio::time::sleep(attente + gigue(attente)).await;
                        attente = attente.saturating_mul(2).min(ATTENTE_MAX);
                    }
                }
                Err(e) => return Err(ErreurApplication::stockage(e)),
            }
        }
        self.compteurs.abandons.fetch_add(1, Ordering::Relaxed);
        Err(ErreurApplication::Conflit)
    }

    /// The answer a command id already got, if it was applied before (counted): what a
    /// duplicate receives instead of being decided again.
    async fn reponse_anterieure<A>(
        &self,
        aggregat_id: &str,
        id_commande: Uuid,
    ) -> Result<Option<Vec<A::Event>>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let trouves = self
            .evenements_de_la_commande::<A>(aggregat_id, id_commande)
            .await?;
        if trouves.is_some() {
            self.compteurs
                .deja_appliquees
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(trouves)
    }

    /// The events a command id produced, if it was applied: `None` if it never was; an error
    /// if it was applied to another aggregate than this one.
    async fn evenements_de_la_commande<A>(
        &self,
        aggregat_id: &str,
        id_commande: Uuid,
    ) -> Result<Option<Vec<A::Event>>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        // One round trip: the command's owner and its events (none if it emitted nothing).
        // The payloads are read as plain JSON: they are another aggregate's events when the
        // id was used for one, and only this aggregate's are decoded as its events.
        let lignes: Vec<LigneDeCommande> = sqlx::query_as(
            "SELECT c.aggregate_type, c.aggregate_id, e.payload \
             FROM commandes_appliquees c \
             LEFT JOIN events e ON e.id_commande = c.id_commande \
             WHERE c.id_commande = $1 \
             ORDER BY e.sequence",
        )
        .bind(id_commande)
        .fetch_all(&self.pool)
        .await
        .map_err(ErreurApplication::stockage)?;
        let Some((type_agregat, id, _)) = lignes.first() else {
            return Ok(None);
        };
        if type_agregat != A::TYPE || id != aggregat_id {
            return Err(ErreurApplication::CommandeReutilisee(id_commande));
        }
        lignes
            .into_iter()
            .filter_map(|(_, _, e)| e)
            .map(|e| serde_json::from_value(e.0).map_err(ErreurApplication::stockage))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An aggregate's current state, folded from its stream (for the checks that need another
    /// aggregate's data). `None` if it has no event.
    pub async fn charger<A>(&self, aggregat_id: &str) -> Result<Option<A>, ErreurApplication>
    where
        A: AgregatStocke,
    {
        let charges: Vec<(sqlx::types::Json<A::Event>,)> = sqlx::query_as(
            "SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
        )
        .bind(A::TYPE)
        .bind(aggregat_id)
        .fetch_all(&self.pool)
        .await
        .map_err(ErreurApplication::stockage)?;
        if charges.is_empty() {
            return Ok(None);
        }
        let mut agregat = A::default();
        for (e,) in charges {
            agregat.apply(e.0);
        }
        Ok(Some(agregat))
    }
}

/// The owner of a command id (aggregate type and id) and one of its events, if it emitted any.
type LigneDeCommande = (String, String, Option<sqlx::types::Json<serde_json::Value>>);

/// Up to a quarter of the wait, so that writers who collided do not collide again in step.
fn gigue(attente: Duration) -> Duration {
    let quart = u64::try_from(attente.as_micros() / 4)
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_micros(Uuid::new_v4().as_u64_pair().0 % quart)
}
