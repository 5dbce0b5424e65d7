#!/usr/bin/env bash
# t_manager_policy: backup policies, retention and the CP schedule of
# strata cluster-manager on a real 1-shard cluster. Bad policies get 400s
# with a message, an unknown cluster or shard 404, an unknown policy 404;
# a policy "every 5 s, keep the last 2" runs at least 3 backup jobs, each
# followed by an expire job, and once paused (PATCH enabled=false) and
# idle the pool lists exactly the 2 newest cluster backups; the CP schedule
# (cp_every_seconds) takes CPs on its own; last_run_at survives a restart
# of the daemon, which then does not run the policy again before its time.
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/manager/t_manager_policy.sh
# Ports: the cluster 29600-29689 (base + 0-3, 10-12), the daemon 29700-29719.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-policy.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
D_PID=

# shellcheck source=lib.sh
. "$HERE/lib.sh"

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
BASE=$(pick_base 29600 29690 20 0 1 2 3 10 11 12) || { notok "setup" "no free cluster ports in 29600-29689"; exit 1; }
PORT=
for ((p = 29700; p < 29720; p++)); do port_free "$p" && { PORT=$p; break; }; done
[ -n "$PORT" ] || { notok "setup" "no free daemon port in 29700-29719"; exit 1; }
URL=http://127.0.0.1:$PORT

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" --pool "$POOL" \
  --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TOKEN" >"$WORK/token")
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "cp_every_seconds": {"c1": 2}}
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
api() {   # METHOD PATH [BODY]: sets CODE, BODY and $WORK/resp
  local data=()
  [ "$#" -ge 3 ] && data=(--data-binary "$3" -H 'Content-Type: application/json')
  CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" "${data[@]}" "$URL$2")
  BODY=$(cat "$WORK/resp")
}
expect() {   # WANT_CODE MESSAGE_PATTERN DESCRIPTION METHOD PATH [BODY]
  local want=$1 pat=$2 what=$3
  shift 3
  api "$@"
  if [ "$CODE" = "$want" ] && echo "$BODY" | grep -q -- "$pat"; then
    ok "$what: $CODE $(echo "$BODY" | cut -c1-140)"
  else
    notok "$what" "$1 $2 ${3:-}: $CODE $BODY (want $want, /$pat/)"
  fi
}
count_json() {   # PYTHON EXPRESSION over d = the JSON in $WORK/resp
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$WORK/resp" 2>/dev/null
}

# A config with a bad cp_every_seconds is refused at start.
echo "{\"listen\": \"127.0.0.1:$PORT\", \"token_file\": \"$WORK/token\", \"meta_conn\": \"$META\", \"pool\": \"$POOL\", \"cp_every_seconds\": -3}" >"$WORK/bad.json"
if "$BIN" cluster-manager --config "$WORK/bad.json" >/dev/null 2>"$WORK/bad.log"; then
  notok "bad cp_every_seconds" "the daemon started"
else
  grep -q "cp_every_seconds" "$WORK/bad.log" && ok "bad cp_every_seconds refused: $(short "$WORK/bad.log")" ||
    notok "bad cp_every_seconds" "$(short "$WORK/bad.log")"
fi

if start_daemon; then
  ok "cluster-manager started (pid $D_PID, port $PORT)"
else
  notok "cluster-manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi
api GET /api/v1/clusters/c1/cps
CPS0=$(count_json 'len(d["cps"])')

