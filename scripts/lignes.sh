#!/usr/bin/env bash
# What each index, generated column and trigger of `events` costs per insert
# (doc/performance.md, « Ce que coûte une ligne »). A scratch database `lignes` gets the
# project's migrations (psql) up to the group commit's, then one copy of `events` per variant,
# each with one piece removed (or, last, the schema the migration 20261214000007 leaves);
# pgbench inserts into each in turn, interleaved so that a busy machine weighs on every variant
# alike:
#   - one event per transaction (what a command cost before the group commit), 8 clients;
#   - 32 events per statement (a group commit), 2 clients: per-row costs without the commit.
# Every variant inserts through the same statement shape (a CTE of fresh uuids); the last also
# registers the command ids in `commandes_appliquees` in the statement, as the store now does.
# Usage: scripts/lignes.sh [seconds per run, 5] [rounds, 2]. Loopback only; ~2 min by default.
set -euo pipefail
PG=${PG:-postgres://postgres@127.0.0.1:5432}
SECONDES=${1:-5}
TOURS=${2:-2}
cd "$(dirname "$0")/.."
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS lignes" -c "CREATE DATABASE lignes"
dossier=$(mktemp -d)
trap 'rm -rf "$dossier"; psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS lignes"' EXIT
# The schema as it was before the group commit (migration 20261214000007 and later left out):
# each variant takes one piece of it away; the last is what 20261214000007 leaves.
for m in migrations/*.sql; do
  [[ $(basename "$m") < 20261214000007 ]] || continue
  psql -q -v ON_ERROR_STOP=1 "$PG/lignes" -f "$m" >/dev/null
done

# Each variant: a copy of the migrated `events` (columns, defaults, generated columns,
# constraints, indexes), then what the variant takes away.
declare -A RETIRER=(
  [tel_quel]=""
  [sans_declencheur]="DROP TRIGGER @_une_commande ON @"
  [sans_event_id_unique]="ALTER TABLE @ DROP CONSTRAINT @_event_id_key"
  [sans_index_id_commande]="DROP INDEX @_id_commande_idx"
  [sans_index_correlation]="DROP INDEX @_correlation_id_idx"
  [sans_index_compte]="DROP INDEX @_compte_id_idx"
  [colonnes_ecrites]="ALTER TABLE @ ALTER id_commande DROP EXPRESSION, ALTER correlation_id DROP EXPRESSION, ALTER causation_id DROP EXPRESSION, ALTER compte_id DROP EXPRESSION"
  [nouveau_schema]="ALTER TABLE @ ALTER id_commande DROP EXPRESSION, ALTER correlation_id DROP EXPRESSION, ALTER causation_id DROP EXPRESSION, ALTER compte_id DROP EXPRESSION; DROP TRIGGER @_une_commande ON @; ALTER TABLE @ DROP CONSTRAINT @_event_id_key"
)
VARIANTES=(tel_quel sans_declencheur sans_event_id_unique sans_index_id_commande sans_index_correlation sans_index_compte colonnes_ecrites nouveau_schema)
for v in "${VARIANTES[@]}"; do
  retrait=${RETIRER[$v]//@/$v}
  psql -q -v ON_ERROR_STOP=1 "$PG/lignes" >/dev/null <<SQL
CREATE TABLE $v (LIKE events INCLUDING ALL);
CREATE TRIGGER ${v}_une_commande BEFORE INSERT ON $v FOR EACH ROW EXECUTE FUNCTION events_une_commande_une_fois();
$retrait;
SQL
  # The generated columns are the metadata's; where the variant writes them, the insert does.
  if [[ $v == colonnes_ecrites || $v == nouveau_schema ]]; then
    colonnes=", id_commande, correlation_id, causation_id, compte_id"
    valeurs=", i, c, c, k"
  else
    colonnes=""
    valeurs=""
  fi
  meta="json_build_object('id_commande', i, 'correlation_id', c, 'causation_id', c, 'compte_id', k, 'horodatage', now())"
  charge="json_build_object('InventaireModifie', json_build_object('or', 120, 'items', json_build_object('herbe_medicinale', 3), 'cause', 'achat'))"
  # The new schema registers the command ids in the inserting statement, as the store does.
  if [[ $v == nouveau_schema ]]; then
    inscrire="inscrites AS (INSERT INTO commandes_appliquees (id_commande, aggregate_type, aggregate_id, transaction_id) SELECT i, 'Inventaire', i::text, pg_current_xact_id() FROM x ON CONFLICT DO NOTHING RETURNING id_commande),"
    joindre="JOIN inscrites ON inscrites.id_commande = x.i"
  else
    inscrire=""
    joindre=""
  fi
  for n in un lot; do
    lignes=1
    [[ $n == lot ]] && lignes=32
    cat > "$dossier/$v.$n.sql" <<SQL
WITH x AS (SELECT gen_random_uuid() AS i, gen_random_uuid() AS c, gen_random_uuid() AS k FROM generate_series(1, $lignes)), $inscrire
y AS (INSERT INTO $v (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata$colonnes)
SELECT 'Inventaire', i::text, 1, 'InventaireModifie', '1.0', $charge, $meta$valeurs FROM x $joindre RETURNING 1)
SELECT count(*) FROM y;
SQL
  done
done

tps() { pgbench -n -M prepared "$@" "$PG/lignes" 2>/dev/null | awk '/^tps/ {print $3}'; }
declare -A UN LOT
for tour in $(seq "$TOURS"); do
  for v in "${VARIANTES[@]}"; do
    UN[$v]+=" $(tps -c 8 -j 2 -T "$SECONDES" -f "$dossier/$v.un.sql")"
    LOT[$v]+=" $(tps -c 2 -j 2 -T "$SECONDES" -f "$dossier/$v.lot.sql" | awk '{printf "%.0f", $1 * 32}')"
  done
  echo "tour $tour fini" >&2
done
octets() { psql -Atq "$PG/lignes" -c "SELECT pg_total_relation_size('$1') / greatest(count(*), 1) FROM $1"; }
echo "| variante | une ligne par transaction, 8 clients (transactions/s) | 32 lignes par instruction, 2 clients (lignes/s) | octets par ligne, index compris |"
echo "|---|---|---|---:|"
for v in "${VARIANTES[@]}"; do
  echo "| $v |${UN[$v]} |${LOT[$v]} | $(octets "$v") |"
done
