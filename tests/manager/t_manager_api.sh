#!/usr/bin/env bash
# t_manager_api: strata cluster-manager against a real 1-shard cluster from
# scripts/cluster.sh. Authentication on every endpoint; bad JSON, an unknown
# cluster, a malformed time, an oversized body, an unknown path and a wrong
# method each get a 4xx with a message; a CP taken through the API; a backup
# job run to success; the window, the restore plan and /metrics; a daemon
# killed (-9) during a backup job fails that job with a reason after a
# restart, instead of leaving it 'running'; SIGTERM stops it with exit 0;
# the same over TLS (a self-signed certificate made with openssl).
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/manager/t_manager_api.sh
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# Ports: the cluster from 25000 (25000-25012), the daemon from 25100.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-manager.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
D_PID=

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

stop_daemon() { stop_pid D_PID; D_RC=$STOP_RC; }   # the daemon; sets D_RC
cleanup() {
  stop_daemon
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
command -v curl >/dev/null || { notok "setup" "curl is not installed"; exit 1; }
BASE=$(pick_cluster_base 25000 25100) || { notok "setup" "no free cluster ports in 25000-25099"; exit 1; }
PORT=$(pick_port 25100 100) || { notok "setup" "no free daemon port in 25100-25199"; exit 1; }
URL=http://127.0.0.1:$PORT

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" \
  --pool "$POOL" 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
if ! "$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log"; then
  notok "workload --init" "$(cat "$WORK/init.log")"
fi

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TOKEN" >"$WORK/token")
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL"}
JSON

start_daemon() {
  "$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
  D_PID=$!
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null "$URL/metrics" 2>/dev/null && return 0
    kill -0 "$D_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# api METHOD PATH [BODY]: sets CODE and BODY (with the token)
api() {
  local data=()
  [ "$#" -ge 3 ] && data=(--data-binary "$3" -H 'Content-Type: application/json')
  CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" "${data[@]}" "$URL$2")
  BODY=$(cat "$WORK/resp")
}
json_field() {   # FIELD: the first "FIELD":value in BODY (scalar)
  echo "$BODY" | grep -o "\"$1\":[^,}]*" | head -n 1 | cut -d: -f2- | tr -d '"'
}

if start_daemon; then
  ok "cluster-manager started (pid $D_PID, port $PORT)"
else
  notok "cluster-manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi

# ---- authentication ----------------------------------------------------------------
c1=$(curl -s -o "$WORK/r1" -w '%{http_code}' "$URL/api/v1/clusters")
c2=$(curl -s -o "$WORK/r2" -w '%{http_code}' -H "Authorization: Bearer wrong-token-of-some-length" "$URL/api/v1/clusters")
c3=$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")
c4=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "$URL/api/v1/jobs")
if [ "$c1" = 401 ] && grep -q '"error":"authentication required' "$WORK/r1" && [ "$c2" = 401 ] &&
  grep -q '"error":"invalid API token"' "$WORK/r2" && [ "$c3" = 401 ] && [ "$c4" = 401 ]; then
  ok "authentication: no token, a wrong token, a longer token -> 401 with a message (also /metrics)"
else
  notok "authentication" "codes $c1/$c2/$c3/$c4: $(cat "$WORK/r1" "$WORK/r2")"
fi
"$BIN" cluster-manager --config "$WORK/manager.json" --token "$TOKEN" >/dev/null 2>&1
[ "$?" = 2 ] && ok "a token on the command line is refused (exit 2)" || notok "token on the command line" "not refused"

# ---- reading ---------------------------------------------------------------------------
api GET /api/v1/clusters
[ "$CODE" = 200 ] && echo "$BODY" | grep -q '"name":"c1"' && ok "GET /api/v1/clusters lists c1" ||
  notok "GET clusters" "$CODE $BODY"
api GET /api/v1/clusters/c1
[ "$CODE" = 200 ] && echo "$BODY" | grep -q '"name":"shard1"' && ok "GET /api/v1/clusters/c1: topology" ||
  notok "GET cluster" "$CODE $BODY"
api GET /api/v1/clusters/nosuch
[ "$CODE" = 404 ] && echo "$BODY" | grep -q '"error":"cluster nosuch is not registered' &&
  ok "unknown cluster -> 404 naming it" || notok "unknown cluster" "$CODE $BODY"
api GET /api/v1/clusters/nosuch/backups
[ "$CODE" = 404 ] && ok "unknown cluster's backups -> 404" || notok "unknown cluster backups" "$CODE $BODY"
api GET "/api/v1/clusters/bad%20name"
[ "$CODE" = 400 ] && echo "$BODY" | grep -q '"error":' && ok "invalid cluster name -> 400" ||
  notok "invalid cluster name" "$CODE $BODY"

# ---- bad input -------------------------------------------------------------------------
api POST /api/v1/clusters/c1/cps '{"name": '
c_a=$CODE b_a=$BODY
api POST /api/v1/clusters/c1/cps '{"name": "x"} trailing'
c_b=$CODE
api POST /api/v1/clusters/c1/cps '[1, 2]'
c_c=$CODE
api POST /api/v1/clusters/c1/backups '{"shard": 7}'
c_d=$CODE
if [ "$c_a" = 400 ] && echo "$b_a" | grep -q '"error":"malformed JSON body' && [ "$c_b" = 400 ] && [ "$c_c" = 400 ] &&
  [ "$c_d" = 400 ]; then
  ok "bad JSON (truncated, trailing data, not an object, wrong type) -> 400 with a message"
else
  notok "bad JSON" "$c_a/$c_b/$c_c/$c_d: $b_a"
fi
# a CP request through the codec `strata cp create` uses: strict, its rules
api POST /api/v1/clusters/c1/cps '{"colour": "red"}'
c_a=$CODE b_a=$BODY
api POST /api/v1/clusters/c1/cps '{"name": "x", "every": 2}'
c_b=$CODE b_b=$BODY
api POST /api/v1/clusters/c1/cps '{"timeout_ms": 5}'
c_c=$CODE b_c=$BODY
if [ "$c_a" = 400 ] && echo "$b_a" | grep -q 'colour' && [ "$c_b" = 400 ] && echo "$b_b" | grep -q 'does not apply' &&
  [ "$c_c" = 400 ] && echo "$b_c" | grep -q 'out of range'; then
  ok "CP request: an unknown member, a CLI-only field, a bound below 10 ms -> 400 naming it"
else
  notok "CP request" "$c_a $b_a / $c_b $b_b / $c_c $b_c"
fi
api POST /api/v1/clusters/c1/restore-plan '{"time": "2026-13-45 99:00:00"}'
c_a=$CODE b_a=$BODY
api POST /api/v1/clusters/c1/restore-plan '{"time": "yesterday"}'
c_b=$CODE
api POST /api/v1/clusters/c1/restore-plan '{}'
c_c=$CODE
if [ "$c_a" = 400 ] && echo "$b_a" | grep -q '"error":"malformed time' && [ "$c_b" = 400 ] && [ "$c_c" = 400 ]; then
  ok "malformed or missing time -> 400 'malformed time: ...'"
else
  notok "malformed time" "$c_a/$c_b/$c_c: $b_a"
fi
head -c 70000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" --data-binary @"$WORK/big.json" \
  "$URL/api/v1/clusters/c1/cps")
[ "$CODE" = 413 ] && ok "body > 64 KiB -> 413" || notok "big body" "$CODE $(cat "$WORK/resp")"
api GET /api/v1/nothing
c_a=$CODE
api GET /nothing/at/all
c_b=$CODE
api DELETE /api/v1/clusters/c1
c_c=$CODE b_c=$BODY
api POST /api/v1/clusters/c1/window '{}'
c_d=$CODE
api GET /api/v1/jobs/abc
c_e=$CODE
api GET /api/v1/jobs/999999
c_f=$CODE
if [ "$c_a" = 404 ] && [ "$c_b" = 404 ] && [ "$c_c" = 405 ] && echo "$b_c" | grep -q 'not allowed' && [ "$c_d" = 405 ] &&
  [ "$c_e" = 400 ] && [ "$c_f" = 404 ]; then
  ok "unknown path -> 404, wrong method -> 405, bad job id -> 400, unknown job -> 404"
else
  notok "paths and methods" "$c_a/$c_b/$c_c/$c_d/$c_e/$c_f"
fi
kill -0 "$D_PID" 2>/dev/null && ok "the daemon survived the bad input" || notok "bad input" "the daemon died"

# ---- a CP, a backup job ---------------------------------------------------------------
api POST /api/v1/clusters/c1/cps '{"name": "api-cp-1"}'
if [ "$CODE" = 201 ] && echo "$BODY" | grep -q '"name":"api-cp-1"' && echo "$BODY" | grep -q '"shard1":'; then
  ok "POST cps -> 201 with the CP"
else
  notok "POST cps" "$CODE $BODY"
fi
api POST /api/v1/clusters/c1/cps '{"name": "api-cp-1"}'
[ "$CODE" = 409 ] && ok "the same CP name again -> 409" || notok "duplicate CP" "$CODE $BODY"

wait_job() {   # ID TIMEOUT: polls until the job is no longer queued/running; sets STATE
  local t=$((SECONDS + $2))
  while [ $SECONDS -lt $t ]; do
    api GET "/api/v1/jobs/$1"
    STATE=$(json_field state)
    case $STATE in succeeded | failed) return 0 ;; esac
    sleep 0.5
  done
  return 1
}
api POST /api/v1/clusters/c1/backups '{}'
JOB=$(json_field job)
if [ "$CODE" = 202 ] && [ -n "$JOB" ]; then
  ok "POST backups -> 202, job $JOB"
  t0=$SECONDS
  if wait_job "$JOB" 120 && [ "$STATE" = succeeded ]; then
    BACKUP=$(json_field backup)
    ok "job $JOB succeeded in $((SECONDS - t0))s: backup $BACKUP"
  else
    notok "backup job" "state '$STATE' after $((SECONDS - t0))s: $BODY"
  fi
