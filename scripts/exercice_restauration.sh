#!/usr/bin/env bash
# The restore drill: the backups of scripts/sauvegarde.sh restore the game to a point in time
# (doc/exploitation.md §4). On two throwaway PostgreSQL 15 clusters of its own (Debian's
# binaries, run as the server's user; ports PORT_PRIMAIRE=55432 and PORT_RESTAURE=55433),
# never the machine's, under /tmp (the server's user may not reach the build directory): a
# primary that archives its WAL (`sauvegarde.sh configurer`), where
# `fautes restauration` (tests/src/bin/fautes/restauration.rs) runs `mmo serve` under load,
# takes a base backup, picks a moment T, loads on, then restores the archive to T into the
# second cluster (scripts/restauration.sh), starts `mmo` on it and checks what T holds.
# Both clusters, the archive, the Redis keys and the NATS streams are removed at exit, even on
# failure; the logs stay in <target>/exercice_restauration/. Arguments go to `fautes` (before
# its subcommand: `--joueurs`, `--debit`, `--duree`). PROFIL=release for the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
NOM=exercice_restauration.sh
# shellcheck source=scripts/lib/postgres.sh
. scripts/lib/postgres.sh

PORT_PRIMAIRE="${PORT_PRIMAIRE:-55432}"
PORT_RESTAURE="${PORT_RESTAURE:-55433}"
CIBLE="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
BANC="$CIBLE/exercice_restauration"
CLUSTERS=""
ESPACE="restauration_$(date +%s)_$$"

scripts/services.sh >/dev/null
command -v redis-cli >/dev/null || { echo "$NOM : redis-cli manque (paquet redis-tools)" >&2; exit 1; }
profil="${PROFIL:-debug}"
options=(--locked -p gateway --bin mmo -p mmo-tests --bin fautes)
[ "$profil" = "release" ] && options+=(--release)
cargo build --quiet "${options[@]}"

ecoute() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops the clusters under a drill's directory, and removes it.
effacer_les_clusters() {
  local d
  for d in "$1"/*/; do
    if [ -f "$d/postmaster.pid" ]; then
      en_serveur "$PG_BIN/pg_ctl" -D "$d" -s stop -m immediate || true
    fi
  done
  rm -rf "$1"
}

nettoyer() {
  if [ -n "$CLUSTERS" ]; then
    cp "$CLUSTERS/primaire.log" "$BANC/postgres-primaire.log" 2>/dev/null || true
    cp "$CLUSTERS/restaure/restauration.log" "$BANC/postgres-restaure.log" 2>/dev/null || true
    effacer_les_clusters "$CLUSTERS"
  fi
  redis-cli -n 7 --scan --pattern "${ESPACE}_*" 2>/dev/null |
    xargs -r redis-cli -n 7 DEL >/dev/null 2>&1 || true
  # The JetStream streams, if the drill could not delete them itself.
  python3 - "${ESPACE}_primaire_EVENEMENTS" "${ESPACE}_restaure_EVENEMENTS" <<'PY' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", 4222), timeout=5)
s.recv(4096)
s.sendall(b"CONNECT {}\r\n" + b"".join(
    f"PUB $JS.API.STREAM.DELETE.{flux} 0\r\n\r\n".encode() for flux in sys.argv[1:]) + b"PING\r\n")
lu = b""
while b"PONG" not in lu:
    lu += s.recv(4096)
PY
}

# What a killed earlier run left, unless a cluster still runs there: another drill may be under
# way (the port check below then stops this one).
for ancien in /tmp/exercice_restauration.*/; do
  [ -d "$ancien" ] || continue
  vivant=""
  for d in "$ancien"*/; do
    if [ -f "$d/postmaster.pid" ] && en_serveur "$PG_BIN/pg_ctl" -D "$d" status >/dev/null 2>&1; then
      vivant=1
    fi
  done
  [ -n "$vivant" ] || rm -rf "$ancien"
done
mkdir -p "$BANC"
rm -f "$BANC"/*.log
for port in "$PORT_PRIMAIRE" "$PORT_RESTAURE"; do
  if ecoute "$port"; then
    echo "$NOM : le port $port est déjà pris (PORT_PRIMAIRE, PORT_RESTAURE) ; un exercice en cours ?" \
      "$(ls -d /tmp/exercice_restauration.* 2>/dev/null | tr '\n' ' ')" >&2
    exit 1
  fi
done
trap nettoyer EXIT
trap 'exit 130' INT TERM
CLUSTERS=$(mktemp -d /tmp/exercice_restauration.XXXXXX)
chmod 755 "$CLUSTERS"
au_serveur "$CLUSTERS"

t0=$(date +%s%N)
en_serveur "$PG_BIN/initdb" -D "$CLUSTERS/primaire" -U postgres -A trust -E UTF8 \
  --locale=C.UTF-8 --no-sync >/dev/null
cat >>"$CLUSTERS/primaire/postgresql.conf" <<EOF
port = $PORT_PRIMAIRE
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTERS'
lc_messages = 'C'
EOF
en_serveur "$PG_BIN/pg_ctl" -D "$CLUSTERS/primaire" -l "$CLUSTERS/primaire.log" -s -w start
scripts/sauvegarde.sh configurer "postgres://postgres@127.0.0.1:$PORT_PRIMAIRE/postgres" "$CLUSTERS/archive"
en_serveur "$PG_BIN/pg_ctl" -D "$CLUSTERS/primaire" -l "$CLUSTERS/primaire.log" -s -w restart
echo "$NOM : cluster primaire prêt sur $PORT_PRIMAIRE, archivage des WAL compris, en $(secondes_depuis "$t0") s"

"$CIBLE/$profil/fautes" "$@" restauration \
  --primaire "postgres://postgres@127.0.0.1:$PORT_PRIMAIRE" \
  --restaure "postgres://postgres@127.0.0.1:$PORT_RESTAURE" \
  --archive "$CLUSTERS/archive" \
  --donnees "$CLUSTERS/restaure" \
  --espace "$ESPACE" \
  --journaux "$BANC"
