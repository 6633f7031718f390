//! The read side (DESIGN §5): a runner for named projections tailing the event store's global
//! order (checkpoint and read model updated in one transaction, one active instance per
//! projection), the PostgreSQL read models (profiles, leaderboard, inventories, quest logs,
//! combat audit trail, economy ledger and totals), the Redis caches, and replay/rebuild.
//!
//! Empty until the projections issue.
