#!/usr/bin/env bash
# The README's run command. The server (`mmo serve`: gateway and workers) arrives with the
# gateway issue; until then this checks the catalog and prints the balance table, which is
# everything the backend can do without its services.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p gateway --bin mmo
./target/release/mmo catalogue
./target/release/mmo simuler --graines "${GRAINES:-1000}"
