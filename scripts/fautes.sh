#!/usr/bin/env bash
# The fault harness (tests/src/bin/fautes): `mmo serve` under a steady load of commands with
# known ids, struck in turn by kill -9, a PostgreSQL restart, a NATS restart and a Redis flush;
# after each, every acknowledged command must be in the store exactly once, every read model
# equal to a rebuild, the economy conserved. It stops and restarts the machine's PostgreSQL
# and NATS: run it alone. Arguments go to the harness (`scripts/fautes.sh --help`).
# PROFIL=release for the release build (default: the debug build the tests already made).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
command -v redis-cli >/dev/null || { echo "fautes.sh: redis-cli manque (paquet redis-tools)" >&2; exit 1; }
profil="${PROFIL:-debug}"
options=(--locked -p gateway --bin mmo -p mmo-tests --bin fautes)
[ "$profil" = "release" ] && options+=(--release)
cargo build "${options[@]}"
exec "${CARGO_TARGET_DIR:-target}/$profil/fautes" "$@"
