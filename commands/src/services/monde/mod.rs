//! Service Monde: where characters stand, without an aggregate (doc/monde_chat.md: too hot to
//! event-source every step). The rules are the domain's ([`domain::monde`]); this service owns
//! the storage and its guarantees:
//!
//! - **hot in Redis**: one hash per character (`monde:position:<id>`: zone, x, y, the
//!   instant `t` of the last accepted move, in ms, `credit`, its distance budget then, and
//!   `depuis`, the zone its last zone change left), written by every move and zone change
//!   through a script that also checks nobody moved the character meanwhile: position and
//!   budget change together or not at all;
//! - **durable in PostgreSQL** (`positions`), written behind: a move marks the character
//!   dirty (`monde:sales`); [`Monde::ecrire_positions_sales`] writes the dirty ones, called
//!   periodically by [`Monde::ecrire_periodiquement`] and for a socket's characters when it
//!   closes ([`Monde::quitter`]). A zone change and the first placement are written to
//!   PostgreSQL before they are answered. On a Redis miss the position is read from
//!   PostgreSQL and Redis is refilled;
//! - **presence**: one sorted set per zone (`monde:presence:<zone>`), scored by the instant
//!   of the character's last sign of life; a character counts as present for
//!   [`DUREE_PRESENCE`] after it. Only a zone change removes a presence: a closed socket
//!   lets it expire, since another instance may still hold one of the player's sockets.
//!
//! What a crash loses: if Redis loses its data, the moves since the last periodic write (at
//! most [`PERIODE_ECRITURE`], plus the write's own duration); never a zone change or a
//! placement. A gateway crash loses nothing: the dirty marks are in Redis, a mark leaves
//! Redis only once its position is written, and one taken by an instance that died before
//! writing it is taken again by another after [`DELAI_REPRISE`].

mod ecriture;
mod interet;
mod memoire;
mod positions;
mod presence;
mod proprietaires;
mod refus;

pub use ecriture::{DELAI_REPRISE, PERIODE_ECRITURE};
pub use interet::Visible;
pub use positions::{ChangementCellule, Emplacement, Pas};
pub use presence::{DUREE_PRESENCE, Present, Proche, VueZone};
pub use refus::{FENETRE_REFUS, SEUIL_REFUS};

use ecriture::{SCRIPT_PRENDRE_CEUX_CI, SCRIPT_PRENDRE_SALES};
use memoire::Memoire;
use positions::{SCRIPT_DEPLACER, SCRIPT_POSER, SCRIPT_REMPLIR};

use std::sync::Arc;

use domain::Services;
use domain::ids::{CompteId, JoueurId};
use domain::valeurs::CodeZone;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::depot::Depot;
use crate::erreurs::ErreurApplication;

/// Service Monde. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct Monde {
    i: Arc<Interieur>,
}

struct Interieur {
    pool: PgPool,
    redis: ConnectionManager,
    prefixe: String,
    catalogue: Services,
    depot: Depot,
    /// `noms_joueurs` never changes a character's account or name: cached for the hot path.
    proprietaires: Memoire<(CompteId, String)>,
    /// The positions this instance wrote or read last, to decide the next step from
    /// (positions.rs): Redis checks them in the step's own script.
    chaudes: Memoire<positions::PositionDatee>,
    /// Classes read from the read side (interet.rs): a class never changes.
    classes: Memoire<String>,
    deplacer: redis::Script,
    poser: redis::Script,
    remplir: redis::Script,
    prendre_sales: redis::Script,
    prendre_ceux_ci: redis::Script,
}

impl std::fmt::Debug for Monde {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monde")
            .field("prefixe", &self.i.prefixe)
            .finish_non_exhaustive()
    }
}

fn maintenant_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn introuvable_position(joueur_id: JoueurId) -> ErreurApplication {
    ErreurApplication::introuvable("position", &joueur_id)
}

impl Monde {
    /// The service on a migrated database and a Redis, its keys under `prefixe_redis`.
    pub fn new(
        pool: PgPool,
        redis: ConnectionManager,
        prefixe_redis: &str,
        catalogue: Services,
    ) -> Self {
        Self {
            i: Arc::new(Interieur {
                depot: Depot::new(pool.clone(), catalogue.clone()),
                pool,
                redis,
                prefixe: prefixe_redis.to_owned(),
                catalogue,
                proprietaires: Memoire::default(),
                chaudes: Memoire::default(),
                classes: Memoire::default(),
                deplacer: redis::Script::new(SCRIPT_DEPLACER),
                poser: redis::Script::new(SCRIPT_POSER),
                remplir: redis::Script::new(SCRIPT_REMPLIR),
                prendre_sales: redis::Script::new(SCRIPT_PRENDRE_SALES),
                prendre_ceux_ci: redis::Script::new(SCRIPT_PRENDRE_CEUX_CI),
            }),
        }
    }

    /// The game catalog.
    pub fn catalogue(&self) -> &Services {
        &self.i.catalogue
    }

    pub(crate) fn depot(&self) -> &Depot {
        &self.i.depot
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.i.pool
    }

    pub(crate) fn redis(&self) -> ConnectionManager {
        self.i.redis.clone()
    }

    pub(crate) fn cle(&self, suffixe: &str) -> String {
        format!("{}{suffixe}", self.i.prefixe)
    }

    fn cle_position(&self, joueur_id: JoueurId) -> String {
        self.cle(&format!("monde:position:{joueur_id}"))
    }

    fn cle_sales(&self) -> String {
        self.cle("monde:sales")
    }

    fn cle_en_cours(&self) -> String {
        self.cle("monde:sales:en_cours")
    }

    fn cle_presence(&self, zone: &CodeZone) -> String {
        self.cle(&format!("monde:presence:{}", zone.as_str()))
    }
}
