#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run): the services the tests talk to,
# formatting, lints, every test, schemathesis against the OpenAPI document.
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

echo "== cargo test"
cargo test --workspace --locked

echo "== schemathesis against the OpenAPI document of a real mmo serve"
scripts/schemathesis.sh

echo "== the shipped catalog validates through the binary"
cargo run --quiet --locked -p gateway --bin mmo -- catalogue
