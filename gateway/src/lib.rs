//! The gateway: the one door of the system. It will hold accounts and authentication, JSON-RPC
//! over WebSocket and HTTP, pushes, OpenAPI and metrics (DESIGN §7), and composes the command
//! and projection sides into the `mmo` binary.
//!
//! Today it holds the `mmo` binary's operator tools (see `src/main.rs`): `migrate`,
//! `projections rebuild|status`, catalog validation and the balance simulation.

pub mod outils;
