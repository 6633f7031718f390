//! The read side (doc/projections.md): named projections tail the event store's global order into
//! PostgreSQL read models, and can be rebuilt from position zero.
//!
//! - [`Projection`]: the five projections and the tables each owns;
//! - [`travailleur`]: the worker — one active instance per projection (advisory lock), each
//!   batch and its checkpoint in one transaction, woken by the store's notify, lag exposed;
//! - [`reconstruction`]: replay into shadow tables, then swap them in atomically;
//! - [`requetes`]: what readers ask of the read models (profiles, an account's characters,
//!   the leaderboard, inventories, a combat's summary and audit trail, the ledger and its
//!   totals, a quest log), as typed rows: the gateway runs no SQL on them;
//! - [`coherence`]: read-your-writes, waiting (bounded) until projections have passed a place
//!   in the global order;
//! - [`cache`]: Redis caches of profiles, inventories and combats, written after each commit
//!   and guarded by version, with read-through reads;
//! - `modeles`: what each projection writes.

pub mod cache;
pub mod coherence;
mod modeles;
pub mod reconstruction;
pub mod requetes;
pub mod travailleur;
pub mod verification;

use cqrs_es::Aggregate as _;
use domain::combat::Combat;
use domain::inventaire::Inventaire;
use domain::joueur::Joueur;
use domain::quete::Quete;
use magasin::lecteur::EvenementStocke;
use sqlx::PgConnection;
use uuid::Uuid;

pub use modeles::economie::{OR, nom_de_cause};

/// The schema the live read models are in.
pub const SCHEMA: &str = "lecture";

/// A named projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Character profiles and the leaderboard.
    Joueurs,
    /// Gold and item counts.
    Inventaires,
    /// Quest logs.
    Quetes,
    /// Combat summaries and audit trails.
    Combats,
    /// The economy ledger and its totals.
    Economie,
}

impl Projection {
    /// Every projection.
    pub const TOUTES: [Self; 5] = [
        Self::Joueurs,
        Self::Inventaires,
        Self::Quetes,
        Self::Combats,
        Self::Economie,
    ];

    /// The name the CLI and the checkpoints use.
    pub const fn nom(self) -> &'static str {
        match self {
            Self::Joueurs => "joueurs",
            Self::Inventaires => "inventaires",
            Self::Quetes => "quetes",
            Self::Combats => "combats",
            Self::Economie => "economie",
        }
    }

    /// The projection with this name.
    pub fn depuis_nom(nom: &str) -> Option<Self> {
        Self::TOUTES.into_iter().find(|p| p.nom() == nom)
    }

    /// The tables it owns, in the read-model schema.
    pub const fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Joueurs => &["joueurs"],
            Self::Inventaires => &["inventaires", "inventaire_items"],
            Self::Quetes => &["journal_quetes"],
            Self::Combats => &["combats", "combats_historique"],
            Self::Economie => &["grand_livre", "economie_totaux"],
        }
    }

    /// The aggregate types whose events it folds (it reads no other payload).
    pub const fn types_agregats(self) -> &'static [&'static str] {
        match self {
            Self::Joueurs => &[Joueur::TYPE],
            Self::Inventaires | Self::Economie => &[Inventaire::TYPE],
            Self::Quetes => &[Quete::TYPE],
            Self::Combats => &[Combat::TYPE],
        }
    }

    /// The key of its leadership lock (`pg_try_advisory_lock`).
    const fn cle_verrou(self) -> i64 {
        // "MMOP" followed by the projection's rank: stable, and apart from other users' keys.
        0x4D4D_4F50_0000_0000
            + match self {
                Self::Joueurs => 1,
                Self::Inventaires => 2,
                Self::Quetes => 3,
                Self::Combats => 4,
                Self::Economie => 5,
            }
    }

    /// Folds a batch of events into the projection's tables (those `search_path` points at).
    async fn appliquer(
        self,
        c: &mut PgConnection,
        lot: &[EvenementStocke],
    ) -> Result<(), ErreurProjection> {
        match self {
            Self::Joueurs => modeles::joueurs::appliquer(c, lot).await,
            Self::Inventaires => modeles::inventaires::appliquer(c, lot).await,
            Self::Quetes => modeles::quetes::appliquer(c, lot).await,
            Self::Combats => modeles::combats::appliquer(c, lot).await,
            Self::Economie => modeles::economie::appliquer(c, lot).await,
        }
    }
}

/// Why a projection could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ErreurProjection {
    /// PostgreSQL failed; the batch was rolled back and will be retried.
    #[error("base de données : {0}")]
    Base(#[from] sqlx::Error),
    /// An event the projection cannot read (a version or a shape the code does not know).
    #[error("événement {event_id} illisible : {source}")]
    Evenement {
        /// The event.
        event_id: Uuid,
        /// Why.
        source: domain::versions::Illisible,
    },
    /// A read-model row that does not fit its struct (a column changed without its module).
    #[error("ligne de {table} illisible : {source}")]
    Ligne {
        /// The table.
        table: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// An aggregate id of the wrong shape.
    #[error("événement {event_id} : identifiant d'agrégat inattendu « {aggregate_id} »")]
    Identifiant {
        /// The event.
        event_id: Uuid,
        /// The id found.
        aggregate_id: String,
    },
    /// A projection name nobody knows (CLI).
    #[error("projection inconnue « {0} » : joueurs, inventaires, quetes, combats, economie ou all")]
    Inconnue(String),
}
