#!/usr/bin/env bash
# Backups of the game's PostgreSQL cluster with PostgreSQL's own tools: continuous WAL
# archiving (`archive_command`) and base backups (`pg_basebackup`, checked by
# `pg_verifybackup`). Together they restore the cluster to any moment after the oldest base
# backup (scripts/restauration.sh). doc/exploitation.md §4 says how, and what was measured.
#
#   scripts/sauvegarde.sh configurer URL ARCHIVE   # archive the WAL into ARCHIVE/wal (then restart the cluster)
#   scripts/sauvegarde.sh base URL ARCHIVE         # a base backup into ARCHIVE/base/<date>, verified
#   scripts/sauvegarde.sh basculer URL ARCHIVE     # close the current WAL segment, wait until it is archived
#   scripts/sauvegarde.sh lister ARCHIVE           # the base backups and the archived WAL
#   scripts/sauvegarde.sh purger ARCHIVE N         # keep the N newest base backups and the WAL they need
#
# URL: a superuser connection to the cluster (postgres://postgres@127.0.0.1:5432/postgres);
# pg_basebackup also needs a `replication` line for it in pg_hba.conf. ARCHIVE: a directory
# the server's user can write (`PG_UTILISATEUR`, scripts/lib/postgres.sh), ideally on another
# disk or machine than the cluster.
set -euo pipefail
NOM=sauvegarde.sh
# shellcheck source=scripts/lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"

usage() {
  sed -n '7,11p' "$0" | sed 's/^# *//' >&2
  exit 2
}

sql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$URL" "$@"; }

# The archive command the server runs for each finished WAL segment (%p: its path, %f: its
# name): copy under a temporary name, flush it to disk, then rename, so that the archive never
# holds half a segment. A segment already archived with the same bytes is a success (the
# server may archive again a segment whose success it did not record before a crash); with
# other bytes, a failure: the server keeps the segment and retries, and pg_stat_archiver
# shows it.
commande_d_archivage() {
  local wal="$1/wal"
  printf '%s' "f=\"$wal/%f\"; if [ -f \"\$f\" ]; then cmp -s \"%p\" \"\$f\"; else cp \"%p\" \"\$f.part\" && sync \"\$f.part\" && mv \"\$f.part\" \"\$f\" && sync \"$wal\"; fi"
}

preparer_archive() {
  mkdir -p "$ARCHIVE/wal" "$ARCHIVE/base"
  au_serveur "$ARCHIVE/wal"
}

configurer() {
  preparer_archive
  sql -v commande="$(commande_d_archivage "$ARCHIVE")" >/dev/null <<'SQL'
ALTER SYSTEM SET wal_level = 'replica';
ALTER SYSTEM SET archive_mode = 'on';
ALTER SYSTEM SET archive_command = :'commande';
-- A quiet cluster still closes a segment every minute: at most a minute of commits waits
-- outside the archive.
ALTER SYSTEM SET archive_timeout = '60s';
SELECT pg_reload_conf();
SQL
  local en_attente
  en_attente=$(sql -c "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart")
  echo "$NOM : archivage des WAL vers $ARCHIVE/wal configuré"
  if [ -n "$en_attente" ]; then
    echo "$NOM : redémarrez le cluster pour que cela prenne effet (ne change qu'au démarrage : $en_attente)"
  fi
}

base() {
  preparer_archive
  local mode
  mode=$(sql -c "SHOW archive_mode")
  [ "$mode" = "on" ] || {
    echo "$NOM : archive_mode = $mode : configurer d'abord, puis redémarrer le cluster" >&2
    exit 1
  }
  local etiquette dest t0 fin
  etiquette=$(date -u +%Y%m%dT%H%M%SZ)
  dest="$ARCHIVE/base/$etiquette"
  [ ! -e "$dest" ] || { echo "$NOM : $dest existe déjà" >&2; exit 1; }
  t0=$(date +%s%N)
  # Plain format, so that pg_verifybackup can check it; the WAL written during the copy comes
  # with it (-X stream), so the backup alone reaches a consistent state.
  "$PG_BIN/pg_basebackup" -d "$URL" -D "$dest" -Fp -X stream --checkpoint=fast \
    --label="mmo $etiquette" --no-password
  "$PG_BIN/pg_verifybackup" --quiet "$dest"
  fin=$(maintenant)
  # Written last: a backup without it is unfinished, and restauration.sh ignores it. Any
  # moment after it can be restored from this backup and the WAL archived since.
  echo "$fin" >"$dest.fin"
  echo "$NOM : sauvegarde de base $etiquette, $(du -sh "$dest" | cut -f1), en $(secondes_depuis "$t0") s" \
    "(copie et vérification), restaurable à partir de $fin"
}

