#!/usr/bin/env bash
# Schemathesis (from PyPI, pinned) against the REST part's OpenAPI document on a real
# `mmo serve`: every documented operation gets generated valid and invalid bodies, and every
# check runs (no 5xx, documented status codes, content types and response schemas, invalid
# data refused, valid data accepted...). The server runs from the debug binary on a database,
# a Redis prefix and a bus prefix of its own, on a free port; all are removed at the end.
# Exits non-zero on any failure. `scripts/test.sh` runs it after `cargo test`.
#
# MMO_SCHEMATHESIS_EXEMPLES: examples per operation (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
CIBLE="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
VENV="$CIBLE/venv-schemathesis"
EXEMPLES="${MMO_SCHEMATHESIS_EXEMPLES:-100}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "schemathesis.sh: installation de schemathesis $VERSION dans $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

scripts/services.sh >/dev/null
cargo build --quiet --locked -p gateway --bin mmo

ESPACE="schemathesis_$(date +%s)_$$"
BASE="postgres://postgres@127.0.0.1:5432"
JOURNAL="$CIBLE/schemathesis-serveur.log"
RAPPORT="$CIBLE/schemathesis-rapport"
SERVEUR=""

nettoyer() {
  if [ -n "$SERVEUR" ] && kill -0 "$SERVEUR" 2>/dev/null; then
    kill "$SERVEUR" 2>/dev/null || true
    wait "$SERVEUR" 2>/dev/null || true
  fi
  psql -q "$BASE/postgres" -c "DROP DATABASE IF EXISTS $ESPACE WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "$ESPACE:*" 2>/dev/null |
    xargs -r redis-cli -h 127.0.0.1 DEL >/dev/null 2>&1 || true
  # The JetStream stream the server created (`<prefix>EVENEMENTS`), by the NATS protocol.
  python3 - "${ESPACE}_EVENEMENTS" <<'PY' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", 4222), timeout=5)
s.recv(4096)
s.sendall(f"CONNECT {{}}\r\nPUB $JS.API.STREAM.DELETE.{sys.argv[1]} 0\r\n\r\nPING\r\n".encode())
lu = b""
while b"PONG" not in lu:
    lu += s.recv(4096)
PY
}
trap nettoyer EXIT

# Login attempts are limited per minute and per IP: schemathesis makes thousands, all from
# 127.0.0.1. The limit has its own end-to-end test (tests/tests/sessions.rs).
MMO_DATABASE_URL="$BASE/$ESPACE" MMO_PREFIXE_REDIS="$ESPACE:" MMO_PREFIXE_BUS="${ESPACE}_" \
  MMO_ADRESSE=127.0.0.1:0 MMO_CONNEXIONS_PAR_MINUTE=1000000 MMO_HACHAGES_SIMULTANES=2 \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$CIBLE/debug/mmo" serve >"$JOURNAL.stdout" 2>"$JOURNAL" &
SERVEUR=$!

URL=""
for _ in $(seq 1 120); do
  URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$JOURNAL.stdout" 2>/dev/null | head -n1 || true)
  [ -n "$URL" ] && break
  kill -0 "$SERVEUR" 2>/dev/null || { cat "$JOURNAL" >&2; echo "schemathesis.sh: le serveur n'a pas démarré" >&2; exit 1; }
  sleep 0.5
done
[ -n "$URL" ] || { cat "$JOURNAL" >&2; echo "schemathesis.sh: pas d'adresse après 60 s" >&2; exit 1; }
echo "schemathesis.sh: mmo serve sur $URL (base $ESPACE), $EXEMPLES exemples par opération"

# From the build directory: schemathesis keeps its cache (`.schemathesis/`) where it runs.
cd "$CIBLE"
"$VENV/bin/schemathesis" run "$URL/api/openapi.json" \
  --checks all \
  --max-examples "$EXEMPLES" \
  --seed "${MMO_SCHEMATHESIS_GRAINE:-20261130}" \
  --request-timeout 20 \
  --generation-database none \
  --report junit --report-dir "$RAPPORT" \
  --no-color
