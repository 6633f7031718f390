#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run): the services the tests talk to,
# formatting, lints, every test, schemathesis against the OpenAPI document, the JSON-RPC
# contract against the OpenRPC document (scripts/contrat.sh), the fault harness, the restore
# drill (scripts/exercice_restauration.sh), then the web client in browsers (game, console).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services (PostgreSQL, Redis, NATS)"
scripts/services.sh
# Each database test creates its own database in this cluster (`#[sqlx::test]`).
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== Debian's prometheus: promtool for the /metrics lint of tests/tests/sessions.rs, prometheus and promtool for tests/tests/observabilite.rs"
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version | head -n1
prometheus --version | head -n1

echo "== cargo test"
cargo test --workspace --locked

echo "== schemathesis against the OpenAPI document of a real mmo serve"
scripts/schemathesis.sh

echo "== the JSON-RPC contract: the OpenRPC document validated, then every method against it"
scripts/contrat.sh

echo "== faults under load: kill -9, PostgreSQL and NATS restarts, Redis flush (scripts/fautes.sh)"
scripts/fautes.sh

echo "== the restore drill: base backup and WAL archive restored to a point in time (scripts/exercice_restauration.sh)"
scripts/exercice_restauration.sh

echo "== the shipped catalog validates through the binary"
cargo run --quiet --locked -p gateway --bin mmo -- catalogue

echo "== the web client: build, then browsers play the game and the console against fresh servers"
scripts/client.sh test
