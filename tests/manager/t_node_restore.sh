#!/usr/bin/env bash
# t_node_restore: cluster restores through node managers. A 1-shard
# cluster from scripts/cluster.sh, a cluster manager with one node manager
# for host 127.0.0.1 (every node of a restored cluster is on 127.0.0.1),
# a backup job, then a restore job through the API whose new primaries
# (task kind "restore", one per replica set) and standbys (task kind
# "standby", one per standby) the node manager runs: its task list shows
# them succeeded, and the restored cluster passes check-consistency.
# Then a failure: the node manager, restarted with a read-rate cap so that
# the copy takes a while, is killed -9 in the middle of a restore task; the
# job fails with a reason naming the node manager, and no instance of that
# restored cluster is left running, its data directories emptied.
#
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# Ports: 31500-31999 only (cluster from 31500, daemons 31600-31699,
# restored clusters 31700-31999).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-noderestore.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RESTORED=$WORK/restored
CM_PID= NM_PID= WL_PID=
# The cap for the failure case (on the pool's stored, compressed bytes): a
# node (~30 MB, ~5 MB stored) takes 10-20 s to copy.
RATE_SLOW=300000

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# The postgres of restored clusters under DIR that run, by their postmaster.pid.
running_under() {   # DIR
  local f pid
  [ -d "$1" ] || return 0
  while read -r f; do
    pid=$(head -n 1 "$f" 2>/dev/null)
    [ -n "$pid" ] && alive "$pid" && echo "$pid"
  done < <(find "$1" -maxdepth 5 -name postmaster.pid 2>/dev/null)
}
stop_restored() {
  local pids pid i left
  pids=$(running_under "$RESTORED")
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -INT "$pid" 2>/dev/null; done
  for ((i = 0; i < 300; i++)); do
    left=0
    for pid in $pids; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
}
cleanup() {
  stop_pid WL_PID
  stop_pid CM_PID
  stop_pid NM_PID
  stop_restored
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
for tool in curl jq; do command -v $tool >/dev/null || { notok "setup" "$tool is not installed"; exit 1; }; done
BASE=$(pick_cluster_base 31500 31600) || { notok "setup" "no free cluster ports in 31500-31599"; exit 1; }
CM_PORT=$(pick_port 31600) || { notok "setup" "no free port in 31600-31649"; exit 1; }
NM_PORT=$(pick_port 31650) || { notok "setup" "no free port in 31650-31699"; exit 1; }
CM=http://127.0.0.1:$CM_PORT
NM=http://127.0.0.1:$NM_PORT

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" --pool "$POOL" \
  --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
"$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log" ||
  notok "workload --init" "$(cat "$WORK/init.log")"
NSETS=$(jq '1 + (.shards | length)' "$DIR/topology.json")
NSTANDBYS=$(jq '[(.meta[]), (.shards[].nodes[]) | select(.role == "standby")] | length' "$DIR/topology.json")

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')        # the cluster manager's API
NTOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')       # cluster manager -> node manager
(umask 077 && echo "$TOKEN" >"$WORK/token" && echo "$NTOKEN" >"$WORK/node.token")
cat >"$WORK/nm.json" <<JSON
{"listen": "127.0.0.1:$NM_PORT", "token_file": "$WORK/node.token", "pool": "$POOL"}
JSON
cat >"$WORK/nm-slow.json" <<JSON
{"listen": "127.0.0.1:$NM_PORT", "token_file": "$WORK/node.token", "pool": "$POOL", "max_rate": $RATE_SLOW}
JSON
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$CM_PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "node_managers": {"127.0.0.1": "$NM"}, "node_token_file": "$WORK/node.token",
 "restore_root": "$RESTORED", "restore_ports": "31700-31999"}
JSON

start_nm() {   # CONFIG
  "$BIN" node-manager --config "$1" >>"$WORK/nm.log" 2>&1 &
  NM_PID=$!
  wait_http "$NM/api/v1/tasks" "$NM_PID"
}
cm() { call "$CM" "$TOKEN" "$@"; }
nm() { call "$NM" "$NTOKEN" "$@"; }
jfc() { echo "$BODY" | jq -c "$1" 2>/dev/null; }  # FILTER on BODY, compact

if start_nm "$WORK/nm.json"; then
  ok "node manager started ($NM, host 127.0.0.1)"
else
  notok "node manager start" "$(tail -n 5 "$WORK/nm.log" | tr '\n' ' ')"
  exit 1
fi
"$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
CM_PID=$!
if wait_http "$CM/metrics" "$CM_PID"; then
  ok "cluster manager started with the node manager"
else
  notok "cluster manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi

