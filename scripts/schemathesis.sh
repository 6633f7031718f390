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

NOM=schemathesis
# shellcheck source=scripts/lib/serveur_jetable.sh
. scripts/lib/serveur_jetable.sh
RAPPORT="$CIBLE/schemathesis-rapport"

# Login attempts are limited per minute and per IP: schemathesis makes thousands, all from
# 127.0.0.1. The limit has its own end-to-end test (tests/tests/sessions.rs).
demarrer_serveur MMO_CONNEXIONS_PAR_MINUTE=1000000 MMO_HACHAGES_SIMULTANES=2
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