else
  notok "POST backups" "$CODE $BODY"
fi
# The job's log: its own lines, tagged with it, its worker threads' included.
api GET "/api/v1/jobs/$JOB/log"
if [ "$CODE" = 200 ] && echo "$BODY" | jq -e --arg t "[job $JOB]" \
    '.running == false and (.lines | length) > 2 and all(.lines[]; test("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]{12}[+-][0-9]{4} P[0-9]+ [A-Z]+ ") and contains($t)) and any(.lines[]; contains("started"))' >/dev/null; then
  ok "GET /api/v1/jobs/$JOB/log: $(echo "$BODY" | jq '.lines | length') line(s), each with time, pid, level and [job $JOB]"
else
  notok "GET /api/v1/jobs/$JOB/log" "$CODE $(echo "$BODY" | head -c 400)"
fi
grep -q "INFO \[job $JOB\] job $JOB: backup of cluster c1 started" "$WORK/manager.log" &&
  ok "the daemon's own log carries the job's tag" || notok "job tag in the daemon log" "$(grep -m2 "job $JOB" "$WORK/manager.log")"
api GET "/api/v1/jobs/999999/log"
[ "$CODE" = 404 ] && ok "GET /api/v1/jobs/999999/log -> 404" || notok "log of an unknown job" "$CODE $BODY"
api GET /api/v1/clusters/c1/backups
[ "$CODE" = 200 ] && [ -n "${BACKUP:-}" ] && echo "$BODY" | grep -q "\"id\":\"$BACKUP\"" &&
  ok "GET backups lists $BACKUP" || notok "GET backups" "$CODE $BODY"
