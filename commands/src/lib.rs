//! The write side (DESIGN §3, §6): one module per service (joueur, combat, monde, quete,
//! economie, chat) turning requests into commands on the `domain` aggregates, the PostgreSQL
//! event store wiring (postgres-es, plain event store, metadata on every event), bounded retry
//! on optimistic-concurrency conflicts, idempotency by command id, the process managers (sagas)
//! and the relay to NATS JetStream.
//!
//! Empty until the event-store issue: the domain it will drive is complete and tested.
