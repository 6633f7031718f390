#!/usr/bin/env bash
# A cluster of the whole backend on this one machine, with real processes on ports of its own
# (never the machine's 5432, 6379 and 4222, which every session shares), its state under
# <target>/grappe (GRAPPE_DOSSIER), its logs under <target>/grappe/journaux:
#   - PostgreSQL 15 (Debian's binaries, run as the server's user): a primary and a streaming
#     standby (nodes a and b, ports 56432 and 56433), a physical replication slot, the standby
#     named in the primary's synchronous_standby_names with synchronous_commit = on: a commit is
#     acknowledged once it is on both disks;
#   - NATS: three nodes in one cluster with JetStream (client ports 56422-56424, routes
#     56522-56524, monitoring 58222-58224), the game's stream with 3 replicas;
#   - Redis: one redis-server of its own (56379), nothing kept on disk, as on the machine
#     (no replica, no Sentinel: doc/fiabilite.md §6 says why);
#   - INSTANCES (3) `mmo serve` on 56081..., each with the two PostgreSQL servers
#     (target_session_attrs=read-write), the three NATS nodes and the Redis.
#
#   scripts/grappe.sh up            start everything (a fresh cluster), wait until it serves
#   scripts/grappe.sh down          stop everything it started, remove its data (logs stay)
#   scripts/grappe.sh status        what runs, who is primary, replication, NATS, instances
#   scripts/grappe.sh env           the settings of a client of the cluster (sourceable)
#   scripts/grappe.sh mmo ARGS...   the mmo binary on the cluster (`mmo projections status`...)
#   scripts/grappe.sh fautes ARGS   the fault harness against the cluster (tests/src/bin/fautes,
#                                   `fautes grappe`): failovers under load; up first if needed
# and the strikes the harness uses (an operator may too):
#   scripts/grappe.sh basculer      kill -9 the PostgreSQL primary, promote the standby
#   scripts/grappe.sh degrader      the standby lost: let the primary commit alone
#   scripts/grappe.sh rattacher     rebuild the lost node as the new primary's synchronous standby
#   scripts/grappe.sh tuer X        kill -9 X: mmo-N, nats-N, redis, reserve (the standby)
#   scripts/grappe.sh lancer X      start X again: mmo-N, nats-N, redis (empty)
# PROFIL=release for the release build of mmo and fautes (default: debug).
set -euo pipefail
cd "$(dirname "$0")/.."
NOM=grappe.sh
# shellcheck source=scripts/lib/postgres.sh
. scripts/lib/postgres.sh

CIBLE="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
DOSSIER="${GRAPPE_DOSSIER:-$CIBLE/grappe}"
JOURNAUX="$DOSSIER/journaux"
PROFIL="${PROFIL:-debug}"
INSTANCES="${INSTANCES:-3}"
MMO="$CIBLE/$PROFIL/mmo"

PORT_PG_a=56432
PORT_PG_b=56433
PORTS_NATS=(56422 56423 56424)
ROUTES_NATS=(56522 56523 56524)
SUIVI_NATS=(58222 58223 58224)
PORT_REDIS=56379
PREMIER_PORT_MMO=56081
SECRET="secret de la grappe locale, trente-deux caractères et plus"
PREFIXE_BUS=grappe_

ecoute() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
dire() { echo "$NOM : $*"; }
mourir() { echo "$NOM : $*" >&2; exit 1; }
ms_depuis() { echo $((($(date +%s%N) - $1) / 1000000)); }

port_pg() { local v="PORT_PG_$1"; echo "${!v}"; }
autre() { if [ "$1" = a ]; then echo b; else echo a; fi; }
donnees_pg() { echo "$DOSSIER/pg/$1"; }
primaire() { cat "$DOSSIER/pg/primaire"; }
psql_sur() { # node, sql
  psql -X -q -At -h 127.0.0.1 -p "$(port_pg "$1")" -U postgres -d postgres -c "$2"
}