# ---- bad input ----------------------------------------------------------------------------
P=/api/v1/clusters/c1/policies
expect 404 "cluster nosuch is not registered" "unknown cluster (POST)" POST /api/v1/clusters/nosuch/policies '{"period_seconds": 5}'
expect 404 "cluster nosuch is not registered" "unknown cluster (GET)" GET /api/v1/clusters/nosuch/policies
expect 400 "period_seconds.*out of range" "period 0" POST $P '{"period_seconds": 0, "keep_last": 2}'
expect 400 "period_seconds.*whole number" "period as a string" POST $P '{"period_seconds": "5"}'
expect 400 "period_seconds.*out of range" "period of 10 years" POST $P '{"period_seconds": 315360000}'
expect 400 "hours are 00-23" "window 25:00-26:00" POST $P '{"window": "25:00-26:00"}'
expect 400 "not HH:MM-HH:MM" "window 'nightly'" POST $P '{"window": "nightly"}'
expect 400 "is empty" "window 02:00-02:00" POST $P '{"window": "02:00-02:00"}'
expect 400 "one of them" "period and window" POST $P '{"period_seconds": 5, "window": "01:00-02:00"}'
expect 400 "one of them" "no schedule" POST $P '{"keep_last": 2}'
expect 400 "keep_last.*out of range" "keep_last 0" POST $P '{"period_seconds": 5, "keep_last": 0}'
expect 400 "keep_days.*out of range" "keep_days -1" POST $P '{"period_seconds": 5, "keep_days": -1}'
expect 400 "not both" "keep_last and keep_days" POST $P '{"period_seconds": 5, "keep_last": 2, "keep_days": 3}'
expect 400 "is not a backup type (full, incr or diff)" "type incremental" POST $P '{"period_seconds": 5, "type": "incremental"}'
expect 400 "not a policy kind" "kind restore" POST $P '{"period_seconds": 5, "kind": "restore"}'
expect 400 'unknown member .*every' "unknown member" POST $P '{"every": 5}'
expect 400 "malformed JSON body" "truncated JSON" POST $P '{"period_seconds": 5'
expect 404 "has no shard nosuch" "unknown shard" POST $P '{"period_seconds": 5, "shard": "nosuch"}'
expect 400 "not a positive whole number" "DELETE a bad id" DELETE /api/v1/policies/abc
expect 404 "there is no policy 999999" "DELETE an unknown policy" DELETE /api/v1/policies/999999
expect 404 "there is no policy 999999" "PATCH an unknown policy" PATCH /api/v1/policies/999999 '{"enabled": false}'
expect 405 "not allowed" "GET a policy" GET /api/v1/policies/1
api GET $P
[ "$CODE" = 200 ] && [ "$(count_json 'len(d["policies"])')" = 0 ] && ok "no policy was recorded by the bad requests" ||
  notok "policies after bad input" "$CODE $BODY"

# ---- a policy that never runs, listed and deleted ---------------------------------------------
expect 201 '"window":"01:00-03:00"' "a disabled nightly policy" POST $P '{"window": "01:00-03:00", "keep_days": 7, "enabled": false, "shard": "shard1"}'
NIGHTLY=$(count_json 'd["id"]')
# Edited (PATCH): the schedule and the retention, each replacing its other form.
N=/api/v1/policies/$NIGHTLY
expect 200 '"window":"02:00-04:00","keep_last":3,"keep_days":null,"enabled":false' "PATCH: new window, keep_last replaces keep_days" \
  PATCH "$N" '{"window": "02:00-04:00", "keep_last": 3}'
expect 200 '"period_seconds":3600,"window":null,"keep_last":3' "PATCH: a period replaces the window, the retention stays" \
  PATCH "$N" '{"period_seconds": 3600}'
