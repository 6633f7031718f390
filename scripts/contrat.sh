#!/usr/bin/env bash
# The JSON-RPC half's contract, from outside, on a real `mmo serve` (scripts/lib/serveur_jetable.sh):
# 1. `/api/openrpc.json` validated by the OpenRPC project's own validator (npm
#    @open-rpc/schema-utils-js: the meta-schema, then every $ref resolved);
# 2. scripts/contrat/contrat.py: every method called with params generated from that document,
#    valid (with real ids) and invalid, every answer and every notification checked against it;
# 3. `/metrics` in both formats through outside linters: `promtool check metrics` (Debian's
#    prometheus) for the classic text, the OpenMetrics parser of PyPI's prometheus-client for
#    OpenMetrics.
# Installs what it needs (npm packages and a Python venv under the build directory, promtool
# from Debian) and exits non-zero on any failure. `scripts/test.sh` runs it after `cargo test`.
#
# MMO_CONTRAT_EXEMPLES: valid (and as many invalid) calls per method (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."

CIBLE="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
OUTILS="$CIBLE/openrpc-outils"
VENV="$CIBLE/venv-contrat"

if [ ! -f "$OUTILS/node_modules/@open-rpc/schema-utils-js/package.json" ]; then
  echo "contrat.sh: installation de @open-rpc/schema-utils-js dans $OUTILS"
  mkdir -p "$OUTILS"
  (cd "$OUTILS" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --silent @open-rpc/schema-utils-js@2.2.1)
fi
if ! "$VENV/bin/python" -c 'import jsonschema, prometheus_client, websockets' 2>/dev/null; then
  echo "contrat.sh: installation de jsonschema, prometheus-client et websockets dans $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "jsonschema==4.25.1" "prometheus-client==0.23.1" "websockets==15.0.1"
fi
if ! command -v promtool >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

scripts/services.sh >/dev/null
cargo build --quiet --locked -p gateway --bin mmo

NOM=contrat
# shellcheck source=scripts/lib/serveur_jetable.sh
. scripts/lib/serveur_jetable.sh
# One account makes every call: the per-account rate limit is not what is tested here.
demarrer_serveur MMO_APPELS_PAR_SECONDE=100000 MMO_CONNEXIONS_PAR_MINUTE=1000 MMO_HACHAGES_SIMULTANES=2
echo "contrat.sh: mmo serve sur $URL (base $ESPACE)"

echo "contrat.sh: 1. le document OpenRPC"
curl -sf "$URL/api/openrpc.json" -o "$CIBLE/openrpc.json"
NODE_PATH="$OUTILS/node_modules" node scripts/contrat/valider_openrpc.cjs "$CIBLE/openrpc.json"

echo "contrat.sh: 2. chaque méthode contre son schéma"
"$VENV/bin/python" scripts/contrat/contrat.py "$URL" "$CIBLE/debug/mmo" "$BASE/$ESPACE"

echo "contrat.sh: 3. /metrics dans ses deux formats"
curl -sf -H 'Accept: text/plain; version=0.0.4' "$URL/metrics" | promtool check metrics
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' "$URL/metrics" |
  "$VENV/bin/python" -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
familles = list(text_string_to_metric_families(sys.stdin.read()))
print(f"OpenMetrics : {len(familles)} familles lues sans erreur")'
echo "contrat.sh: tout est conforme"