url_pg() {
  echo "postgres://postgres@127.0.0.1:$PORT_PG_a,127.0.0.1:$PORT_PG_b/mmo?target_session_attrs=read-write"
}
url_nats() {
  local p urls=()
  for p in "${PORTS_NATS[@]}"; do urls+=("nats://127.0.0.1:$p"); done
  (IFS=,; echo "${urls[*]}")
}
port_mmo() { echo $((PREMIER_PORT_MMO + $1 - 1)); }
passerelles() {
  local k urls=()
  for k in $(seq 1 "$INSTANCES"); do urls+=("http://127.0.0.1:$(port_mmo "$k")"); done
  (IFS=,; echo "${urls[*]}")
}

ecrire_env() {
  cat >"$DOSSIER/grappe.env" <<EOF
export MMO_DATABASE_URL='$(url_pg)'
export MMO_REDIS_URL='redis://127.0.0.1:$PORT_REDIS'
export MMO_NATS_URL='$(url_nats)'
export MMO_NATS_REPLIQUES=3
export MMO_PREFIXE_BUS='$PREFIXE_BUS'
export MMO_JWT_SECRET='$SECRET'
export GRAPPE_PASSERELLES='$(passerelles)'
EOF
}

# --- PostgreSQL

# A node's postmaster and its children, killed at once: the machine lost, not a shutdown.
tuer_pg() {
  local d pid enfants
  d=$(donnees_pg "$1")
  [ -f "$d/postmaster.pid" ] || return 0
  pid=$(head -n1 "$d/postmaster.pid")
  enfants=$(ps -o pid= --ppid "$pid" || true)
  # shellcheck disable=SC2086
  kill -9 "$pid" $enfants 2>/dev/null || true
  for _ in $(seq 1 100); do
    ecoute "$(port_pg "$1")" || break
    sleep 0.05
  done
  rm -f "$d/postmaster.pid"
}

demarrer_pg() {
  en_serveur "$PG_BIN/pg_ctl" -D "$(donnees_pg "$1")" -l "$JOURNAUX/postgres-$1.log" -s -w -t 60 start
}

initialiser_primaire() { # node
  local d
  d=$(donnees_pg "$1")
  # --no-sync: a fresh cluster is nothing to lose; the server itself runs with fsync = on.
  en_serveur "$PG_BIN/initdb" -D "$d" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  cat >>"$d/postgresql.conf" <<EOF
# scripts/grappe.sh
port = $(port_pg "$1")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DOSSIER/pg'
lc_messages = 'C'
max_connections = 200
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
# An acknowledged commit is flushed on the primary and on the synchronous standby (named
# below, in postgresql.auto.conf, once it streams).
synchronous_commit = on
fsync = on
full_page_writes = on
wal_log_hints = on
EOF
  demarrer_pg "$1"
  echo "$1" >"$DOSSIER/pg/primaire"
}

# Makes `node` a streaming standby of the current primary, through a slot of its name, then
# the primary's synchronous standby.
faire_reserve() { # node
  local p d
  p=$(primaire)
  d=$(donnees_pg "$1")
  rm -rf "$d"
  psql_sur "$p" "SELECT pg_drop_replication_slot('$1') FROM pg_replication_slots WHERE slot_name = '$1'" >/dev/null
  psql_sur "$p" "SELECT pg_create_physical_replication_slot('$1')" >/dev/null
  en_serveur "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$(port_pg "$p")" -U postgres -D "$d" \
    -X stream -S "$1" -c fast
  # The copy carries the primary's settings: its own port, where it streams from, and no
  # synchronous standby of its own until one is attached to it.
  cat >>"$d/postgresql.auto.conf" <<EOF
port = $(port_pg "$1")
primary_conninfo = 'host=127.0.0.1 port=$(port_pg "$p") user=postgres application_name=$1'
primary_slot_name = '$1'
synchronous_standby_names = ''
EOF
  en_serveur touch "$d/standby.signal"
  demarrer_pg "$1"
  attendre_replication "$p" "$1" streaming
  psql_sur "$p" "ALTER SYSTEM SET synchronous_standby_names = '$1'" >/dev/null
  psql_sur "$p" "SELECT pg_reload_conf()" >/dev/null
  attendre_replication "$p" "$1" sync
}

