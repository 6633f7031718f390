# What the backup scripts (sauvegarde.sh, restauration.sh, exercice_restauration.sh) share:
# PostgreSQL 15's own binaries from Debian's postgresql-15 package, and how to run the
# server's commands as the server's user. Sourced, not run; the caller sets `$NOM` (its name,
# for messages).
#
# PG_BIN: the binaries (default /usr/lib/postgresql/15/bin, Debian's).
# PG_UTILISATEUR: the server's system user, who owns data directories and the WAL archive
# (default postgres). pg_ctl refuses to run as root: as root, the server's commands run as it.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_UTILISATEUR="${PG_UTILISATEUR:-postgres}"

if [ ! -x "$PG_BIN/pg_basebackup" ]; then
  echo "$NOM : $PG_BIN/pg_basebackup manque (paquet Debian postgresql-15, ou PG_BIN)" >&2
  exit 1
fi

# Runs a command as the server's user (as root), or as oneself.
en_serveur() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_UTILISATEUR" -- "$@"
  else
    "$@"
  fi
}

# Gives a directory to the server's user (as root; otherwise it is already one's own).
au_serveur() {
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$PG_UTILISATEUR:" "$@"
  fi
}

# Nanoseconds since the epoch of a date PostgreSQL or date(1) wrote.
en_ns() { date -u -d "$1" +%s%N; }

# Now, as PostgreSQL reads a timestamptz, to the microsecond.
maintenant() { date -u '+%Y-%m-%d %H:%M:%S.%6N+00'; }

# Seconds elapsed since a `date +%s%N`, to the hundredth.
secondes_depuis() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
