//! The one door of the system: accounts and sessions (REST), the game's JSON-RPC 2.0 over
//! HTTP and WebSocket with pushes, health, metrics and OpenAPI; and the tools of the `mmo`
//! binary.
//!
//! - [`config`]: every setting, from flags and the environment;
//! - [`serveur`]: starting and stopping the backend in one process, and its routes;
//!   [`primaire`]: the PostgreSQL pool, following the primary across a failover;
//!   [`passerelle`]: the state every handler shares;
//! - [`auth`]: passwords, tokens, rate limits; [`rest`]: accounts and sessions;
//!   [`openapi`]: their OpenAPI document;
//! - [`protocole`]: the JSON-RPC wire format (envelope, events, cursor, errors);
//!   [`rpc`]: the dispatcher and one module per service; [`ws`]: the WebSocket sessions;
//! - [`sockets`]: this instance's sockets, where every push ends; [`fil`]: the store's
//!   events pushed to the accounts they concern; [`diffusion`]: moves and chat messages
//!   fanned out to every instance over NATS; [`moderation`]: bans and kicks enforced on every
//!   instance;
//! - [`metriques`], [`sante`]: `/metrics`, `/healthz`, `/readyz`;
//! - [`indisponibilite`]: an engine's outage told from a fault of ours (`INDISPONIBLE`);
//! - [`telemetrie`]: logs; [`outils`]: migrate, rebuild, catalog, balance.

pub mod auth;
pub mod config;
pub mod diffusion;
pub mod fil;
pub mod indisponibilite;
pub mod metriques;
pub mod moderation;
pub mod openapi;
pub mod outils;
pub mod passerelle;
pub mod primaire;
pub mod protocole;
pub mod rest;
pub mod rpc;
pub mod sante;
pub mod serveur;
pub mod sockets;
pub mod telemetrie;
pub mod ws;