attendre_replication() { # primary, standby, streaming|sync
  local etat
  for _ in $(seq 1 300); do
    if [ "$3" = sync ]; then
      etat=$(psql_sur "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2'" || true)
    else
      etat=$(psql_sur "$1" "SELECT state FROM pg_stat_replication WHERE application_name = '$2'" || true)
    fi
    [ "$etat" = "$3" ] && return 0
    sleep 0.1
  done
  mourir "la réserve $2 n'est pas « $3 » auprès de $1 après 30 s (pg_stat_replication : ${etat:-rien})"
}

# kill -9 of the primary (postmaster and every backend), then the standby promoted: it holds
# every acknowledged commit (synchronous replication). It has no standby until `rattacher`.
basculer() {
  local p r t0
  p=$(primaire)
  r=$(autre "$p")
  t0=$(date +%s%N)
  tuer_pg "$p"
  en_serveur "$PG_BIN/pg_ctl" -D "$(donnees_pg "$r")" -s -w -t 60 promote
  echo "$r" >"$DOSSIER/pg/primaire"
  dire "primaire $p tué (kill -9), $r promu en $(ms_depuis "$t0") ms"
}

# The standby is lost: the primary commits alone from now on (its commits no longer wait for
# a second disk), what a failover manager does when the synchronous standby goes away.
degrader() {
  local p
  p=$(primaire)
  psql_sur "$p" "ALTER SYSTEM SET synchronous_standby_names = ''" >/dev/null
  psql_sur "$p" "SELECT pg_reload_conf()" >/dev/null
  dire "$p valide seul (synchronous_standby_names vide) jusqu'au rattachement d'une réserve"
}

rattacher() {
  local p r t0
  p=$(primaire)
  r=$(autre "$p")
  t0=$(date +%s%N)
  tuer_pg "$r"
  faire_reserve "$r"
  dire "$r reconstruit (pg_basebackup) et rattaché à $p comme réserve synchrone en $(ms_depuis "$t0") ms"
}

# --- NATS

conf_nats() { # i (1..3)
  local i=$1 j routes=()
  for j in 1 2 3; do
    [ "$j" = "$i" ] || routes+=("nats-route://127.0.0.1:${ROUTES_NATS[$((j - 1))]}")
  done
  cat >"$DOSSIER/nats/n$i.conf" <<EOF
server_name: n$i
host: 127.0.0.1
port: ${PORTS_NATS[$((i - 1))]}
http: 127.0.0.1:${SUIVI_NATS[$((i - 1))]}
pid_file: "$DOSSIER/nats/n$i.pid"
log_file: "$JOURNAUX/nats-n$i.log"
jetstream { store_dir: "$DOSSIER/nats/n$i" }
cluster {
  name: grappe
  host: 127.0.0.1
  port: ${ROUTES_NATS[$((i - 1))]}
  routes: [ $(IFS=,; echo "${routes[*]}") ]
}
EOF
}

# The JetStream meta leader as node i sees it (empty until one is elected).
meneur_nats() {
  curl -s "http://127.0.0.1:${SUIVI_NATS[$(($1 - 1))]}/jsz" | grep -o '"leader": *"[^"]*"' | head -n1 | cut -d'"' -f4
}

# A copy of Debian's binary: `scripts/services.sh arreter nats` stops every process of
# /usr/sbin/nats-server (start-stop-daemon --exec), and tests run it.
lancer_nats() { # i
  setsid "$DOSSIER/bin/nats-server" -c "$DOSSIER/nats/n$1.conf" </dev/null >>"$JOURNAUX/nats-n$1.log" 2>&1 &
  disown
  attendre_port "${PORTS_NATS[$(($1 - 1))]}" "nats-$1"
}

# --- Redis

lancer_redis() {
  mkdir -p "$DOSSIER/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT_REDIS" --save "" --appendonly no \
    --dir "$DOSSIER/redis" --pidfile "$DOSSIER/redis/redis.pid" --logfile "$JOURNAUX/redis.log"
  attendre_port "$PORT_REDIS" redis
}

# --- mmo

