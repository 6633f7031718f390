//! End-to-end tests through the gateway, against the real PostgreSQL, Redis and NATS: each test
//! starts the whole server on port 0 with a fresh database and plays as a client would, over
//! HTTP and WebSocket. The helpers to do so will live here, the tests in `tests/tests/`.
//!
//! Empty until the gateway issue; each crate's own suites live beside it (`domain/`,
//! `commands/tests/`, `projections/tests/`, `gateway/tests/`).
