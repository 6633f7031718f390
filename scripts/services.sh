#!/usr/bin/env bash
# Makes sure the services the backend and its tests use answer on loopback: PostgreSQL
# (127.0.0.1:5432), Redis (127.0.0.1:6379, nothing kept on disk) and NATS with JetStream
# (127.0.0.1:4222). A service that is down is started; one that is missing is installed from
# Debian's packages first. Idempotent: running it when all is up changes nothing.
# `scripts/services.sh arreter nats|postgres` stops one (fault tests).
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

ecoute() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

attendre() { # port name
  for _ in $(seq 1 60); do
    ecoute "$1" && return 0
    sleep 0.5
  done
  echo "services.sh: $2 ne répond toujours pas sur 127.0.0.1:$1 après 30 s" >&2
  exit 1
}

installer() {
  echo "services.sh: installation de $* (paquets Debian)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# `services.sh arreter nats|postgres`: stops that service, for the tests that prove a restart
# loses nothing (tests/tests/bus_nats.rs, the fault harness `fautes`); the next plain run
# starts it again.
if [ "${1:-}" = "arreter" ]; then
  case "${2:-}" in
    nats) $SUDO start-stop-daemon --stop --oknodo --retry 10 --exec /usr/sbin/nats-server ;;
    postgres) $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop -m fast ;;
    *) echo "services.sh: arreter nats|postgres" >&2; exit 2 ;;
  esac
  exit 0
fi

# --- PostgreSQL
if ! ecoute 5432; then
  command -v pg_ctlcluster >/dev/null || installer postgresql postgresql-contrib
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # A fresh cluster asks for a password over TCP; this machine's databases are local and
  # disposable, as on the CI machine: trust loopback.
  if ! $SUDO grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
    echo "host all all 127.0.0.1/32 trust" | $SUDO tee -a "$hba" >/dev/null
  fi
  echo "services.sh: démarrage de PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  attendre 5432 PostgreSQL
fi
command -v pgbench >/dev/null || installer postgresql-contrib

# --- Redis
if ! ecoute 6379; then
  command -v redis-server >/dev/null || installer redis-server
  echo "services.sh: démarrage de Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  attendre 6379 Redis
fi

# --- NATS with JetStream
if ! ecoute 4222; then
  [ -x /usr/sbin/nats-server ] || installer nats-server
  echo "services.sh: démarrage de NATS (JetStream)"
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  attendre 4222 NATS
fi

echo "services.sh: PostgreSQL, Redis et NATS répondent"
