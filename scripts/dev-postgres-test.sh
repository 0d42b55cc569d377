#!/usr/bin/env bash
# Tests scripts/dev-postgres.sh (make run's database) for real: with nothing
# answering at DEV_DATABASE_URL it starts a private PostgreSQL in a temporary
# folder, the command connects to it over its Unix socket only, and when the
# command ends, or the script is sent SIGTERM, the server is stopped and
# nothing is left running. With a server answering, it uses that one.
# Run by `make test`; skipped (with a line saying so) without initdb.
set -euo pipefail
cd "$(dirname "$0")/.."
script=$PWD/scripts/dev-postgres.sh

fail() { echo "FAIL dev-postgres-test: $*" >&2; exit 1; }
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "SKIP dev-postgres-test: PostgreSQL's server binaries (initdb) are not installed"
  exit 0
fi

tmp=$(mktemp -d)
chmod 755 "$tmp" # as root, the private server runs as postgres and must reach it
data=$tmp/dev/postgres/data
cleanup() {
  # Only if a check failed half-way: never leave a server behind.
  if [[ -f $data/postmaster.pid ]]; then
    pg_ctl_bin=$(dirname "$(readlink -f "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -n 1)")")/pg_ctl
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$pg_ctl_bin" -D "$data" -m immediate stop; else "$pg_ctl_bin" -D "$data" -m immediate stop; fi
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A TCP port nothing listens on, for DEV_DATABASE_URL; and a random port
# number for the private server's socket name.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 1)
export DEV_DATABASE_URL="postgres://postgres@127.0.0.1:$closed/chatgw?sslmode=disable"
export DEV_DIR=$tmp/dev
export DEV_PG_PORT=$((20000 + RANDOM % 40000))

nothing_left() {
  [[ ! -e $data/postmaster.pid ]] || fail "postmaster.pid left in $data: $1"
  [[ ! -e $tmp/dev/postgres/.s.PGSQL.$DEV_PG_PORT ]] || fail "socket left: $1"
  ! pgrep -f -- "$data" >/dev/null || fail "a process still runs on $data: $1 ($(pgrep -af -- "$data"))"
}

# 1. The command sees a private server on a socket in DEV_DIR, and its exit
#    status is the script's.
out=$tmp/out
set +e
"$script" bash -c '
  psql "${DATABASE_URL/\/chatgw\?/\/postgres?}" -XAtc "SELECT current_setting('"'data_directory'"'), current_setting('"'listen_addresses'"') = '"''"', current_setting('"'port'"')" >"$0"
  exit 7' "$out" 2>"$tmp/err1"
status=$?
set -e
[[ $status == 7 ]] || fail "exit status $status, want the command's 7; stderr: $(cat "$tmp/err1")"
IFS='|' read -r got_data no_tcp got_port <"$out"
[[ $got_data == "$data" ]] || fail "connected to data directory $got_data, want $data"
[[ $no_tcp == t ]] || fail "the private server listens on TCP"
[[ $got_port == "$DEV_PG_PORT" ]] || fail "port $got_port, want $DEV_PG_PORT"
grep -q "private PostgreSQL stopped" "$tmp/err1" || fail "no stop line: $(cat "$tmp/err1")"
nothing_left "after the command exited"
echo "ok   dev-postgres: private server started in $DEV_DIR, connected over its socket, stopped with the command"

# 2. SIGTERM to the script (what make sends): the command gets SIGTERM, then
#    the server stops. The data directory from step 1 is reused (no initdb).
"$script" bash -c 'trap "echo got-term >$0; exit 0" TERM; touch $0.ready; while :; do sleep 0.1; done' "$tmp/term" 2>"$tmp/err2" &
pid=$!
for _ in $(seq 1 300); do [[ -e $tmp/term.ready ]] && break; sleep 0.1; done
[[ -e $tmp/term.ready ]] || fail "the command did not start: $(cat "$tmp/err2")"
[[ -e $tmp/dev/postgres/.s.PGSQL.$DEV_PG_PORT ]] || fail "no socket while the command runs"
kill -TERM "$pid"
wait "$pid" || true
[[ $(cat "$tmp/term" 2>/dev/null) == got-term ]] || fail "the command was not sent SIGTERM"
! grep -q "creating a private one" "$tmp/err2" || fail "initdb ran again on an existing data directory"
nothing_left "after SIGTERM"
echo "ok   dev-postgres: SIGTERM stops the command, then the server"

# 3. A server answering at DEV_DATABASE_URL is used as it is.
base=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if pg_isready -q -d "$base"; then
  got=$(DEV_DATABASE_URL=$base "$script" printenv DATABASE_URL)
  [[ $got == "$base" ]] || fail "DATABASE_URL=$got, want DEV_DATABASE_URL=$base"
  echo "ok   dev-postgres: an answering DEV_DATABASE_URL is used"
fi