lancer_mmo() { # k
  local k=$1
  # shellcheck disable=SC1091
  (
    . "$DOSSIER/grappe.env"
    export MMO_ADRESSE="127.0.0.1:$(port_mmo "$k")" RUST_LOG="${RUST_LOG:-warn}" \
      MMO_APPELS_PAR_SECONDE=100000 MMO_CONNEXIONS_PAR_MINUTE=100000 MMO_HACHAGES_SIMULTANES=2 \
      MMO_DUREE_ACCES=7200
    setsid "$MMO" serve </dev/null >>"$JOURNAUX/mmo-$k.log" 2>&1 &
    echo $! >"$DOSSIER/mmo-$k.pid"
  )
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(port_mmo "$k")/readyz")" = 200 ] && return 0
    kill -0 "$(cat "$DOSSIER/mmo-$k.pid")" 2>/dev/null || { tail -n 20 "$JOURNAUX/mmo-$k.log" >&2; mourir "mmo-$k s'est arrêté"; }
    sleep 0.1
  done
  mourir "mmo-$k n'est pas prêt après 60 s ($JOURNAUX/mmo-$k.log)"
}

attendre_port() { # port, name
  for _ in $(seq 1 200); do
    ecoute "$1" && return 0
    sleep 0.05
  done
  mourir "$2 n'écoute pas sur $1 après 10 s"
}

# SIGTERM to the process whose pid file is given, SIGKILL if it is still there after 5 s.
arreter_pid() { # pid file
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tuer_pid "$1"
}

# kill -9 of the process whose pid file is given; waits until it is gone.
tuer_pid() { # pid file
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$1"
}

tuer() {
  case "${1:-}" in
    mmo-[1-9]) tuer_pid "$DOSSIER/$1.pid" ;;
    nats-[1-3]) tuer_pid "$DOSSIER/nats/n${1#nats-}.pid" ;;
    redis) tuer_pid "$DOSSIER/redis/redis.pid" ;;
    reserve) tuer_pg "$(autre "$(primaire)")" ;;
    *) mourir "tuer mmo-N|nats-N|redis|reserve (le primaire : basculer)" ;;
  esac
}

lancer() {
  case "${1:-}" in
    mmo-[1-9]) lancer_mmo "${1#mmo-}" ;;
    nats-[1-3]) lancer_nats "${1#nats-}" ;;
    redis) lancer_redis ;;
    *) mourir "lancer mmo-N|nats-N|redis" ;;
  esac
}

en_marche() { [ -f "$DOSSIER/grappe.env" ]; }

up() {
  local t0 p i k
  en_marche && mourir "déjà en marche ($DOSSIER) : scripts/grappe.sh status, ou down"
  for p in "$PORT_PG_a" "$PORT_PG_b" "${PORTS_NATS[@]}" "${ROUTES_NATS[@]}" "${SUIVI_NATS[@]}" "$PORT_REDIS"; do
    ecoute "$p" && mourir "le port $p est déjà pris"
  done
  for k in $(seq 1 "$INSTANCES"); do
    ecoute "$(port_mmo "$k")" && mourir "le port $(port_mmo "$k") est déjà pris"
  done
  [ -x /usr/sbin/nats-server ] || mourir "/usr/sbin/nats-server manque (paquet nats-server)"
  command -v redis-server >/dev/null || mourir "redis-server manque (paquet redis-server)"
  t0=$(date +%s%N)
  cargo build --quiet --locked -p gateway --bin mmo $([ "$PROFIL" = release ] && echo --release)
  # Whatever fails from here, what was started is stopped.
  trap 'echo "$NOM : échec du démarrage, arrêt de ce qui a démarré" >&2; down' EXIT
  rm -rf "$DOSSIER"
  mkdir -p "$DOSSIER/pg" "$DOSSIER/nats" "$DOSSIER/bin" "$JOURNAUX"
  chmod 755 "$DOSSIER"
  au_serveur "$DOSSIER/pg"
  au_serveur "$JOURNAUX"
  ecrire_env

  initialiser_primaire a
  faire_reserve b
  dire "PostgreSQL : primaire a ($PORT_PG_a), réserve synchrone b ($PORT_PG_b), en $(ms_depuis "$t0") ms"

  install -m 755 /usr/sbin/nats-server "$DOSSIER/bin/nats-server"
  for i in 1 2 3; do conf_nats "$i"; done
  for i in 1 2 3; do lancer_nats "$i"; done
  # JetStream answers once the three nodes have elected a meta leader.
  for _ in $(seq 1 200); do
    [ -n "$(meneur_nats 1)" ] && break
    sleep 0.1
  done
  dire "NATS : trois nœuds (${PORTS_NATS[*]}), JetStream en grappe"

  lancer_redis
  dire "Redis : $PORT_REDIS"

  (. "$DOSSIER/grappe.env" && "$MMO" migrate >/dev/null)
  for k in $(seq 1 "$INSTANCES"); do lancer_mmo "$k"; done
  dire "mmo serve : $(passerelles)"
  trap - EXIT
  dire "grappe prête en $(ms_depuis "$t0") ms ; ses réglages : scripts/grappe.sh env"
}