# ---- the restore task's bad requests ---------------------------------------------------------
bad=""
check_bad() {   # WANT BODY EXPECTED-TEXT
  nm POST /api/v1/tasks "$2"
  [ "$CODE" = "$1" ] && echo "$BODY" | grep -q "$3" || bad="$bad [$2 -> $CODE $BODY]"
}
R="\"kind\": \"restore\", \"pool_node\": \"c1/shard1\""
check_bad 400 "{$R, \"port\": 31990}" '"target_dir\\" is required'
check_bad 400 "{$R, \"target_dir\": \"rel/x\", \"port\": 31990}" 'absolute path'
check_bad 400 "{$R, \"target_dir\": \"$WORK/x\"}" '"port\\" is required'
check_bad 400 "{$R, \"target_dir\": \"$WORK/x\", \"port\": 31990, \"target\": {\"kind\": \"when\"}}" "unknown target kind 'when'"
check_bad 400 "{$R, \"target_dir\": \"$WORK/x\", \"port\": 31990, \"target\": {\"kind\": \"time\", \"value\": \"2026-13-45\"}}" '"target\\":'
check_bad 400 "{$R, \"target_dir\": \"$WORK/x\", \"port\": 31990, \"settings\": {\"port'\": \"1\"}}" 'not a PostgreSQL setting name'
check_bad 400 "{$R, \"target_dir\": \"$WORK/x\", \"port\": 31990, \"archive_node\": \"c1/shard1\"}" 'must differ'
check_bad 400 "{\"kind\": \"standby\", \"pgdata\": \"$WORK/x\", \"primary_host\": \"127.0.0.1\", \"port\": 31990}" '"primary_port\\" is required'
[ -z "$bad" ] && [ ! -e "$WORK/x" ] && ok "node manager: bad restore/standby tasks get a 400 with a message, nothing written" ||
  notok "bad restore tasks" "$bad"

# ---- a backup, then a restore through the node manager ---------------------------------------
# Transactions (2PC among them) while the backup runs.
"$BIN" workload --meta-conn "$META" --cluster c1 --duration 8 --quiet >"$WORK/workload.log" 2>&1 &
WL_PID=$!
cm POST /api/v1/clusters/c1/backups '{}'
JOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$JOB" 300 && [ "$STATE" = succeeded ]; then
  ok "backup job $JOB succeeded through the node manager: $(jfc .result)"
else
  notok "backup job" "$CODE state $STATE: $BODY"
  exit 1
fi
wait "$WL_PID" 2>/dev/null
WL_PID=
nm GET /api/v1/tasks
TASKS_BEFORE=$(jf '.tasks | length')

t0=$SECONDS
cm POST /api/v1/clusters/c1/restores '{"to": "c1r", "latest": true}'
RJOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$RJOB" 600 && [ "$STATE" = succeeded ]; then
  ok "restore job $RJOB (c1 -> c1r) succeeded in $((SECONDS - t0))s at CP $(jf .result.cp), ports from $(jf .result.base_port)"
else
  notok "restore job" "$CODE state $STATE: $(jf .reason) $BODY"
  exit 1
fi
MPORT=$(jf '.result.topology.meta[] | select(.role == "primary") | .port')
C1R_PORTS=" $(jf '[(.result.topology.meta[]), (.result.topology.shards[].nodes[]), (.result.topology.compute[]?)] | .[].port' | tr '\n' ' ') "
nm GET /api/v1/tasks
NEW=$(echo "$BODY" | jq --argjson n "$TASKS_BEFORE" '.tasks | .[0:(length - $n)]')
restores_ok=$(echo "$NEW" | jq --arg d "$RESTORED/c1r/" '[.[] | select(.kind == "restore" and .state == "succeeded" and (.target_dir | startswith($d)))] | length')
standbys_ok=$(echo "$NEW" | jq --arg d "$RESTORED/c1r/" '[.[] | select(.kind == "standby" and .state == "succeeded" and (.pgdata | startswith($d)))] | length')
others=$(echo "$NEW" | jq '[.[] | select(.state != "succeeded")] | length')
lsns=$(echo "$NEW" | jq -c '[.[] | select(.kind == "restore") | {target_dir, lsn: .result.reached_lsn, state: .result.state, bytes: .progress.bytes_done}]')
if [ "$restores_ok" = "$NSETS" ] && [ "$standbys_ok" = "$NSTANDBYS" ] && [ "$others" = 0 ] &&
  [ "$(echo "$NEW" | jq '[.[] | select(.kind == "restore" and .result.state == "promoted" and .progress.bytes_done > 0)] | length')" = "$NSETS" ]; then
  ok "node manager ran $restores_ok restore tasks (one per replica set) and $standbys_ok standby tasks (one per standby), all succeeded: $lsns"
