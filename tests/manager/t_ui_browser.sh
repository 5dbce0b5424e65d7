#!/usr/bin/env bash
# t_ui_browser: the cluster manager's web UI in headless Chromium (Debian's
# chromium, driven by playwright-core from npm, installed here), on a real
# 1-shard cluster from scripts/cluster.sh with the bank workload running:
# log in with the token, see the cluster, Backup (job followed to success),
# the Restore dialog's time picker limited to the window, a restore into a
# new cluster that then shows with its topology, Check consistency on it
# ("consistent"), an API error shown in the dialog. Screenshots of every
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
# Ports (29000-29499 only): the cluster 29000-29012, the daemon 29100-29199,
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
BASE=$(pick_base 29000 29100 20 0 1 2 3 10 11 12) || { notok "setup" "no free cluster ports in 29000-29099"; exit 1; }
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
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
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
# Transfers (2PC across shards are not possible with one shard: single-shard
# and in-doubt handling still run) while the backup is taken.
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
expect "restore: no target" 400 'a restore target is required'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "cp": "a"}'
expect "restore: two targets" 400 'give one restore target only'
api POST /api/v1/clusters/c1/restores '{"latest": true}'
expect "restore: no new name" 400 '"to" is required'
api POST /api/v1/clusters/c1/restores '{"to": "bad name!", "latest": true}'
expect "restore: bad new name" 400 'new cluster'
api POST /api/v1/clusters/c1/restores '{"to": "c1", "latest": true}'
expect "restore: the source's own name" 400 'must name a new cluster'
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": "2026-13-45 99:00:00"}'
expect "restore: malformed time" 400 'malformed time'
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": 12}'
expect "restore: time of the wrong type" 400 '"time" must be a string'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "base_port": 80}'
expect "restore: base_port out of range" 400 '"base_port" must be an integer'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true, "dir": "relative/dir"}'
expect "restore: relative dir" 400 'must be an absolute path'
api POST /api/v1/clusters/c1/restores '{"to": "x", "latest": true}'
expect "restore before any backup: outside the (empty) window" 422 'no complete cluster backup'
api POST /api/v1/clusters/c1/restores '{"to": "x", "time": "2001-01-01 00:00:00+00"}'
expect "restore: time outside the window" 422 'time 2001-01-01 00:00:00+00 is outside the recoverable window of cluster c1'
api POST /api/v1/clusters/c1/restores '{"to": "x", "cp": "no-such-cp"}'
expect "restore: unknown CP" 404 'has no consistency point no-such-cp'
alive "$D_PID" && ok "the daemon survived the bad input" || notok "bad input" "the daemon died"

# ---- the browser ---------------------------------------------------------------------
t0=$SECONDS
TMPDIR=$WORK/tmp NODE_PATH=$NPM_CACHE/node_modules STRATA_UI_URL=$URL STRATA_TOKEN=$TOKEN STRATA_SHOTS=$SHOTS \
  STRATA_CHROMIUM=$CHROMIUM node "$HERE/t_ui_browser.js" >"$WORK/browser.out" 2>"$WORK/browser.log" &
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
  api POST "/api/v1/clusters/$NEW/check" '{}'
  if [ "$CODE" = 200 ] && echo "$BODY" | grep -q '"consistent":true' && echo "$BODY" | grep -q '"violations":\[\]'; then
    ok "POST check on $NEW (API) -> consistent"
  else
    notok "check via API" "$CODE $(echo "$BODY" | cut -c1-400)"
  fi
  api GET /api/v1/jobs
  if echo "$BODY" | grep -q '"kind":"restore","state":"succeeded"' && echo "$BODY" | grep -q '"cp_time":' &&
    echo "$BODY" | grep -q '"rolled_back_in_doubt":'; then
    ok "the restore job's result has the CP, its time and the in-doubt counts"
  else
    notok "restore job result" "$(echo "$BODY" | cut -c1-600)"
  fi
fi
n=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
[ "$n" -ge 6 ] && ok "$n screenshots in $SHOTS" || notok "screenshots" "only $n in $SHOTS"
alive "$D_PID" && ok "the daemon is still up" || notok "daemon" "died; $(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"

stop_pid "$D_PID" TERM
D_PID=
exit "$FAILED"
