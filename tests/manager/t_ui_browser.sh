#!/usr/bin/env bash
# t_ui_browser: the cluster manager's web UI in headless Chromium (Debian's
# chromium, driven by playwright-core from npm, installed here), on a real
# 2-shard cluster from scripts/cluster.sh with the bank workload running:
# log in with the token, see the cluster, Backup (job followed to success),
# the Restore dialog's time picker limited to the window, a restore into a
# new cluster that then shows with its topology, Check consistency on it
# ("consistent"), an API error shown in the dialog; and (t_ui_browser.js)
# the login alone on screen, node managers' health, a backup policy added,
# refused, paused, resumed, edited and deleted, byte progress during node
# backups, UTC timestamps, a backup's node detail, a shard backup, "Take a
# CP now", the restore plan preview, the job panel per cluster,
# auto-refresh, a shard restore (shard2 alone to a CP, its plan previewed)
# and a gtxid restore (a gtxid from the commit log: the plan is the first
# CP after its decision), each checked below on what was restored.
# Screenshots of every
# step go to the work dir (printed as "# screenshot: PATH").
# Before the browser: the restore and check endpoints' bad input (bad JSON,
# unknown cluster, missing target, malformed time, a time outside the
# window, a taken name, a bad name) each get a 4xx with a message, and an
# API call without the token gets 401 while the UI's files need none.
#
# Runs as an unprivileged user (the harness runs it as `strata`).
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# STRATA_NPM_CACHE  where playwright-core is installed (default:
#                   /var/cache/strata-test if writable, else ~/.cache/strata-test)
# STRATA_UI_SHOTS   where the last run's screenshots are kept (default:
#                   STRATA_NPM_CACHE/ui-screenshots)
# Ports (29000-29499 only): the cluster 29000-29022, the daemon 29100-29199,
# restored clusters from restore_ports 29200-29499.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-ui.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RESTORED=$WORK/restored
SHOTS=$WORK/screenshots
NPM_CACHE=${STRATA_NPM_CACHE:-}
D_PID=
W_PID=
N_PID=

# shellcheck source=../cluster/lib.sh
. "$(dirname "$0")/../cluster/lib.sh"

