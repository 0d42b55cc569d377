#!/usr/bin/env bash
# Runs a command with DATABASE_URL set to a PostgreSQL that answers, for
# `make run`:
#   - DEV_DATABASE_URL, when a server answers there (pg_isready);
#   - else, when PostgreSQL's server binaries (initdb, pg_ctl) are installed,
#     a private server of its own under DEV_DIR (default .dev/): data
#     directory and Unix socket in DEV_DIR/postgres, no TCP port at all,
#     stopped when the command ends (Ctrl-C, SIGTERM, or the command exits);
#   - else it fails with one line saying what to do.
#
#   DEV_DATABASE_URL=postgres://... scripts/dev-postgres.sh COMMAND [ARGS...]
#
# DEV_PG_PORT (default 5432) only names the private server's socket file
# (.s.PGSQL.<port>), which lives in a folder of its own, so it never clashes.
# initdb refuses to run as root: as root, the private server runs as the
# `postgres` user (runuser), which must be able to reach DEV_DIR.
set -euo pipefail

say() { echo "dev-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $# -gt 0 ]] || die "usage: DEV_DATABASE_URL=... $0 COMMAND [ARGS...]"
: "${DEV_DATABASE_URL:?DEV_DATABASE_URL must be set}"
command -v pg_isready >/dev/null ||
  die "pg_isready not found: install PostgreSQL's client tools (Debian/Ubuntu: apt install postgresql-client; macOS: brew install libpq)"

if pg_isready -q -t 3 -d "$DEV_DATABASE_URL"; then
  export DATABASE_URL=$DEV_DATABASE_URL
  exec "$@"
fi

# Nothing answers there: find the server binaries.
initdb=$(command -v initdb || true)
if [[ -z $initdb ]]; then
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb /usr/local/pgsql/bin/initdb /opt/homebrew/opt/postgresql*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [[ -z $initdb ]]; then
  die "no PostgreSQL answers at DEV_DATABASE_URL ($(sed -E 's#(://[^:/@]*:)[^@]*@#\1xxxxx@#' <<<"$DEV_DATABASE_URL")) and its server is not installed: start one (e.g. sudo service postgresql start), install it (apt install postgresql) so make run starts a private one, or set DEV_DATABASE_URL"
fi
bindir=$(dirname "$(readlink -f "$initdb")")

run_pg=()
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 ||
    die "running as root, and initdb refuses root: create a 'postgres' user (useradd -r postgres) or run make run as a normal user"
  run_pg=(runuser -u postgres --)
fi

mkdir -p "${DEV_DIR:-.dev}"
dev_dir=$(cd "${DEV_DIR:-.dev}" && pwd)
pgdir=$dev_dir/postgres
port=${DEV_PG_PORT:-5432}
# A Unix socket path is at most 107 bytes.
((${#pgdir} + 16 <= 107)) || die "$pgdir is too long for a Unix socket path: set DEV_DIR to a shorter folder"
mkdir -p "$pgdir"
if ((${#run_pg[@]})); then
  chown postgres: "$pgdir"
  "${run_pg[@]}" test -w "$pgdir" ||
    die "the postgres user cannot write $pgdir (root runs it as postgres): make the folders above it readable by others (chmod o+x), or set DEV_DIR elsewhere (e.g. DEV_DIR=/tmp/chatgw-dev)"
fi
data=$pgdir/data

if [[ ! -f $data/PG_VERSION ]]; then
  say "no PostgreSQL answers at DEV_DATABASE_URL: creating a private one in $data (once)"
  "${run_pg[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >"$pgdir/initdb.log" 2>&1 ||
    { tail -n 20 "$pgdir/initdb.log" >&2; die "initdb failed (log: $pgdir/initdb.log)"; }
  echo "include_if_exists = 'chatgw-dev.conf'" >>"$data/postgresql.conf"
fi
# Rewritten on every start: the folder may have moved since initdb.
cat >"$data/chatgw-dev.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '${pgdir//\'/\'\'}'
unix_socket_permissions = 0700
port = $port
CONF
((${#run_pg[@]})) && chown postgres: "$data/chatgw-dev.conf"

pg_ctl() { "${run_pg[@]}" "$bindir/pg_ctl" -D "$data" "$@"; }
if pg_ctl status >/dev/null 2>&1; then
  say "the private PostgreSQL in $data is already running (left by an earlier run?): using it"
else
  # setsid: its own session, so the terminal's Ctrl-C reaches the command
  # (which shuts down cleanly) and not the database under it.
  "${run_pg[@]}" setsid "$bindir/pg_ctl" -D "$data" -l "$pgdir/postgres.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "$pgdir/postgres.log" >&2; die "the private PostgreSQL did not start (log: $pgdir/postgres.log)"; }
fi

stopped=
stop() {
  [[ -n $stopped ]] && return
  stopped=1
  pg_ctl -m fast -w stop >/dev/null 2>&1 || true
  say "private PostgreSQL stopped"
}
trap stop EXIT

host=${pgdir//%/%25}
host=${host// /%20}
host=${host//&/%26}
export DATABASE_URL="postgres://postgres@/chatgw?host=$host&port=$port&sslmode=disable"
say "private PostgreSQL on the Unix socket in $pgdir (psql \"$DATABASE_URL\")"

# The command runs in the background so that a signal to this script (Ctrl-C
# or make's SIGTERM) is passed on as SIGTERM, the command finishes cleanly,
# and only then is the database stopped.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
status=0
while :; do
  wait "$child" && status=0 || status=$?
  kill -0 "$child" 2>/dev/null || break # else wait was cut short by a signal
done
exit "$status"
