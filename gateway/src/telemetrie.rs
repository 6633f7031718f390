//! Logs for every `mmo` process: `tracing` filtered by `RUST_LOG` (default `info`), as text
//! for a terminal or as one JSON object per line for a log pipeline (`MMO_LOGS_JSON=1`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Calling it twice (tests) keeps the first.
pub fn initialiser(json: bool) {
    let filtre = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn"));
    let base = tracing_subscriber::fmt()
        .with_env_filter(filtre)
        .with_writer(std::io::stderr);
    let resultat = if json {
        base.json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        base.try_init()
    };
    // Already installed: a test harness or an earlier call owns it.
    drop(resultat);
}