stop_pid() {   # PID SIGNAL: signal, wait up to 30 s, then SIGKILL
  local i
  [ -n "$1" ] || return 0
  kill "-$2" "$1" 2>/dev/null
  for ((i = 0; i < 300; i++)); do alive "$1" || break; sleep 0.1; done
  alive "$1" && kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
# Every postgres of the restored clusters, by the pid in its postmaster.pid.
stop_restored() {
  local f pid pids="" i
  [ -d "$RESTORED" ] || return 0
  while read -r f; do
    pid=$(head -n 1 "$f" 2>/dev/null)
    [ -n "$pid" ] && alive "$pid" && pids="$pids $pid"
  done < <(find "$RESTORED" -maxdepth 5 -name postmaster.pid 2>/dev/null)
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -INT "$pid" 2>/dev/null; done
  for ((i = 0; i < 300; i++)); do
    local left=0
    for pid in $pids; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
}
# Chromium processes playwright started: their profile is under WORK/tmp.
stop_browsers() {
  local p cmd
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    { cmd=$(tr '\0' ' ' <"/proc/$p/cmdline"); } 2>/dev/null || continue
    case $cmd in *chrom*"$WORK/tmp/"*) kill -KILL "$p" 2>/dev/null ;; esac
  done
}
# The screenshots outlive the work dir (tests/run.sh removes it after a
# pass): the last run's are kept next to the npm cache.
keep_screenshots() {
  local keep=${STRATA_UI_SHOTS:-${NPM_CACHE:+$NPM_CACHE/ui-screenshots}}
  [ -n "$keep" ] && ls "$SHOTS"/*.png >/dev/null 2>&1 || return 0
  mkdir -p "$keep" 2>/dev/null && rm -f "$keep"/*.png && cp "$SHOTS"/*.png "$keep"/ &&
    echo "# screenshots of this run kept in $keep"
}
cleanup() {
  keep_screenshots
  stop_pid "$N_PID" TERM
  stop_browsers
  stop_pid "$W_PID" TERM
  stop_pid "$D_PID" TERM
  stop_restored
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pick_daemon_port() {   # the first free port of 29100-29199
  local p
  for ((p = 29100; p < 29200; p++)); do port_free "$p" && { echo "$p"; return 0; }; done
  return 1
}

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
command -v curl >/dev/null || { notok "setup" "curl is not installed"; exit 1; }
CHROMIUM=${STRATA_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { notok "setup" "no chromium at $CHROMIUM (scripts/install-deps.sh installs Debian's chromium)"; exit 1; }
command -v npm >/dev/null && command -v node >/dev/null ||
  { notok "setup" "node and npm are needed (scripts/install-deps.sh installs them)"; exit 1; }
BASE=$(pick_base 29000 29100 30 0 1 2 3 10 11 12 20 21 22) || { notok "setup" "no free cluster ports in 29000-29099"; exit 1; }
PORT=$(pick_daemon_port) || { notok "setup" "no free daemon port in 29100-29199"; exit 1; }
URL=http://127.0.0.1:$PORT
mkdir -p "$SHOTS" "$WORK/tmp"

# ---- playwright-core, installed once into a cache ------------------------------------
if [ -z "$NPM_CACHE" ]; then
  for d in /var/cache/strata-test "${HOME:-/nonexistent}/.cache/strata-test" "$WORK/npm"; do
    if mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; then NPM_CACHE=$d; break; fi
  done
fi
if [ -f "$NPM_CACHE/node_modules/playwright-core/package.json" ] ||
  (cd "$NPM_CACHE" && npm install --no-audit --no-fund --silent playwright-core@1 >"$WORK/npm.log" 2>&1); then
  ok "playwright-core in $NPM_CACHE"
else
  notok "npm install playwright-core" "$(tail -n 5 "$WORK/npm.log" | tr '\n' ' ')"
  exit 1
fi

# ---- the cluster, the workload, the daemon -------------------------------------------
t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 2 --base-port "$BASE" --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 2 shards in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
if "$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log"; then
  ok "workload --init"
else
  notok "workload --init" "$(cat "$WORK/init.log")"
  exit 1
fi
# Transfers (2PC across the shards, in-doubt ones among them) while the
# backup is taken.
"$BIN" workload --meta-conn "$META" --cluster c1 --clients 2 --duration 40 --quiet >"$WORK/workload.out" \
  2>"$WORK/workload.log" &
W_PID=$!

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TOKEN" >"$WORK/token")
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "restore_root": "$RESTORED", "restore_ports": "29200-29499"}
JSON
"$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
D_PID=$!
started=0
for ((i = 0; i < 300; i++)); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/")" = 200 ] && { started=1; break; }
  alive "$D_PID" || break
  sleep 0.1
done
if [ "$started" = 1 ]; then
  ok "cluster-manager started (pid $D_PID, port $PORT)"
else
  notok "cluster-manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi

api() {   # METHOD PATH [BODY]: sets CODE and BODY (with the token)
  local data=()
  [ "$#" -ge 3 ] && data=(--data-binary "$3" -H 'Content-Type: application/json')
  CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" "${data[@]}" "$URL$2")
  BODY=$(cat "$WORK/resp")
}
expect() {   # WHAT CODE 'TEXT': the last answer had this status and its error contains TEXT
  # the message as text: JSON escapes its quotes
  if [ "$CODE" = "$2" ] && echo "$BODY" | grep -q '"error":' && echo "$BODY" | sed 's/\\"/"/g' | grep -qF -- "$3"; then
    ok "$1 -> $2 ($(echo "$BODY" | cut -c1-160))"
  else
    notok "$1" "expected $2 with '$3', got $CODE $BODY"
  fi
}

# ---- authentication and the UI's files ----------------------------------------------
c1=$(curl -s -o "$WORK/r1" -w '%{http_code}' "$URL/api/v1/clusters")
c2=$(curl -s -o "$WORK/r2" -w '%{http_code}' -X POST "$URL/api/v1/clusters/c1/restores" -d '{"to":"x","latest":true}')
c3=$(curl -s -o "$WORK/r3" -w '%{http_code}' -X POST "$URL/api/v1/clusters/c1/check")
if [ "$c1" = 401 ] && [ "$c2" = 401 ] && [ "$c3" = 401 ] && grep -q 'authentication required' "$WORK/r1"; then
  ok "API calls without a token -> 401 (clusters, restores, check)"
else
  notok "no token" "$c1/$c2/$c3 $(cat "$WORK/r1")"
fi
c1=$(curl -s -o "$WORK/index.html" -w '%{http_code}' "$URL/")
c2=$(curl -s -o "$WORK/app.js" -w '%{http_code}' "$URL/ui/app.js")
c3=$(curl -s -o /dev/null -w '%{http_code}' "$URL/ui/nothing.js")
if [ "$c1" = 200 ] && grep -q '<title>strata cluster manager</title>' "$WORK/index.html" && [ "$c2" = 200 ] &&
  grep -q 'Authorization' "$WORK/app.js" && [ "$c3" = 401 ] && ! grep -qiE 'https?://' "$WORK/index.html"; then
  ok "the UI's files are served without a token from the binary, nothing from outside; an unknown one is not public"
else
  notok "UI files" "/ $c1, /ui/app.js $c2, /ui/nothing.js $c3"
fi

# ---- restores and check: bad input ---------------------------------------------------
api POST /api/v1/clusters/c1/restores '{"to": "x", '
expect "restore: truncated JSON" 400 'malformed JSON body'
api POST /api/v1/clusters/nosuch/restores '{"to": "x", "latest": true}'
expect "restore: unknown cluster" 404 'cluster nosuch is not registered'
api POST /api/v1/clusters/nosuch/check '{}'
expect "check: unknown cluster" 404 'cluster nosuch is not registered'
api POST /api/v1/clusters/c1/restores '{"to": "x"}'
expect "restore: no target is the latest CP (outside the still empty window)" 422 'no complete cluster backup'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "cp": "a"}'
expect "restore: two targets" 400 'give one target at most'
api POST /api/v1/clusters/c1/restores '{"latest": true}'
expect "restore: no new name" 400 'needs "to"'
api POST /api/v1/clusters/c1/restores '{"to": "bad name!", "latest": true}'
expect "restore: bad new name" 400 'new cluster'
api POST /api/v1/clusters/c1/restores '{"to": "c1", "latest": true}'
expect "restore: the source's own name" 400 'must name a new cluster'
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": "2026-13-45 99:00:00"}'
expect "restore: malformed time" 400 "--time '2026-13-45 99:00:00'"
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": 12}'
expect "restore: time of the wrong type" 400 '"time" must be a string'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "base_port": 80}'
expect "restore: base_port out of range" 400 '"base_port": '
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "dir": "relative/dir"}'
expect "restore: relative dir" 400 'must be an absolute path'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "colour": "red"}'
expect "restore: unknown member" 400 'unknown field "colour" in a restore request'
api POST /api/v1/clusters/c1/restores '{"to": "x", "xid": "1234"}'
expect "restore: a per-shard target (xid) is no manager restore's" 400 'xid is not taken by a restore through the cluster manager'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "jobs": 4}'
expect "restore: a node-restore member" 400 'not taken by a restore through the cluster manager'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true}'
expect "restore before any backup: outside the (empty) window" 422 'no complete cluster backup'
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": "2001-01-01 00:00:00+00"}'
expect "restore: time outside the window" 422 'time 2001-01-01 00:00:00+00 is outside the recoverable window of cluster c1'
api POST /api/v1/clusters/c1/restores '{"to": "x", "cp": "no-such-cp"}'
expect "restore: unknown CP" 404 'has no consistency point no-such-cp'
api POST /api/v1/clusters/c1/restore-plan '{"gtxid": "g-no-such"}'
expect "restore-plan: a gtxid never decided" 422 'global transaction g-no-such has no commit decision'
api POST /api/v1/clusters/c1/restore-plan '{"gtxid": "g-1", "cp": "a"}'
expect "restore-plan: two targets" 400 'give one target at most'
api POST /api/v1/clusters/c1/restore-plan '{"shard": "bad shard!", "latest": true}'
expect "restore-plan: a bad shard name" 400 'shard'
alive "$D_PID" && ok "the daemon survived the bad input" || notok "bad input" "the daemon died"

# ---- the browser ---------------------------------------------------------------------
t0=$SECONDS
TMPDIR=$WORK/tmp NODE_PATH=$NPM_CACHE/node_modules STRATA_UI_URL=$URL STRATA_TOKEN=$TOKEN STRATA_SHOTS=$SHOTS \
  STRATA_CHROMIUM=$CHROMIUM STRATA_BIN=$BIN STRATA_META=$META PGBIN=$PGBIN node "$HERE/t_ui_browser.js" >"$WORK/browser.out" 2>"$WORK/browser.log" &
N_PID=$!
wait "$N_PID"
rc=$?
N_PID=
cat "$WORK/browser.out"
grep -q '^not ok' "$WORK/browser.out" && FAILED=1
if [ "$rc" = 0 ] && grep -q '^ok - browser: done' "$WORK/browser.out"; then
  ok "browser flow in $((SECONDS - t0))s"
else
  notok "browser flow" "node exit $rc: $(tail -n 8 "$WORK/browser.log" | tr '\n' ' ')"
fi
stop_browsers

# ---- after the browser: what the API says about the restored cluster -------------------
api GET /api/v1/clusters
NEW=$(echo "$BODY" | grep -o '"name":"c1-ui[^"]*"' | head -n 1 | cut -d'"' -f4)
if [ -n "$NEW" ] && echo "$BODY" | grep -q "\"origin\":\"c1\""; then
  ok "GET clusters lists the restored cluster $NEW with origin c1"
else
  notok "restored cluster listed" "$BODY"
fi
if [ -n "$NEW" ]; then
  api GET "/api/v1/clusters/$NEW"
  if [ "$CODE" = 200 ] && echo "$BODY" | grep -q '"state":"streaming"' && echo "$BODY" | grep -q '"lag_bytes":'; then
    ok "the restored cluster's topology has live state: standbys streaming with lag_bytes"
  else
    notok "restored topology state" "$CODE $BODY"
  fi
  api POST /api/v1/clusters/c1/restores "{\"to\": \"$NEW\", \"latest\": true}"
  expect "restore into a registered name" 409 "cluster $NEW is already registered"
  api POST /api/v1/clusters/c1/restores '{"to": "x", "time": "2001-01-01 00:00:00+00"}'
  expect "restore: a time before the window, which the message gives" 422 \
    'time 2001-01-01 00:00:00+00 is outside the recoverable window of cluster c1, which is from '
  # The check is a job: 202 with its id, the report is the job's result.
  api POST "/api/v1/clusters/$NEW/check" '{}'
  check_job=$(echo "$BODY" | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
  if [ "$CODE" = 202 ] && [ -n "$check_job" ]; then
    for ((i = 0; i < 600; i++)); do
      api GET "/api/v1/jobs/$check_job"
      echo "$BODY" | grep -qE '"state":"(succeeded|failed|cancelled)"' && break
      sleep 0.5
    done
    if echo "$BODY" | grep -q '"kind":"check","state":"succeeded"' && echo "$BODY" | grep -q '"consistent":true' &&
      echo "$BODY" | grep -q '"violations":\[\]'; then
      ok "POST check on $NEW (API) -> job $check_job, its result: consistent"
    else
      notok "check job via API" "$(echo "$BODY" | cut -c1-400)"
    fi
  else
    notok "check via API" "expected 202 with a job, got $CODE $(echo "$BODY" | cut -c1-400)"
  fi
  api GET /api/v1/jobs
  if echo "$BODY" | grep -q '"kind":"restore","state":"succeeded"' && echo "$BODY" | grep -q '"cp_time":' &&
    echo "$BODY" | grep -q '"rolled_back_in_doubt":'; then
    ok "the restore job's result has the CP, its time and the in-doubt counts"
  else
    notok "restore job result" "$(echo "$BODY" | cut -c1-600)"
  fi
fi

# The g- transfers a restored shard holds are exactly the source's
# decisions naming it up to the CP's time (as t_cluster_restore checks).
exact_shard() {   # WHAT PORT SHARD CP_TIME
  local s d
  s=$(psql_at "$BASE" strata "SELECT count(*) || ' ' || coalesce(md5(string_agg(gtxid, ',' ORDER BY gtxid COLLATE \"C\")), '')
    FROM strata.commit_log WHERE decided_at <= '$4' AND '$3' = ANY (participants)")
  d=$(psql_at "$2" bank "SELECT count(*) || ' ' || coalesce(md5(string_agg(t, ',' ORDER BY t COLLATE \"C\")), '')
    FROM (SELECT DISTINCT transfer_id AS t FROM public.transfers WHERE transfer_id LIKE 'g-%') x")
  if [ -n "$s" ] && [ "$s" = "$d" ] && [ "${s%% *}" -gt 0 ]; then
    ok "$1: $3 holds exactly the ${s%% *} decisions naming it up to $4"
  else
    notok "$1: exactness of $3" "restored g- transfers '$d', source decisions '$s'"
  fi
}

# ---- the shard restore (shard2 alone, from the browser) --------------------------------
api GET /api/v1/jobs
SHARD_JOB=$(echo "$BODY" | jq -c '[.jobs[] | select(.kind == "restore" and .state == "succeeded" and .result.shard == "shard2")][0] // empty')
if [ -n "$SHARD_JOB" ]; then
  sport=$(echo "$SHARD_JOB" | jq -r '.result.port')
  scp_time=$(echo "$SHARD_JOB" | jq -r '.result.cp_time')
  st=$(psql_at "$sport" bank "SELECT pg_is_in_recovery()::text || ' ' || (SELECT count(*) FROM pg_prepared_xacts)" 2>&1)
  if [ "$st" = "false 0" ]; then
    ok "the shard restore's instance (port $sport) is a primary with no prepared transaction left"
  else
    notok "shard restore instance" "port $sport: '$st'"
  fi
  exact_shard "shard restore" "$sport" shard2 "$scp_time"
else
  notok "shard restore job" "no succeeded restore job of shard2: $(echo "$BODY" | cut -c1-400)"
fi

# ---- the gtxid restore (from the browser) ---------------------------------------------
read -r G NEW_GTX GCP GMETHOD < <(sed -n 's/^# gtxid restore: //p' "$WORK/browser.out")
if [ -n "${NEW_GTX:-}" ]; then
  api GET "/api/v1/clusters/$NEW_GTX"
  gmeta=$(echo "$BODY" | jq -r '.meta[0].port // empty')
  gs1=$(echo "$BODY" | jq -r '.shards[0].nodes[0].port // empty')
  api GET "/api/v1/clusters/c1/cps"
  gcp_time=$(echo "$BODY" | jq -r --arg n "$GCP" '.cps[] | select(.name == $n) | .time')
  # an exact cut holds the decisions up to G's own, a CP cut those up to the CP
  [ "${GMETHOD:-cp}" = exact ] && gcp_time=$(psql_at "$BASE" strata "SELECT decided_at FROM strata.commit_log WHERE gtxid = '$G'")
  if [ -n "$gmeta" ] && [ "$(psql_at "$gmeta" strata "SELECT count(*) FROM strata.commit_log WHERE gtxid = '$G'")" = 1 ]; then
    ok "the gtxid restore $NEW_GTX: its commit log holds $G"
  else
    notok "gtxid restore" "$G is not in the commit log of $NEW_GTX (meta port '$gmeta')"
  fi
  [ -n "$gs1" ] && [ -n "$gcp_time" ] && exact_shard "gtxid restore" "$gs1" shard1 "$gcp_time" ||
    notok "gtxid restore: exactness" "shard1 port '$gs1', CP $GCP time '$gcp_time'"
fi

n=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
[ "$n" -ge 6 ] && ok "$n screenshots in $SHOTS" || notok "screenshots" "only $n in $SHOTS"
alive "$D_PID" && ok "the daemon is still up" || notok "daemon" "died; $(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"

stop_pid "$D_PID" TERM
D_PID=
exit "$FAILED"
