//! The write side (DESIGN §3): the PostgreSQL event store, command execution with metadata,
//! bounded retries and idempotency by command id, the application services that check what
//! needs data from elsewhere before sending a command, and the reader of the global order.
//!
//! - [`magasin`]: the store on postgres-es's table, the aggregates each process holds, and
//!   [`Magasin::executer`];
//! - [`metadonnees`]: who, why and when, on every event;
//! - [`lecteur`]: every event in a global order tailing readers can trust, and one aggregate's
//!   stream;
//! - [`suivi`]: leading a reader alone and waking it when events are written;
//! - [`services`]: one application service per game service (joueur, combat, quete, economie,
//!   monde, chat);
//! - [`bus`]: the event bus on NATS JetStream, its relay and the process managers;
//! - [`erreurs`]: the one error type the gateway maps to its protocol.

pub mod bus;
pub mod erreurs;
pub mod lecteur;
pub mod magasin;
pub mod metadonnees;
pub mod services;
pub mod suivi;

pub use erreurs::{ErreurApplication, Refus};
pub use magasin::{MIGRATIONS, Magasin};
pub use metadonnees::Metadonnees;
