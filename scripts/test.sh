#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run): formatting, lints, every test.
# Later issues add here what the tests need (PostgreSQL, Redis, NATS started if down).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== the shipped catalog validates through the binary"
cargo run --quiet --locked -p gateway --bin mmo -- catalogue