expect 200 '"keep_last":null,"keep_days":null,"enabled":false' "PATCH: keep everything" PATCH "$N" '{"keep_last": null, "keep_days": null}'
expect 400 "not both" "PATCH: period and window" PATCH "$N" '{"period_seconds": 60, "window": "01:00-02:00"}'
expect 400 "not both" "PATCH: keep_last and keep_days" PATCH "$N" '{"keep_last": 1, "keep_days": 1}'
expect 400 "is not HH:MM-HH:MM" "PATCH: a malformed window" PATCH "$N" '{"window": "nightly"}'
expect 400 'unknown member .*shard' "PATCH: the scope cannot change" PATCH "$N" '{"shard": "shard1"}'
expect 400 "nothing to change" "PATCH: an empty body" PATCH "$N" '{}'
expect 400 'must be true or false' "PATCH: enabled not a boolean" PATCH "$N" '{"enabled": 1}'
expect 200 "\"deleted\":$NIGHTLY" "DELETE the nightly policy" DELETE "/api/v1/policies/$NIGHTLY"
# Incremental cluster backups on a schedule: the type is recorded (the scheduler
# passes it to the backup job; t_cluster_incr runs incremental cluster backups).
expect 201 '"type":"incr"' "a disabled policy of incremental backups" POST $P '{"period_seconds": 3600, "type": "incr", "enabled": false}'
INCR=$(count_json 'd["id"]')
expect 201 '"type":"diff"' "a disabled policy of differential backups" POST $P '{"period_seconds": 3600, "type": "diff", "enabled": false}'
DIFF=$(count_json 'd["id"]')
expect 200 "\"deleted\":$INCR" "DELETE the incremental policy" DELETE "/api/v1/policies/$INCR"
expect 200 "\"deleted\":$DIFF" "DELETE the differential policy" DELETE "/api/v1/policies/$DIFF"

# ---- every 5 s, keep the last 2 ------------------------------------------------------------
T_POLICY=$SECONDS
expect 201 '"period_seconds":5' "policy every 5 s, keep_last 2" POST $P '{"period_seconds": 5, "keep_last": 2}'
PID_=$(count_json 'd["id"]')
jobs_of() {   # KIND STATE: jobs of our policy
  api GET /api/v1/jobs
  count_json "sum(1 for j in d['jobs'] if j['kind'] in '$1'.split(',') and j['state'] in '$2'.split(',') and (j.get('params') or {}).get('policy') == $PID_)"
}
nb=0
for ((i = 0; i < 120; i++)); do
  nb=$(jobs_of backup succeeded)
  [ "${nb:-0}" -ge 3 ] && break
  sleep 1
done
el=$((SECONDS - T_POLICY))
failed=$(jobs_of backup failed)
if [ "${nb:-0}" -ge 3 ] && [ "${failed:-0}" = 0 ]; then
  ok "$nb backup jobs of the policy succeeded in ${el}s (none failed)"
else
  notok "policy backups" "$nb succeeded, $failed failed after ${el}s: $(grep -i error "$WORK/manager.log" | tail -n 3 | tr '\n' ' ')"
fi
# Pause it: no new backup; the retention of the finished ones still runs.
expect 200 '"enabled":false' "PATCH the policy: enabled false" PATCH "/api/v1/policies/$PID_" '{"enabled": false}'
idle=0
for ((i = 0; i < 90; i++)); do
  q=$(jobs_of backup,expire queued,running)
  last_b=$(count_json "max([j['id'] for j in d['jobs'] if j['kind'] == 'backup' and (j.get('params') or {}).get('policy') == $PID_] or [0])")
  last_e=$(count_json "max([j['params']['after_job'] for j in d['jobs'] if j['kind'] == 'expire' and j['state'] == 'succeeded' and (j.get('params') or {}).get('policy') == $PID_] or [0])")
  [ "$q" = 0 ] && [ "$last_e" = "$last_b" ] && { idle=1; break; }
  sleep 1
done
ne=$(jobs_of expire succeeded)
nef=$(jobs_of expire failed)
nb=$(jobs_of backup succeeded)
if [ "$idle" = 1 ] && [ "${nef:-0}" = 0 ] && [ "${ne:-0}" -ge 2 ]; then
  ok "after pausing: idle; $nb backup job(s), $ne expire job(s) succeeded, the last after backup job $last_b"
else
  notok "expire jobs" "idle=$idle, $ne expire succeeded, $nef failed, last backup job $last_b, last expired after $last_e"
