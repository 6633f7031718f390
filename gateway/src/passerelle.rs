//! The gateway as every handler shares it: connections to the three engines, the write side
//! and the services without an aggregate (Monde, Chat), the auth machinery, this instance's
//! sockets and the metrics.

use std::sync::Arc;

use axum::http::HeaderValue;
use commands::Depot;
use commands::bus::Bus;
use commands::services::chat::Chat;
use commands::services::moderation::Moderation;
use commands::services::monde::Monde;
use domain::ids::CompteId;
use projections::cache::Cache;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::auth::Jetons;
use crate::auth::limites::{LimiteConnexions, Limiteur};
use crate::auth::mots_de_passe::Hacheur;
use crate::diffusion::{Deplacements, Presences};
use crate::metriques::Metriques;
use crate::moderation::Revocations;
use crate::sockets::Sockets;

/// Shared by every request (behind an `Arc`).
pub struct Passerelle {
    /// The game database (accounts, store, read models).
    pub pool: PgPool,
    /// The write side.
    pub depot: Arc<Depot>,
    /// Service Monde: positions, presence, portals.
    pub monde: Monde,
    /// Service Chat: channels, history, mutes.
    pub chat: Chat,
    /// Service Modération: bans, kicks, game masters' corrections, reports.
    pub moderation: Moderation,
    /// The bans in force, checked on every call ([`crate::moderation`]).
    pub revocations: Arc<Revocations>,
    /// This instance's characters by zone, for the fanned-out pushes.
    pub presences: Arc<Presences>,
    /// The moves of the current tick, published batched by zone.
    pub deplacements: Arc<Deplacements>,
    /// The read-through caches.
    pub cache: Cache,
    /// Redis, for what is not a cache (rate limits).
    pub redis: ConnectionManager,
    /// The event bus (NATS JetStream) and the plain subjects of the fan-out.
    pub bus: Bus,
    /// Access tokens.
    pub jetons: Jetons,
    /// How long refresh tokens live.
    pub duree_rafraichissement: std::time::Duration,
    /// How long a trade between players stays open before it expires.
    pub duree_echange: std::time::Duration,
    /// Password hashing.
    pub hacheur: Hacheur,
    /// Login attempts.
    pub limite_connexions: LimiteConnexions,
    /// JSON-RPC calls per account.
    pub limite_appels: Limiteur<CompteId>,
    /// Origins allowed to open a WebSocket from a browser.
    pub origines: Vec<HeaderValue>,
    /// This instance's sockets, where every push ends.
    pub sockets: Arc<Sockets>,
    /// `/metrics`.
    pub metriques: Arc<Metriques>,
    /// Turns `true` when the process stops: sockets close with 1001.
    pub arret: tokio::sync::watch::Receiver<bool>,
}
