# A throwaway `mmo serve` for the scripts that test a real server from outside
# (schemathesis.sh, contrat.sh): the debug binary on a database, a Redis prefix and a bus
# prefix of its own (`$ESPACE`), on a free port; `demarrer_serveur` sets `$URL`, and everything
# (process, database, Redis keys, JetStream stream) is removed at exit. Sourced, not run; the
# caller sets `$CIBLE` (the build directory) and `$NOM` (its name, for messages and `$ESPACE`)
# and may pass extra settings to `demarrer_serveur` as VAR=value words.

ESPACE="${NOM}_$(date +%s)_$$"
BASE="postgres://postgres@127.0.0.1:5432"
JOURNAL="$CIBLE/$NOM-serveur.log"
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

demarrer_serveur() {
  env MMO_DATABASE_URL="$BASE/$ESPACE" MMO_PREFIXE_REDIS="$ESPACE:" MMO_PREFIXE_BUS="${ESPACE}_" \
    MMO_ADRESSE=127.0.0.1:0 RUST_LOG="${RUST_LOG:-warn}" "$@" \
    "$CIBLE/debug/mmo" serve >"$JOURNAL.stdout" 2>"$JOURNAL" &
  SERVEUR=$!
  URL=""
  for _ in $(seq 1 120); do
    URL=$(grep -o 'http://[0-9.]*:[0-9]*' "$JOURNAL.stdout" 2>/dev/null | head -n1 || true)
    [ -n "$URL" ] && break
    kill -0 "$SERVEUR" 2>/dev/null || { cat "$JOURNAL" >&2; echo "$NOM : le serveur n'a pas démarré" >&2; exit 1; }
    sleep 0.5
  done
  [ -n "$URL" ] || { cat "$JOURNAL" >&2; echo "$NOM : pas d'adresse après 60 s" >&2; exit 1; }
}