api GET /api/v1/clusters/c1/cps
[ "$CODE" = 200 ] && echo "$BODY" | grep -q '"name":"api-cp-1"' && ok "GET cps lists api-cp-1" ||
  notok "GET cps" "$CODE $BODY"
sleep 1
api POST /api/v1/clusters/c1/cps '{}'
[ "$CODE" = 201 ] || notok "POST cps (default name)" "$CODE $BODY"
api GET /api/v1/clusters/c1/window
FROM=$(json_field from) TO=$(json_field to)
if [ "$CODE" = 200 ] && [ -n "$FROM" ] && [ "$FROM" != null ] && [ -n "$TO" ] && [ "$TO" != null ]; then
  ok "window: from $FROM to $TO"
else
  notok "window" "$CODE $BODY"
fi
api POST /api/v1/clusters/c1/restore-plan "{\"time\": \"$TO\"}"
[ "$CODE" = 200 ] && echo "$BODY" | grep -q "\"backup\":\"${BACKUP:-x}\"" && ok "restore-plan at the window's end: a CP and backup $BACKUP" ||
  notok "restore-plan" "$CODE $BODY"
api POST /api/v1/clusters/c1/restore-plan '{"time": "2001-01-01 00:00:00+00"}'
[ "$CODE" = 422 ] && echo "$BODY" | grep -q 'outside the recoverable window' && ok "restore-plan before the window -> 422" ||
  notok "restore-plan before the window" "$CODE $BODY"

