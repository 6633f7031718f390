//! The read side's queries: every `SELECT` on the read models (`lecture.*`) that answers a
//! reader, one module per read model; and the game master's console (`console`), which reads
//! the store and the accounts beside them. The tables are this crate's (the projections write them,
//! a rebuild swaps them), so their reads live beside their writes: the gateway calls one
//! function and maps its typed rows, and the Redis caches ([`crate::cache`]) fall back on the
//! same functions.
//!
//! Each row struct derives `Serialize` with the field names and order of the protocol's
//! answers: the gateway sends it as it comes.

pub mod combats;
pub mod console;
pub mod economie;
pub mod inventaires;
pub mod joueurs;
pub mod quetes;
