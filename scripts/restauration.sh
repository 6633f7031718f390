#!/usr/bin/env bash
# Restores the game's PostgreSQL cluster from the archive scripts/sauvegarde.sh keeps, into a
# new data directory, to a point in time, and starts it on a port of its own:
#
#   scripts/restauration.sh ARCHIVE DONNEES PORT [INSTANT]
#
# INSTANT: a timestamp PostgreSQL reads ('2026-12-07 18:40:00.250+00'); every transaction
# committed at or before it is restored, none after. Without it: everything the archive holds.
# It takes the newest base backup finished before INSTANT, copies it into DONNEES (which must
# not exist, or be empty), replays the archived WAL up to INSTANT (`recovery_target_time`),
# then promotes: the cluster accepts writes, on a new timeline. It does not archive
# (`archive_mode = off`): a restored cluster never writes into the archive it came from; once
# it is checked and made the game's cluster, `sauvegarde.sh configurer` on a new archive, a
# restart and a first base backup. What to do next for the game (Redis, NATS, the relay's
# checkpoint): doc/exploitation.md §4.
set -euo pipefail
NOM=restauration.sh
# shellcheck source=scripts/lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"

[ $# -eq 3 ] || [ $# -eq 4 ] || { sed -n '5p' "$0" | sed 's/^# *//' >&2; exit 2; }
ARCHIVE="$(realpath -m "$1")"
DONNEES="$(realpath -m "$2")"
PORT="$3"
INSTANT="${4:-}"
PATIENCE="${RESTAURATION_PATIENCE:-600}" # seconds to reach the target and promote

[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "$NOM : port invalide « $PORT »" >&2; exit 2; }
cible_ns=""
jusqua="la fin de l'archive"
if [ -n "$INSTANT" ]; then
  jusqua="$INSTANT"
  cible_ns=$(en_ns "$INSTANT" 2>/dev/null) || { echo "$NOM : instant illisible « $INSTANT »" >&2; exit 2; }
fi
if [ -e "$DONNEES" ] && [ -n "$(ls -A "$DONNEES")" ]; then
  echo "$NOM : $DONNEES n'est pas vide" >&2
  exit 1
fi

# The newest finished base backup (its `.fin` written) that ends before the target.
choisie=""
for fin in "$ARCHIVE"/base/*.fin; do
  [ -f "$fin" ] || continue
  if [ -z "$cible_ns" ] || [ "$(en_ns "$(cat "$fin")")" -lt "$cible_ns" ]; then
    choisie="${fin%.fin}"
  fi
done
if [ -z "$choisie" ]; then
  echo "$NOM : aucune sauvegarde de base achevée avant $jusqua dans $ARCHIVE/base" >&2
  "$(dirname "$0")/sauvegarde.sh" lister "$ARCHIVE" >&2 || true
  exit 1
fi

t0=$(date +%s%N)
mkdir -p "$DONNEES"
cp -a "$choisie/." "$DONNEES/"
rm -f "$DONNEES/backup_manifest"
# A cluster whose configuration lives outside its data directory (Debian's packaged clusters:
# /etc/postgresql/15/main) comes without it: the minimum to start, on loopback.
if [ ! -f "$DONNEES/postgresql.conf" ]; then
  echo "$NOM : pas de postgresql.conf dans la sauvegarde : un minimal (loopback)"
  echo "listen_addresses = '127.0.0.1'" >"$DONNEES/postgresql.conf"
fi
if [ ! -f "$DONNEES/pg_hba.conf" ]; then
  echo "$NOM : pas de pg_hba.conf dans la sauvegarde : connexions locales par peer, loopback par mot de passe"
  printf 'local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$DONNEES/pg_hba.conf"
fi
touch "$DONNEES/pg_ident.conf"
{
  echo "# restauration.sh, $(maintenant) : $(basename "$choisie") jusqu'à $jusqua"
  echo "port = $PORT"
  echo "restore_command = 'cp \"$ARCHIVE/wal/%f\" \"%p\"'"
  [ -z "$INSTANT" ] || echo "recovery_target_time = '$INSTANT'"
  echo "recovery_target_action = 'promote'"
  echo "archive_mode = 'off'"
  echo "lc_messages = 'C'"
} >>"$DONNEES/postgresql.auto.conf"
touch "$DONNEES/recovery.signal"
au_serveur "$DONNEES"
chmod 700 "$DONNEES"
copie=$(secondes_depuis "$t0")

JOURNAL="$DONNEES/restauration.log"
en_serveur "$PG_BIN/pg_ctl" -D "$DONNEES" -l "$JOURNAL" -s start
# Promoted when the control file says so; a target the archive does not reach makes the server
# stop ("recovery ended before configured recovery target was reached").
etat=""
for _ in $(seq 1 $((PATIENCE * 10))); do
  etat=$(LC_ALL=C "$PG_BIN/pg_controldata" "$DONNEES" | sed -n 's/^Database cluster state: *//p')
  [ "$etat" = "in production" ] && break
  if ! en_serveur "$PG_BIN/pg_ctl" -D "$DONNEES" status >/dev/null; then
    tail -n 20 "$JOURNAL" >&2
    echo "$NOM : le serveur restauré s'est arrêté (journal : $JOURNAL)" >&2
    exit 1
  fi
  sleep 0.1
done
if [ "$etat" != "in production" ]; then
  tail -n 20 "$JOURNAL" >&2
  echo "$NOM : pas promu après $PATIENCE s (état : $etat)" >&2
  exit 1
fi
# Wait for the end-of-recovery checkpoint's log line too: the lines below are then all there.
for _ in $(seq 1 50); do
  grep -q "ready to accept connections" "$JOURNAL" && break
  sleep 0.1
done
grep -E "starting (point-in-time|archive) recovery|consistent recovery state|recovery stopping|last completed transaction|redo done|selected new timeline" "$JOURNAL" |
  sed "s/^/  /" || true
echo "$NOM : $(basename "$choisie") restaurée jusqu'à $jusqua dans $DONNEES," \
  "port $PORT, en $(secondes_depuis "$t0") s (copie $copie s)"
