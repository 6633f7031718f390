#!/usr/bin/env bash
# The machine's ceilings, measured beside a load run (doc/performance.md): PostgreSQL at 32
# clients, one single-row insert per transaction (pgbench, scratch database `plafond`), and
# Redis SET/GET (redis-benchmark). Loopback only; about 15 s.
set -euo pipefail
PG=${PG:-postgres://postgres@127.0.0.1:5432}
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS plafond" -c "CREATE DATABASE plafond"
psql -q "$PG/plafond" -c "CREATE TABLE insertions (id bigserial PRIMARY KEY, v text NOT NULL)"
script=$(mktemp)
trap 'rm -f "$script"; psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS plafond"' EXIT
echo "INSERT INTO insertions (v) VALUES ('x');" > "$script"
echo "pgbench -n -c 32 -j 2 -T 5 (une insertion par transaction) :"
pgbench -n -c 32 -j 2 -T 5 -f "$script" "$PG/plafond" 2>/dev/null | grep -E "^tps"
echo "redis-benchmark -q -n 100000 -t set,get :"
redis-benchmark -h 127.0.0.1 -p 6379 -q -n 100000 -t set,get 2>&1 | tr "\r" "\n" | grep "requests per second"