basculer() {
  local segment
  segment=$(sql -c "SELECT pg_walfile_name(pg_switch_wal())")
  for _ in $(seq 1 600); do
    if [ -f "$ARCHIVE/wal/$segment" ]; then
      echo "$NOM : segment $segment archivé"
      return 0
    fi
    sleep 0.1
  done
  echo "$NOM : $segment toujours pas dans $ARCHIVE/wal après 60 s ; pg_stat_archiver :" >&2
  sql -c "SELECT failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver" >&2
  exit 1
}

lister() {
  [ -d "$ARCHIVE/base" ] || { echo "$NOM : pas d'archive dans $ARCHIVE" >&2; exit 1; }
  echo "sauvegardes de base ($ARCHIVE/base) :"
  local d etiquette debut fin n=0
  for d in "$ARCHIVE"/base/*/; do
    [ -d "$d" ] || continue
    n=$((n + 1))
    etiquette=$(basename "$d")
    debut=$(sed -n 's/^START TIME: //p' "$d/backup_label" 2>/dev/null || true)
    fin=$(cat "$ARCHIVE/base/$etiquette.fin" 2>/dev/null || echo "inachevée : ignorée")
    printf '  %s  début %s  restaurable à partir de %s  %s  premier WAL %s\n' "$etiquette" \
      "${debut:-?}" "$fin" "$(du -sh "$d" | cut -f1)" \
      "$(sed -n 's/^START WAL LOCATION: .*(file \(.*\))$/\1/p' "$d/backup_label" 2>/dev/null)"
  done
  [ "$n" -gt 0 ] || echo "  aucune"
  local segments
  segments=$(find "$ARCHIVE/wal" -maxdepth 1 -type f -regextype posix-extended \
    -regex '.*/[0-9A-F]{24}' -printf '%f\n' | sort)
  if [ -z "$segments" ]; then
    echo "WAL ($ARCHIVE/wal) : aucun"
  else
    printf 'WAL (%s) : %s segments, %s en tout, de %s à %s\n' "$ARCHIVE/wal" \
      "$(echo "$segments" | wc -l)" "$(du -sh "$ARCHIVE/wal" | cut -f1)" \
      "$(echo "$segments" | head -n1)" "$(echo "$segments" | tail -n1)"
  fi
}

purger() {
  local garder="$1"
  [[ "$garder" =~ ^[1-9][0-9]*$ ]] || { echo "$NOM : purger ARCHIVE N, N ≥ 1" >&2; exit 2; }
  local bases
  mapfile -t bases < <(find "$ARCHIVE/base" -maxdepth 1 -name '*.fin' -printf '%f\n' | sed 's/\.fin$//' | sort)
  if [ "${#bases[@]}" -le "$garder" ]; then
    echo "$NOM : ${#bases[@]} sauvegardes de base achevées, $garder à garder : rien à purger"
    return 0
  fi
  local doyenne="${bases[${#bases[@]} - garder]}" premier d
  premier=$(sed -n 's/^START WAL LOCATION: .*(file \(.*\))$/\1/p' "$ARCHIVE/base/$doyenne/backup_label")
  [ -n "$premier" ] || { echo "$NOM : premier WAL de $doyenne illisible" >&2; exit 1; }
  # Labels are dates: everything sorting before the oldest kept one goes, unfinished ones too.
  for d in "$ARCHIVE"/base/*/; do
    d=$(basename "$d")
    if [[ "$d" < "$doyenne" ]]; then
      rm -rf "${ARCHIVE:?}/base/$d" "$ARCHIVE/base/$d.fin"
      echo "$NOM : sauvegarde de base $d supprimée"
    fi
  done
  "$PG_BIN/pg_archivecleanup" "$ARCHIVE/wal" "$premier"
  echo "$NOM : WAL antérieurs à $premier (premier de la sauvegarde de base $doyenne) supprimés"
}

case "${1:-}" in
  configurer | base | basculer)
    [ $# -eq 3 ] || usage
    URL="$2"
    ARCHIVE="$(realpath -m "$3")"
    "$1"
    ;;
  lister)
    [ $# -eq 2 ] || usage
    ARCHIVE="$(realpath -m "$2")"
    lister
    ;;
  purger)
    [ $# -eq 3 ] || usage
    ARCHIVE="$(realpath -m "$2")"
    purger "$3"
    ;;
  *) usage ;;
esac
