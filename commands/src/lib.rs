//! The write side: command execution with metadata, bounded retries and idempotency by
//! command id on the aggregates each process holds, the application services that check what
//! needs data from elsewhere before sending a command, and the event bus. It writes the event
//! store; the store itself (reading, waking, metadata, migrations) is the `magasin` crate.
//!
//! - [`depot`]: the aggregates each process holds, and [`Depot::executer`], the one way a
//!   command reaches an aggregate and its events reach the store;
//! - [`ecriture_groupee`]: group commit, the commands decided at the same moment written in
//!   one statement;
//! - [`ecrits`]: where a request's writes ended in the global order, for its answer;
//! - [`services`]: one application service per game service (joueur, combat, quete, economie,
//!   monde, chat);
//! - [`bus`]: the event bus on NATS JetStream, its relay and the process managers;
//! - [`instantanes`]: the stored snapshots that spare a cold load the replay of a long stream;
//! - [`erreurs`]: the one error type the gateway maps to its protocol.

pub mod bus;
pub mod depot;
pub mod ecrits;
pub mod ecriture_groupee;
pub mod erreurs;
pub mod instantanes;
pub mod services;

pub use depot::Depot;
pub use erreurs::{ErreurApplication, Refus};
