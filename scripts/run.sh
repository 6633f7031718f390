#!/usr/bin/env bash
# The README's run command. The server (`mmo serve`: gateway and workers) arrives with the
# gateway issue; until then this starts the services, migrates the database, checks the catalog
# and prints the balance table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo build --release --locked -p gateway --bin mmo
./target/release/mmo migrate
./target/release/mmo catalogue
./target/release/mmo simuler --graines "${GRAINES:-1000}"