fi
api GET /api/v1/clusters/c1/backups
n_pool=$(count_json 'len(d["backups"])')
newest=$(count_json '" ".join(b["id"] for b in d["backups"])')
on_disk=$(ls "$POOL/clusters/c1/backups" | paste -sd' ')
if [ "$n_pool" = 2 ] && [ "$on_disk" = "$newest" ]; then
  ok "the pool lists only the 2 newest cluster backups: $newest"
else
  notok "retention" "the API lists $n_pool ($newest), the pool directory holds '$on_disk'"
fi
api GET "/api/v1/jobs"
bids=$(count_json "' '.join(j['result']['backup'] for j in d['jobs'] if j['kind'] == 'backup' and j['state'] == 'succeeded' and (j.get('params') or {}).get('policy') == $PID_)")
expected=$(echo "$bids" | tr ' ' '\n' | sort | tail -n 2 | paste -sd' ')
[ -n "$newest" ] && [ "$expected" = "$newest" ] && ok "they are the backups of the policy's last two jobs" ||
  notok "kept backups" "pool: '$newest', last two jobs' backups: '$expected'"
if "$BIN" verify --pool "$POOL" >"$WORK/verify.out" 2>&1; then
  ok "strata verify is clean after the policy's expiry"
else
  notok "verify" "$(short "$WORK/verify.out")"
fi

# ---- the CP schedule ----------------------------------------------------------------------
api GET /api/v1/clusters/c1/cps
CPS1=$(count_json 'len(d["cps"])')
sched=$(count_json "sum(1 for c in d['cps'] if c['name'].startswith('cp-c1-'))")
sleep 5
api GET /api/v1/clusters/c1/cps
CPS2=$(count_json 'len(d["cps"])')
sched2=$(count_json "sum(1 for c in d['cps'] if c['name'].startswith('cp-c1-'))")
if [ "${sched2:-0}" -gt "${sched:-0}" ] && [ "${sched2:-0}" -ge 2 ] && [ "${CPS2:-0}" -gt "${CPS1:-0}" ]; then
  ok "the CP schedule takes CPs: $sched2 scheduled CPs in the pool, CPs in the pool $CPS0 -> $CPS1 -> $CPS2 (those before the oldest kept backup expire with it)"
else
  notok "CP schedule" "scheduled CPs $sched -> $sched2, CPs $CPS0 -> $CPS1 -> $CPS2"
fi
grep -q "CP schedule: cluster c1" "$WORK/manager.log" &&
  notok "CP schedule" "failures logged: $(grep "CP schedule" "$WORK/manager.log" | tail -n 2 | tr '\n' ' ')" ||
  ok "no CP of the schedule failed"

# ---- restart: last_run_at persists, a re-enabled policy runs once, when due --------------------
api GET $P
last_run=$(count_json "[p for p in d['policies'] if p['id'] == $PID_][0]['last_run_at']")
stop_daemon
[ "$D_RC" = 0 ] && ok "SIGTERM: the daemon stopped with exit 0" || notok "SIGTERM" "exit $D_RC"
if start_daemon; then
  api GET $P
  lr2=$(count_json "[p for p in d['policies'] if p['id'] == $PID_][0]['last_run_at']")
  [ -n "$last_run" ] && [ "$last_run" != None ] && [ "$lr2" = "$last_run" ] && ok "after a restart the policy's last_run_at is kept ($lr2)" ||
    notok "last_run_at after restart" "'$last_run' then '$lr2'"
  nb_before=$(jobs_of backup succeeded,queued,running,failed)
  sleep 3
  nb_after=$(jobs_of backup succeeded,queued,running,failed)
  [ "${nb_before:-0}" -ge 3 ] && [ "$nb_after" = "$nb_before" ] && ok "a paused policy queues nothing after the restart ($nb_after backup jobs)" ||
    notok "paused policy" "backup jobs $nb_before -> $nb_after"
else
  notok "restart" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
fi
stop_daemon
[ "$D_RC" = 0 ] || notok "SIGTERM" "exit $D_RC"
exit "$FAILED"