down() {
  local f i n
  for f in "$DOSSIER"/mmo-*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$DOSSIER"/mmo-*.pid; do
    arreter_pid "$f"
  done
  for i in 1 2 3; do arreter_pid "$DOSSIER/nats/n$i.pid"; done
  arreter_pid "$DOSSIER/redis/redis.pid"
  for n in a b; do
    if [ -f "$(donnees_pg "$n")/postmaster.pid" ]; then
      en_serveur "$PG_BIN/pg_ctl" -D "$(donnees_pg "$n")" -s -m immediate stop || tuer_pg "$n"
    fi
  done
  rm -rf "$DOSSIER/pg" "$DOSSIER/nats" "$DOSSIER/redis" "$DOSSIER/bin" "$DOSSIER"/mmo-*.pid "$DOSSIER/grappe.env"
  dire "arrêtée ; journaux dans $JOURNAUX"
}

status() {
  local n p i k pid
  en_marche || { dire "arrêtée"; return 0; }
  p=$(primaire)
  for n in a b; do
    if ecoute "$(port_pg "$n")"; then
      if [ "$(psql_sur "$n" "SELECT pg_is_in_recovery()")" = f ]; then
        echo "postgres-$n  $(port_pg "$n")  primaire  synchronous_standby_names='$(psql_sur "$n" "SHOW synchronous_standby_names")'"
        psql_sur "$n" "SELECT '  réserve ' || application_name || ' : ' || state || ', ' || sync_state || ', retard ' || coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0) || ' octets' FROM pg_stat_replication"
      else
        echo "postgres-$n  $(port_pg "$n")  réserve"
      fi
    else
      echo "postgres-$n  $(port_pg "$n")  arrêté$([ "$n" = "$p" ] && echo ' (était le primaire)')"
    fi
  done
  for i in 1 2 3; do
    if ecoute "${PORTS_NATS[$((i - 1))]}"; then
      echo "nats-$i      ${PORTS_NATS[$((i - 1))]}  en marche, meneur JetStream : $(meneur_nats "$i")"
    else
      echo "nats-$i      ${PORTS_NATS[$((i - 1))]}  arrêté"
    fi
  done
  if ecoute "$PORT_REDIS"; then echo "redis       $PORT_REDIS  en marche"; else echo "redis       $PORT_REDIS  arrêté"; fi
  for k in $(seq 1 "$INSTANCES"); do
    echo "mmo-$k       $(port_mmo "$k")  /readyz $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(port_mmo "$k")/readyz" || true)"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) en_marche || mourir "arrêtée"; cat "$DOSSIER/grappe.env" ;;
  mmo)
    shift
    en_marche || mourir "arrêtée"
    # shellcheck disable=SC1091
    (. "$DOSSIER/grappe.env" && exec "$MMO" "$@")
    ;;
  basculer) en_marche || mourir "arrêtée"; basculer ;;
  rattacher) en_marche || mourir "arrêtée"; rattacher ;;
  degrader) en_marche || mourir "arrêtée"; degrader ;;
  tuer) en_marche || mourir "arrêtée"; tuer "${2:-}" ;;
  lancer) en_marche || mourir "arrêtée"; lancer "${2:-}" ;;
  fautes)
    shift
    cargo build --quiet --locked -p gateway --bin mmo -p mmo-tests --bin fautes \
      $([ "$PROFIL" = release ] && echo --release)
    monte=""
    if ! en_marche; then
      up
      monte=1
    fi
    statut=0
    "$CIBLE/$PROFIL/fautes" --mmo "$MMO" "$@" grappe --dossier "$DOSSIER" --script "$0" || statut=$?
    [ -n "$monte" ] && down
    exit "$statut"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