else
  notok "node manager tasks" "restore $restores_ok/$NSETS, standby $standbys_ok/$NSTANDBYS, not succeeded $others: $NEW"
fi
if grep -q "primary .* restored by $NM" "$WORK/manager.log" && grep -q "standby .* built by $NM" "$WORK/manager.log"; then
  ok "the cluster manager's log names the node manager for primaries and standbys"
else
  notok "cluster manager log" "$(grep -i 'restored by\|built by' "$WORK/manager.log" | head -n 3 | tr '\n' ' ')"
fi
if [ -n "$MPORT" ] && "$BIN" check-consistency --meta-conn "host=127.0.0.1 port=$MPORT dbname=strata" --cluster c1r \
  >"$WORK/check.out" 2>&1; then
  ok "the restored cluster c1r passes check-consistency: $(tail -n 1 "$WORK/check.out")"
else
  notok "check-consistency of c1r" "meta port '$MPORT': $(tail -n 5 "$WORK/check.out" | tr '\n' ' ')"
fi
NRUN=$(running_under "$RESTORED/c1r" | wc -l)
NNODES=$(jq '[(.meta[]), (.shards[].nodes[]), (.compute[]?)] | length' "$DIR/topology.json")
[ "$NRUN" = "$NNODES" ] && ok "all $NRUN instances of c1r run" || notok "c1r instances" "$NRUN running of $NNODES"

# ---- one shard alone through the manager (the restore request's "shard", shared with the CLI) -------
SHARD=$(jq -r '.shards[0].name' "$DIR/topology.json")
cm POST /api/v1/clusters/c1/restores "{\"to\": \"c1s\", \"shard\": \"$SHARD\", \"latest\": true}"
SJOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$SJOB" 600 && [ "$STATE" = succeeded ] && [ -n "$(jf '.result.port // empty')" ]; then
  ok "shard restore job $SJOB ($SHARD of c1 alone, through the manager) succeeded: port $(jf .result.port), $(jf .result.data_dir), archiving into $(jf .result.archive_node)"
  C1R_PORTS="$C1R_PORTS$(jf .result.port) "   # still running: not a leftover of the failure below
else
  notok "shard restore job" "$CODE state $STATE: $(jf .reason) $BODY"
fi

# ---- failure: the node manager killed -9 in the middle of a restore task ---------------------
stop_pid NM_PID
if start_nm "$WORK/nm-slow.json"; then
  ok "node manager restarted with a read cap of $RATE_SLOW bytes/s"
else
  notok "node manager restart" "$(tail -n 5 "$WORK/nm.log" | tr '\n' ' ')"
  exit 1
fi
cm POST /api/v1/clusters/c1/restores '{"to": "c1f", "latest": true}'
FJOB=$(jf .job)
copying=0
for ((i = 0; i < 600 && copying == 0; i++)); do
  nm GET /api/v1/tasks
  [ "$(jf '[.tasks[] | select(.kind == "restore" and .state == "running" and .progress.bytes_done > 0)] | length')" -gt 0 ] 2>/dev/null &&
    copying=1
  [ "$copying" = 1 ] || sleep 0.1
done
if [ "$copying" = 1 ]; then
  ok "restore job $FJOB: a restore task is copying on the node manager: $(jfc '[.tasks[] | select(.kind == "restore") | {id, state, progress}]')"
else
  notok "slow restore" "no restore task copying: $BODY"
fi
kill -KILL "$NM_PID" 2>/dev/null
wait "$NM_PID" 2>/dev/null
NM_PID=
if wait_job "$FJOB" 300 && [ "$STATE" = failed ] && jf .reason | grep -q "node manager $NM" &&
  jf .reason | grep -q "restore of primary"; then
  ok "the job failed with the reason: $(jf .reason | cut -c1-300)"
else
  notok "job after kill -9 of the node manager" "state '$STATE': $BODY"
fi
left=$(running_under "$RESTORED/c1f" | wc -l)
files=$(find "$RESTORED/c1f" -type f 2>/dev/null | grep -v '/sock/' | wc -l)
listening=""
for ((p = 31700; p <= 31999; p++)); do
  port_free "$p" && continue
  case $C1R_PORTS in *" $p "*) ;; *) listening="$listening $p" ;; esac   # c1r's are fine
done
if [ "$left" = 0 ] && [ "$files" = 0 ] && [ -z "$listening" ]; then
  ok "after the failed restore no instance of c1f runs and its directories hold no file"
else
  notok "leftovers of c1f" "$left running, $files files, ports listening:$listening"
fi
cm GET /api/v1/clusters
echo "$BODY" | grep -q '"c1f"' && notok "catalog" "the failed c1f is registered: $BODY" ||
  ok "the failed c1f is not registered"

exit $FAILED