api GET /metrics
miss=""
for m in 'strata_last_backup_age_seconds{cluster="c1"}' 'strata_last_backup_age_seconds{cluster="c1",shard="shard1"}' \
  'strata_jobs{state="succeeded"} ' 'strata_jobs{state="running"} 0' 'strata_cp_pause_ms{cluster="c1"}' \
  'strata_wal_archive_lag_bytes{cluster="c1",shard="shard1"}' '# TYPE strata_jobs gauge'; do
  grep -qF "$m" "$WORK/resp" || miss="$miss $m"
done
[ "$CODE" = 200 ] && [ -z "$miss" ] && ok "/metrics: backup age, jobs by state, CP pause, WAL archive lag" ||
  notok "/metrics" "$CODE missing:$miss"
api GET /api/v1/jobs
[ "$CODE" = 200 ] && echo "$BODY" | grep -q "\"id\":$JOB," && ok "GET jobs lists job $JOB" || notok "GET jobs" "$CODE $BODY"

# ---- a daemon killed during a job ------------------------------------------------------
api POST /api/v1/clusters/c1/backups '{}'
JOB2=$(json_field job)
STATE=
for ((i = 0; i < 200; i++)); do
  api GET "/api/v1/jobs/$JOB2"
  STATE=$(json_field state)
  [ "$STATE" = queued ] || break
  sleep 0.05
done
if [ "$STATE" = running ]; then
  kill -KILL "$D_PID"
  wait "$D_PID" 2>/dev/null
  D_PID=
  if start_daemon; then
    api GET "/api/v1/jobs/$JOB2"
    if [ "$(json_field state)" = failed ] && echo "$BODY" | grep -q '"reason":"cluster manager restarted while the job was running"'; then
      ok "kill -9 during job $JOB2, restart: the job is failed with a reason"
    else
      notok "restart after kill -9" "$BODY"
    fi
  else
    notok "restart after kill -9" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  fi
else
  notok "kill -9 during a job" "job $JOB2 was '$STATE', not running, when it was to be killed"
fi

# ---- SIGTERM ----------------------------------------------------------------------------
stop_daemon
[ "$D_RC" = 0 ] && ok "SIGTERM: the daemon exits 0" || notok "SIGTERM" "exit $D_RC: $(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"

# ---- TLS ----------------------------------------------------------------------------------
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 >/dev/null 2>&1
  chmod 600 "$WORK/key.pem"
  cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "tls_cert": "$WORK/cert.pem", "tls_key": "$WORK/key.pem"}
JSON
  URL=https://127.0.0.1:$PORT
  "$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
  D_PID=$!
  for ((i = 0; i < 300; i++)); do
    curl -s -o /dev/null --cacert "$WORK/cert.pem" "$URL/metrics" 2>/dev/null && break
    sleep 0.1
  done
  c1=$(curl -s -o "$WORK/resp" -w '%{http_code}' --cacert "$WORK/cert.pem" -H "Authorization: Bearer $TOKEN" "$URL/api/v1/clusters")
  c2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/cert.pem" "$URL/api/v1/clusters")
  stop_daemon
  if [ "$c1" = 200 ] && grep -q '"name":"c1"' "$WORK/resp" && [ "$c2" = 401 ] && [ "$D_RC" = 0 ]; then
    ok "TLS (tls_cert/tls_key): HTTPS with the token 200, without 401; SIGTERM exit 0"
  else
    notok "TLS" "codes $c1/$c2, exit $D_RC: $(tail -n 3 "$WORK/manager.log" | tr '\n' ' ')"
  fi
else
  ok "# skip TLS: no openssl command"
fi

if bash "$CLUSTER_SH" destroy "$DIR" 2>"$WORK/destroy.log"; then
  ok "cluster destroyed"
else
  notok "destroy" "$(cat "$WORK/destroy.log")"
fi
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
