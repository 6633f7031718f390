#!/usr/bin/env bash
# The README's run command: starts the services if they are down (installing what is missing),
# builds the web client (scripts/client.sh build) and the release binary, then runs the whole
# backend in one process (`mmo serve`: gateway on http://127.0.0.1:8080 serving the game at /,
# projection workers, pushes). It creates and migrates the game database itself. Ctrl-C stops
# it. Settings come from the environment (`mmo serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
scripts/client.sh build
# The client is served at / ; its WebSocket comes from the page's own origin.
export MMO_CLIENT="${MMO_CLIENT:-$PWD/client/dist/client/browser}"
adresse="${MMO_ADRESSE:-127.0.0.1:8080}"
export MMO_ORIGINES="${MMO_ORIGINES:-http://$adresse,http://localhost:${adresse##*:}}"
cargo build --release --locked -p gateway --bin mmo
./target/release/mmo catalogue
exec ./target/release/mmo serve "$@"
