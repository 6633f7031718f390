//! The event bus on NATS JetStream (doc/bus.md): one stream holds every committed event, under
//! `evenements.<Aggregate>.<EventType>`; the relay fills it from the store, the process
//! managers consume it. Plain NATS subjects beside it carry what is not an event of the store
//! (moves and chat messages fanned out to every gateway instance).
//!
//! Every name takes the bus's prefix, so that several games (or test servers) share one NATS.

pub mod reactions;
pub mod relais;

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// How long JetStream remembers a message id to drop its duplicates: longer than any relay
/// restart (a relay republishes at most the batch it had not checkpointed).
pub const FENETRE_DEDUPLICATION: Duration = Duration::from_mins(10);

/// How long the stream keeps an event. The store is the source of truth and the relay can
/// always refill the bus from it: the stream only has to outlive a consumer's downtime.
pub const RETENTION: Duration = Duration::from_hours(7 * 24);

/// A handle on the bus: the NATS connection, its JetStream context and the names' prefix.
#[derive(Clone, Debug)]
pub struct Bus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    prefixe: String,
    repliques: usize,
}

impl Bus {
    /// The bus on a NATS connection; `prefixe` (letters, digits, `_`) goes before every name.
    pub fn new(client: async_nats::Client, prefixe: &str) -> Self {
        Self {
            jetstream: jetstream::new(client.clone()),
            client,
            prefixe: prefixe.to_owned(),
            repliques: 1,
        }
    }

    /// The same bus, whose stream is created with `repliques` replicas (a NATS cluster of
    /// three keeps every message on three nodes and survives the loss of one). An existing
    /// stream keeps its own.
    #[must_use]
    pub fn avec_repliques(mut self, repliques: usize) -> Self {
        self.repliques = repliques.max(1);
        self
    }

    /// The NATS connection (plain subjects).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// The stream of events.
    pub fn nom_flux(&self) -> String {
        format!("{}EVENEMENTS", self.prefixe)
    }

    /// Where an event is published: `evenements.<Aggregate>.<EventType>`.
    pub fn sujet_evenement(&self, agregat: &str, genre: &str) -> String {
        format!("{}evenements.{agregat}.{genre}", self.prefixe)
    }

    /// A plain subject of this bus (`diffusion.monde.plaine_verte`...).
    pub fn sujet(&self, suffixe: &str) -> String {
        format!("{}{suffixe}", self.prefixe)
    }

    /// The stream of events, created if missing: file storage (a NATS restart keeps it), a
    /// deduplication window on `Nats-Msg-Id`, a bounded retention, the bus's replicas.
    pub async fn flux(&self) -> Result<stream::Stream, async_nats::Error> {
        let config = stream::Config {
            name: self.nom_flux(),
            subjects: vec![self.sujet_evenement("*", "*")],
            storage: stream::StorageType::File,
            duplicate_window: FENETRE_DEDUPLICATION,
            max_age: RETENTION,
            num_replicas: self.repliques,
            ..Default::default()
        };
        Ok(self.jetstream.get_or_create_stream(config).await?)
    }

    /// Deletes the stream (and its consumers): for test servers that leave nothing behind.
    pub async fn supprimer_flux(&self) -> Result<(), async_nats::Error> {
        match self.jetstream.delete_stream(self.nom_flux()).await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(e.kind(), jetstream::context::DeleteStreamErrorKind::JetStream(j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
