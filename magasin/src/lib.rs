//! The event store, below both sides: what the write side (`commands`) and the read side
//! (`projections`, the bus relay, the gateway's pushes) share about the log, and nothing of
//! how either side uses it (doc/magasin.md).
//!
//! - [`MIGRATIONS`]: the database's schema, the `events` table first;
//! - [`metadonnees`]: who, why and when, on every event;
//! - [`lecteur`]: every event in a global order tailing readers can trust, and one aggregate's
//!   stream, each at its type's current version;
//! - [`relecture`]: every stored event read again with the current code, the guard of
//!   `mmo evenements verifier`;
//! - [`suivi`]: what a reader that follows the store needs besides reading: waking it when
//!   events are written, and leading it alone among instances;
//! - [`partage`]: one tail of the log per process, whose batches every reader of the process
//!   takes from memory.
//!
//! Writing is the write side's: `commands::Depot` decides commands on the aggregates it holds
//! and inserts their events.

pub mod lecteur;
pub mod metadonnees;
pub mod partage;
pub mod relecture;
pub mod suivi;

pub use metadonnees::Metadonnees;

/// The migrations of the whole backend (`migrations/`): the store, accounts, read models,
/// positions. Every process that opens the game database runs them first.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
