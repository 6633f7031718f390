//! The one door of the system: accounts and sessions (REST), the game's JSON-RPC 2.0 over
//! HTTP and WebSocket with pushes, health, metrics and OpenAPI; and the tools of the `mmo`
//! binary.
//!
//! - [`config`]: every setting, from flags and the environment;
//! - [`serveur`]: starting and stopping the backend in one process, and its routes;
//! - [`auth`]: passwords, tokens, rate limits; [`rest`]: the REST part and its OpenAPI;
//! - [`rpc`]: the dispatcher and one module per service; [`ws`]: the WebSocket sessions;
//! - [`diffusion`]: pushes and catch-up; [`voisinage`]: moves and chat messages fanned out
//!   to every instance over NATS; [`metriques`], [`sante`]: `/metrics`, `/readyz`;
//! - [`telemetrie`]: logs; [`outils`]: migrate, rebuild, catalog, balance.

pub mod auth;
pub mod config;
pub mod diffusion;
pub mod etat;
pub mod metriques;
pub mod outils;
pub mod rest;
pub mod rpc;
pub mod sante;
pub mod serveur;
pub mod telemetrie;
pub mod voisinage;
pub mod ws;
