#!/usr/bin/env bash
# The web client (client/, Angular), in two subcommands:
#   scripts/client.sh build   install its Node dependencies when missing or stale (npm ci), then
#                             build it into client/dist/client/browser (what `mmo serve` serves
#                             at / with MMO_CLIENT)
#   scripts/client.sh test    make sure Debian's chromium is installed, build the client and the
#                             `mmo` binary, then run the browser end-to-end tests, each on its own
#                             server and fresh database (client/e2e/jeu.e2e.mjs: the game in two
#                             browsers; client/e2e/console.e2e.mjs: the game master's console);
#                             MMO_BIN=<path> uses that `mmo` binary instead of building one
# Needs Node.js 20.19 or later with npm; nothing else is downloaded but npm packages and, for
# `test`, Debian's chromium package.
set -euo pipefail
cd "$(dirname "$0")/.."

verifier_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "client : Node.js (20.19 ou plus) et npm sont nécessaires" >&2
    exit 1
  fi
  node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    if (a < 20 || (a === 20 && b < 19)) { console.error(`client : Node ${process.versions.node} trop ancien (Angular 21 demande 20.19 ou plus)`); process.exit(1); }'
}

construire() {
  verifier_node
  # npm ci leaves node_modules/.package-lock.json behind: older than the lock file means stale.
  if [ ! -f client/node_modules/.package-lock.json ] ||
    [ client/package-lock.json -nt client/node_modules/.package-lock.json ]; then
    echo "== client : npm ci"
    (cd client && npm ci --no-audit --no-fund)
  fi
  echo "== client : ng build"
  (cd client && npm run --silent build)
}

installer_chromium() {
  if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then return; fi
  echo "== client : installation de chromium (paquet Debian)"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

tester() {
  installer_chromium
  scripts/services.sh
  construire
  if [ -z "${MMO_BIN:-}" ]; then
    echo "== client : cargo build (mmo)"
    cargo build --quiet --locked -p gateway --bin mmo
    MMO_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/mmo"
  fi
  echo "== client : test de bout en bout (le jeu, deux navigateurs)"
  MMO_BIN="$MMO_BIN" node client/e2e/jeu.e2e.mjs
  echo "== client : test de bout en bout (la console du maître du jeu)"
  MMO_BIN="$MMO_BIN" node client/e2e/console.e2e.mjs
}

case "${1:-}" in
  build) construire ;;
  test) tester ;;
  *)
    echo "usage : scripts/client.sh build|test" >&2
    exit 2
    ;;
esac
