#!/usr/bin/env bash
# t_node_manager: strata node-manager, and cluster backups that the cluster
# manager sends to node managers, on a real 1-shard cluster from
# scripts/cluster.sh.
#
# Two node managers on this one machine: every node listens on 127.0.0.1,
# so the topology is registered again with the third node of each replica
# set (meta-3, shard1-3) under the host name "localhost" (the same address).
# Node manager A serves host "127.0.0.1" (the first standbys, where backups
# go) and caps its read rate so that a backup takes several seconds; node
# manager B serves host "localhost" (the other standbys, the retry target).
#
# Covered: the node manager's authentication (no token, the cluster
# manager's API token: 401) and bad requests (4xx with a message); an
# archive-status task; a backup job through the cluster manager done by
# node manager A (its task list shows the tasks; the job shows per-set
# progress); kill -9 of node manager A mid-backup: the job is retried on
# the other standbys through node manager B and succeeds, or fails with a
# reason, never hangs, and the pool lists no partial node backup as
# complete; kill -9 of the cluster manager mid-backup, restart: the job is
# failed with "cluster manager restarted...", no new cluster backup is in
# the pool, and a new job succeeds; start/stop and rebuild-standby tasks (a
# standby restored from the pool and streaming again; refused onto a running
# instance or a non-empty directory without force); a node manager over TLS;
# SIGTERM stops every daemon with exit 0.
#
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# Ports: 25200-25999 only (cluster from 25200, daemons from 25400).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-nodemgr.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
CM_PID= NMA_PID= NMB_PID= NMC_PID=
# A's cap on backup reads: a fresh instance (~30 MB) takes 10-20 s.
RATE_A=2000000

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kill9() {   # VAR: kill -9 the pid in $VAR
  local pid=${!1}
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  printf -v "$1" '%s' ""
}
cleanup() {
  stop_pid NMC_PID
  stop_pid CM_PID
  stop_pid NMA_PID
  stop_pid NMB_PID
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
for tool in curl jq; do command -v $tool >/dev/null || { notok "setup" "$tool is not installed"; exit 1; }; done
BASE=$(pick_cluster_base 25200 25400) || { notok "setup" "no free cluster ports in 25200-25399"; exit 1; }
CM_PORT=$(pick_port 25400 100) || { notok "setup" "no free port in 25400-25499"; exit 1; }
NMA_PORT=$(pick_port 25500 100) || { notok "setup" "no free port in 25500-25599"; exit 1; }
NMB_PORT=$(pick_port 25600 100) || { notok "setup" "no free port in 25600-25699"; exit 1; }
CM=http://127.0.0.1:$CM_PORT
NMA=http://127.0.0.1:$NMA_PORT
NMB=http://127.0.0.1:$NMB_PORT

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
# The third node of each replica set on host "localhost": node manager B's.
jq '(.meta[] | select(.name | endswith("-3")) | .host) = "localhost"
  | (.shards[].nodes[] | select(.name | endswith("-3")) | .host) = "localhost"' \
  "$DIR/topology.json" >"$WORK/topology.json"
if "$BIN" cluster register --meta-conn "$META" --topology "$WORK/topology.json" --quiet 2>"$WORK/register.log"; then
  ok "topology registered with meta-3 and shard1-3 on host localhost"
else
  notok "cluster register" "$(cat "$WORK/register.log")"
  exit 1
fi

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')        # the cluster manager's API
NTOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')       # cluster manager -> node managers
(umask 077 && echo "$TOKEN" >"$WORK/token" && echo "$NTOKEN" >"$WORK/node.token")
cat >"$WORK/nm-a.json" <<JSON
{"listen": "127.0.0.1:$NMA_PORT", "token_file": "$WORK/node.token", "pool": "$POOL", "max_rate": $RATE_A}
JSON
cat >"$WORK/nm-b.json" <<JSON
{"listen": "127.0.0.1:$NMB_PORT", "token_file": "$WORK/node.token", "pool": "$POOL"}
JSON
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$CM_PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "node_managers": {"127.0.0.1": "$NMA", "localhost": "$NMB"}, "node_token_file": "$WORK/node.token"}
JSON

start_nm() {   # a|b
  local cfg=$WORK/nm-$1.json log=$WORK/nm-$1.log url pid
  "$BIN" node-manager --config "$cfg" >>"$log" 2>&1 &
  pid=$!
  if [ "$1" = a ]; then NMA_PID=$pid; url=$NMA; else NMB_PID=$pid; url=$NMB; fi
  wait_http "$url/api/v1/tasks" "$pid"
}
start_cm() {
  "$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
  CM_PID=$!
  wait_http "$CM/metrics" "$CM_PID"
}
cm() { call "$CM" "$TOKEN" "$@"; }
nma() { call "$NMA" "$NTOKEN" "$@"; }
nmb() { call "$NMB" "$NTOKEN" "$@"; }

if start_nm a && start_nm b; then
  ok "node managers A ($NMA, host 127.0.0.1) and B ($NMB, host localhost) started"
else
  notok "node manager start" "$(tail -n 5 "$WORK"/nm-*.log | tr '\n' ' ')"
  exit 1
fi
if start_cm; then
  ok "cluster manager started with both node managers"
else
  notok "cluster manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi

# ---- the node manager's API: authentication, bad requests ----------------------------------
c1=$(curl -s -o "$WORK/r1" -w '%{http_code}' "$NMA/api/v1/tasks")
c2=$(curl -s -o "$WORK/r2" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$NMA/api/v1/tasks")
c3=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  --data-binary '{"kind":"archive-status","pg_conn":"host=127.0.0.1"}' "$NMB/api/v1/tasks")
nma GET /api/v1/tasks
if [ "$c1" = 401 ] && grep -q 'authentication required' "$WORK/r1" && [ "$c2" = 401 ] &&
  grep -q 'invalid API token' "$WORK/r2" && [ "$c3" = 401 ] && [ "$CODE" = 200 ]; then
  ok "node manager: 401 without a token and with the cluster manager's API token; 200 with the node token"
else
  notok "node manager authentication" "no token $c1, API token $c2 / $c3, node token $CODE"
fi
bad=""
check_bad() {   # WANT BODY EXPECTED-TEXT
  nmb POST /api/v1/tasks "$2"
  [ "$CODE" = "$1" ] && echo "$BODY" | grep -q "$3" || bad="$bad [$2 -> $CODE $BODY]"
}
check_bad 400 '{"kind": "backup"' 'must be one JSON object'
check_bad 400 '[1]' 'must be one JSON object'
check_bad 400 '{"kind": "format-disk"}' "unknown task kind 'format-disk'"
check_bad 400 '{"kind": 7}' '"kind\\" must be a string'
check_bad 400 "{\"kind\": \"backup\", \"pgdata\": \"$DIR/shard1-3/data\", \"pg_conn\": \"port=1\"}" 'pool_node'
check_bad 400 "{\"kind\": \"backup\", \"pgdata\": \"$DIR/shard1-3/data\", \"pg_conn\": \"port=1\", \"pool_node\": \"../x\"}" 'not a valid pool node name'
check_bad 400 "{\"kind\": \"backup\", \"pgdata\": \"relative/dir\", \"pg_conn\": \"port=1\", \"pool_node\": \"c1/x\"}" 'absolute path'
check_bad 400 "{\"kind\": \"backup\", \"pgdata\": \"$DIR/shard1-3/data\", \"pg_conn\": \"port=1\", \"pool_node\": \"c1/x\", \"jobs\": 0}" '"jobs\\" must be'
check_bad 404 '{"kind": "archive-status", "instance": "nope"}' "no instance named 'nope'"
nmb GET /api/v1/tasks/999999
[ "$CODE" = 404 ] || bad="$bad [task 999999 -> $CODE]"
nmb GET /api/v1/tasks/abc
[ "$CODE" = 400 ] || bad="$bad [task abc -> $CODE]"
nmb DELETE /api/v1/tasks
[ "$CODE" = 405 ] || bad="$bad [DELETE -> $CODE]"
[ -z "$bad" ] && ok "node manager: bad requests get a 4xx with a message" || notok "node manager bad requests" "$bad"

# An archive-status task on shard1's primary.
nmb POST /api/v1/tasks "{\"kind\": \"archive-status\", \"pg_conn\": \"host=127.0.0.1 port=$((BASE + 10)) dbname=postgres\"}"
TASK=$(jf .task)
for ((i = 0; i < 100; i++)); do
  nmb GET "/api/v1/tasks/$TASK"
  [ "$(jf .state)" = running ] || break
  sleep 0.1
done
if [ "$(jf .state)" = succeeded ] && [ "$(jf .result.archive_mode)" = on ] && [ "$(jf .result.archived_count)" -gt 0 ]; then
  ok "archive-status task: archive_mode on, $(jf .result.archived_count) segments archived"
else
  notok "archive-status task" "$BODY"
fi

# ---- a cluster backup job through the node managers ----------------------------------------
# Until a set of the job reports bytes read by node manager A: sets STATE.
wait_job_progress() {   # ID
  STATE=
  for ((i = 0; i < 600; i++)); do
    cm GET "/api/v1/jobs/$1"
    STATE=$(jf .state)
    case $STATE in succeeded | failed) return 1 ;; esac
    [ "$(jf "[.progress.sets[]? | select(.node_manager == \"$NMA\" and .bytes_done > 0)] | length")" -gt 0 ] 2>/dev/null &&
      return 0
    sleep 0.1
  done
  return 1
}
cluster_backups() { cm GET /api/v1/clusters/c1/backups; jf '.backups | length'; }

cm POST /api/v1/clusters/c1/backups '{}'
JOB1=$(jf .job)
if [ "$CODE" = 202 ] && wait_job_progress "$JOB1"; then
  ok "job $JOB1 running: progress $(echo "$BODY" | jq -c '[.progress.sets[] | {set, node, state, bytes_done, bytes_total}]')"
else
  notok "job progress" "$CODE state $STATE: $BODY"
fi
if wait_job "$JOB1" 300 && [ "$STATE" = succeeded ] && [ "$(jf .progress.phase)" = complete ] &&
  [ "$(jf '[.progress.sets[] | select(.state == "succeeded")] | length')" = 2 ]; then
  B1=$(jf .result.backup)
  ok "backup job $JOB1 succeeded: cluster backup $B1, last progress: complete, both sets succeeded"
else
  notok "backup job $JOB1" "state '$STATE': $BODY"
fi
cm GET /api/v1/clusters/c1/backups
SOURCES=$(jf "[.backups[] | select(.id == \"${B1:-x}\") | .nodes[] | .source + \"@\" + .node_manager] | sort | join(\" \")")
if [ "$SOURCES" = "meta-2@$NMA shard1-2@$NMA" ]; then
  ok "cluster backup $B1: both node backups from the first standbys by node manager A"
else
  notok "cluster backup's nodes" "sources '$SOURCES'"
fi
nma GET /api/v1/tasks
n=$(jf '[.tasks[] | select(.kind == "backup" and .state == "succeeded")] | length')
nodes=$(jf '[.tasks[] | select(.kind == "backup") | .pool_node] | sort | join(" ")')
if [ "$n" = 2 ] && [ "$nodes" = "c1/meta c1/shard1" ] && grep -q 'task 1 (backup) succeeded' "$WORK/nm-a.log"; then
  ok "node manager A's task list and log show the 2 backup tasks ($nodes), succeeded"
else
  notok "node manager A's tasks" "$n succeeded, nodes '$nodes': $BODY"
fi
# The two tasks ran at the same time: each one's lines carry its own tag.
if grep -qE ' P[0-9]+ INFO \[task 1\] task 1 \(backup\) succeeded' "$WORK/nm-a.log" &&
   grep -qE ' P[0-9]+ INFO \[task 2\] task 2 \(backup\) succeeded' "$WORK/nm-a.log" &&
   ! grep -E '\[task 1\]' "$WORK/nm-a.log" | grep -q 'task 2 '; then
  ok "node manager A's log: the concurrent tasks' lines are tagged [task 1] and [task 2]"
else
  notok "task tags in node manager A's log" "$(grep -m4 'task [12]' "$WORK/nm-a.log")"
fi

# ---- kill -9 of node manager A mid-backup --------------------------------------------------
before=$(cluster_backups)
cm POST /api/v1/clusters/c1/backups '{}'
JOB2=$(jf .job)
if wait_job_progress "$JOB2"; then
  kill9 NMA_PID
  t_kill=$SECONDS
  if wait_job "$JOB2" 300; then
    if [ "$STATE" = succeeded ]; then
      B2=$(jf .result.backup)
      cm GET /api/v1/clusters/c1/backups
      SOURCES=$(jf "[.backups[] | select(.id == \"$B2\") | .nodes[] | .source + \"@\" + .node_manager] | sort | join(\" \")")
      if [ "$SOURCES" = "meta-3@$NMB shard1-3@$NMB" ]; then
        ok "kill -9 of node manager A mid-backup: job $JOB2 retried on meta-3 and shard1-3 through node manager B, succeeded ($((SECONDS - t_kill))s after the kill)"
      else
        notok "retry after kill -9 of node manager A" "job succeeded but the sources are '$SOURCES'"
      fi
    elif echo "$BODY" | jq -e '.reason | test("node manager")' >/dev/null; then
      ok "kill -9 of node manager A mid-backup: job $JOB2 failed with a reason: $(jf .reason)"
    else
      notok "kill -9 of node manager A" "failed without naming the node manager: $BODY"
    fi
  else
    notok "kill -9 of node manager A" "job $JOB2 still '$STATE' 300 s after the kill"
  fi
  grep -q "retrying from standby" "$WORK/manager.log" && echo "# $(grep "retrying from standby" "$WORK/manager.log" | head -n 1)"
else
  notok "kill -9 of node manager A" "job $JOB2 was '$STATE' before A read anything"
fi
# Node backups in the pool: every complete one is part of a cluster backup;
# A's interrupted ones are listed as incomplete (no manifest), never complete.
cm GET /api/v1/clusters/c1/backups
referenced=$(jf '[.backups[].nodes[] | .pool_node + ":" + .backup] | sort | join(" ")')
partial_bad="" incomplete=0
for node in c1/meta c1/shard1; do
  if ! "$BIN" info --pool "$POOL" --node "$node" --output json >"$WORK/info.json" 2>"$WORK/info.err"; then
    partial_bad="$partial_bad [info $node: $(cat "$WORK/info.err")]"
    continue
  fi
  for id in $(jq -r '.. | objects | select(.status? == "complete") | .id' "$WORK/info.json"); do
    case " $referenced " in *" $node:$id "*) ;; *) partial_bad="$partial_bad [$node:$id complete but in no cluster backup]" ;; esac
  done
  incomplete=$((incomplete + $(jq '[.. | objects | select(.status? == "incomplete")] | length' "$WORK/info.json")))
done
if [ -z "$partial_bad" ]; then
  ok "pool after the kill: every complete node backup belongs to a cluster backup; $incomplete interrupted one(s) listed as incomplete"
else
  notok "partial node backups" "$partial_bad"
fi

# ---- kill -9 of the cluster manager mid-backup ---------------------------------------------
if start_nm a; then ok "node manager A restarted"; else notok "node manager A restart" "$(tail -n 3 "$WORK/nm-a.log")"; fi
before=$(cluster_backups)
cm POST /api/v1/clusters/c1/backups '{}'
JOB3=$(jf .job)
if wait_job_progress "$JOB3"; then
  kill9 CM_PID
  t_cm_kill=$SECONDS
  if start_cm; then
    cm GET "/api/v1/jobs/$JOB3"
    if [ "$(jf .state)" = failed ] && [ "$(jf .reason)" = "cluster manager restarted while the job was running" ]; then
      ok "kill -9 of the cluster manager during job $JOB3, restart: the job is failed with a reason"
    else
      notok "cluster manager restart" "job $JOB3: $BODY"
    fi
  else
    notok "cluster manager restart" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  fi
else
  notok "kill -9 of the cluster manager" "job $JOB3 was '$STATE' before A read anything"
fi
# Let node manager A's orphaned tasks end (they complete node backups that no
# cluster backup uses): the cluster backups in the pool must be unchanged.
for ((i = 0; i < 120; i++)); do
  nma GET /api/v1/tasks
  [ "$(jf '[.tasks[] | select(.state == "running")] | length')" = 0 ] && break
  sleep 0.5
done
after=$(cluster_backups)
[ "$after" = "$before" ] && ok "no cluster backup from the interrupted job ($after in the pool, as before)" ||
  notok "cluster backups after the cluster manager's kill" "$before before, $after after"
cm POST /api/v1/clusters/c1/backups '{}'
JOB4=$(jf .job)
if wait_job "$JOB4" 300 && [ "$STATE" = succeeded ] && [ "$(cluster_backups)" = $((before + 1)) ]; then
  ok "a new backup job $JOB4 succeeds after the restart"
else
  notok "backup job after restart" "state '$STATE': $BODY"
fi

# ---- expire clears what the kills left ----------------------------------------------------
# The killed cluster manager's cluster backup (its lease no longer renewed)
# and node manager A's killed node backups are interrupted: expire removes
# them, with the complete node backups A's orphaned tasks finished for the
# dead cluster backup, and keeps every complete cluster backup.
wait_s=$(( ${t_cm_kill:-0} + 21 - SECONDS ))
[ "$wait_s" -gt 0 ] && sleep "$wait_s"
cm GET /api/v1/clusters/c1/backups
kept_before=$(jf '[.backups[].id] | sort | join(" ")')
if "$BIN" expire --pool "$POOL" --cluster c1 --keep 100 --interrupted-after 20s --output json \
    >"$WORK/expire.json" 2>"$WORK/expire.err"; then
  gone=$(jq -r '[.removed_interrupted[] | (.node // ("cluster " + .cluster)) + ":" + .id] | join(" ")' "$WORK/expire.json")
  dead_cb=$(jq -r '[.removed_interrupted[] | select(.cluster) | .id] | join(" ")' "$WORK/expire.json")
  orphans=$(jq '[.removed_interrupted[] | select(.why | test("part of cluster backup"))] | length' "$WORK/expire.json")
  if [ -n "$dead_cb" ] && [ "$orphans" -ge 1 ] && [ ! -e "$POOL/clusters/c1/backups/$dead_cb" ]; then
    ok "expire: removed the killed cluster manager's cluster backup $dead_cb and $orphans node backup(s) part of it ($gone)"
  else
    notok "expire after the kills" "removed: '$gone'; $(cat "$WORK/expire.err") $(jq -c .notes "$WORK/expire.json")"
  fi
else
  notok "expire after the kills" "exit $?: $(cat "$WORK/expire.err")"
fi
cm GET /api/v1/clusters/c1/backups
[ "$(jf '[.backups[].id] | sort | join(" ")')" = "$kept_before" ] &&
  ok "every complete cluster backup kept ($kept_before)" || notok "cluster backups after expire" "$kept_before -> $BODY"
referenced=$(jf '[.backups[].nodes[] | .pool_node + ":" + .backup] | sort | join(" ")')
left=""
for node in c1/meta c1/shard1; do
  for id in $(ls "$POOL/nodes/$node/backups"); do
    case " $referenced " in *" $node:$id "*) ;; *) left="$left $node:$id" ;; esac
  done
done
[ -z "$left" ] && ok "after expire every node backup in the pool is part of a complete cluster backup" ||
  notok "node backups left after expire" "$left"

# ---- cancelling jobs ------------------------------------------------------------------------
# A running backup (node manager A reads at 2 MB/s), cancelled with the CLI;
# a second one queued behind it, cancelled before it starts.
before=$(cluster_backups)
cm POST /api/v1/clusters/c1/backups '{}'
JOB5=$(jf .job)
cm POST /api/v1/clusters/c1/backups '{}'
JOB6=$(jf .job)
cm POST "/api/v1/jobs/$JOB6/cancel" '{}'
[ "$CODE" = 200 ] && [ "$(jf .state)" = cancelled ] && ok "queued job $JOB6 cancelled at once (200)" ||
  notok "cancel a queued job" "$CODE $BODY"
if wait_job_progress "$JOB5"; then
  t_cancel=$SECONDS
  "$BIN" jobs --manager "$CM" --token-file "$WORK/token" --id "$JOB5" --cancel --wait >"$WORK/cancel.out" 2>"$WORK/cancel.err"
  rc=$?
  cm GET "/api/v1/jobs/$JOB5"
  if [ "$rc" = 1 ] && [ "$(jf .state)" = cancelled ] && echo "$BODY" | jq -e '.reason | test("cancelled")' >/dev/null; then
    ok "running backup job $JOB5 cancelled with 'strata jobs --cancel --wait' (exit 1): ended in $((SECONDS - t_cancel))s, $(jf .reason | cut -c1-160)"
  else
    notok "cancel a running backup job" "exit $rc, $(cat "$WORK/cancel.err"); job: $BODY"
  fi
  nma GET /api/v1/tasks
  cancelled_tasks=$(jf '[.tasks[] | select(.kind == "backup" and .state == "failed" and (.reason | test("cancelled")))] | length')
  [ "${cancelled_tasks:-0}" -ge 1 ] && ok "node manager A's backup task(s) of the job ended failed, 'cancelled' ($cancelled_tasks)" ||
    notok "node manager tasks after the cancel" "$BODY"
else
  notok "cancel a running backup job" "job $JOB5 was '$STATE' before A read anything"
fi
cm GET "/api/v1/jobs/$JOB6"
[ "$(jf .state)" = cancelled ] && [ -z "$(jf .started_at | grep -v null)" ] &&
  ok "the cancelled queued job $JOB6 never started" || notok "cancelled queued job" "$BODY"
[ "$(cluster_backups)" = "$before" ] && ok "no cluster backup from the cancelled jobs" ||
  notok "cluster backups after the cancel" "$before before, $(cluster_backups) after"
left=""
for node in c1/meta c1/shard1; do
  for id in $(ls "$POOL/nodes/$node/backups"); do
    case " $referenced " in *" $node:$id "*) ;; *) left="$left $node:$id" ;; esac
  done
done
[ -z "$left" ] && ok "the cancelled backup left nothing in the pool (no node backup, complete or not)" ||
  notok "node backups left by the cancelled job" "$left"
ls "$POOL/clusters/c1/backups" | grep -vxF -f <(cm GET /api/v1/clusters/c1/backups; jf '.backups[].id') >"$WORK/cb-left" || true
[ ! -s "$WORK/cb-left" ] && ok "and no cluster backup directory" || notok "cluster backup dirs left" "$(cat "$WORK/cb-left")"
cm POST "/api/v1/jobs/$JOB4/cancel" '{}'
c1=$CODE b1=$BODY
cm POST /api/v1/jobs/999999/cancel '{}'
c2=$CODE
cm GET "/api/v1/jobs/$JOB4/cancel"
c3=$CODE
[ "$c1" = 409 ] && echo "$b1" | jq -e '.error | test("already ended")' >/dev/null && [ "$c2" = 404 ] && [ "$c3" = 405 ] &&
  ok "cancel: an ended job 409, an unknown one 404, GET 405" || notok "cancel errors" "ended $c1 $b1, unknown $c2, GET $c3"

# ---- start / stop / rebuild-standby on node manager B ----------------------------------------
PGBIN=$(pg_config --bindir 2>/dev/null)
[ -x "$PGBIN/psql" ] || PGBIN=/usr/lib/postgresql/15/bin
sql() { "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$1" -d "$2" -c "$3" 2>/dev/null; }
run_task() {   # BODY: POST to B, wait for the end (120 s); sets TSTATE, BODY
  nmb POST /api/v1/tasks "$1"
  local id
  id=$(jf .task)
  TSTATE="refused $CODE"
  [ "$CODE" = 202 ] || return 1
  for ((i = 0; i < 1200; i++)); do
    nmb GET "/api/v1/tasks/$id"
    TSTATE=$(jf .state)
    [ "$TSTATE" = running ] || return 0
    sleep 0.1
  done
}
S3=$DIR/shard1-3/data
S3_PORT=$((BASE + 12))
PRIMARY="host=127.0.0.1 port=$((BASE + 10)) dbname=postgres"
run_task "{\"kind\": \"rebuild-standby\", \"pgdata\": \"$DIR/shard1-2/data\", \"pool_node\": \"c1/shard1\", \"primary_conn\": \"$PRIMARY\", \"port\": $((BASE + 11)), \"force\": true}"
[ "$TSTATE" = failed ] && echo "$BODY" | jq -e '.reason | test("running PostgreSQL")' >/dev/null &&
  ok "rebuild-standby onto a running instance (shard1-2): refused, $(jf .reason | cut -c1-120)..." ||
  notok "rebuild-standby onto a running instance" "$TSTATE $BODY"
run_task "{\"kind\": \"stop\", \"pgdata\": \"$S3\"}"
if [ "$TSTATE" = succeeded ] && ! sql "$S3_PORT" postgres "SELECT 1" >/dev/null; then
  ok "stop task: shard1-3 stopped"
else
  notok "stop task" "$TSTATE $BODY"
fi
run_task "{\"kind\": \"rebuild-standby\", \"pgdata\": \"$S3\", \"pool_node\": \"c1/shard1\", \"primary_conn\": \"$PRIMARY\", \"port\": $S3_PORT}"
[ "$TSTATE" = failed ] && echo "$BODY" | jq -e '.reason | test("not empty")' >/dev/null &&
  ok "rebuild-standby into a non-empty directory without force: refused" ||
  notok "rebuild-standby without force" "$TSTATE $BODY"
run_task "{\"kind\": \"rebuild-standby\", \"pgdata\": \"$S3\", \"pool_node\": \"c1/shard1\", \"primary_conn\": \"$PRIMARY\", \"port\": $S3_PORT, \"force\": true}"
if [ "$TSTATE" = succeeded ] && [ "$(sql "$S3_PORT" postgres "SELECT pg_is_in_recovery()")" = t ]; then
  ok "rebuild-standby: shard1-3 restored from backup $(jf .result.backup) in the pool and started as a standby"
  sql $((BASE + 10)) bank "CREATE TABLE nm_probe AS SELECT 4242 AS v" >/dev/null
  seen=
  for ((i = 0; i < 300; i++)); do
    seen=$(sql "$S3_PORT" bank "SELECT v FROM nm_probe")
    [ "$seen" = 4242 ] && break
    sleep 0.1
  done
  [ "$seen" = 4242 ] && ok "the rebuilt standby follows the primary (a table created there is visible)" ||
    notok "rebuilt standby replication" "nm_probe not visible on shard1-3: $(sql "$S3_PORT" postgres "SELECT status FROM pg_stat_wal_receiver")"
else
  notok "rebuild-standby" "$TSTATE $BODY"
fi

# ---- a node manager over TLS ---------------------------------------------------------------
if command -v openssl >/dev/null; then
  NMC_PORT=$(pick_port 25700)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
  chmod 600 "$WORK/key.pem"
  cat >"$WORK/nm-c.json" <<JSON
{"listen": "127.0.0.1:$NMC_PORT", "token_file": "$WORK/node.token", "pool": "$POOL",
 "tls_cert": "$WORK/cert.pem", "tls_key": "$WORK/key.pem"}
JSON
  "$BIN" node-manager --config "$WORK/nm-c.json" >>"$WORK/nm-c.log" 2>&1 &
  NMC_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/cert.pem" "https://127.0.0.1:$NMC_PORT/api/v1/tasks")" != 000 ] && break
    sleep 0.1
  done
  c1=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/cert.pem" -H "Authorization: Bearer $NTOKEN" \
    "https://127.0.0.1:$NMC_PORT/api/v1/tasks")
  c2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/cert.pem" "https://127.0.0.1:$NMC_PORT/api/v1/tasks")
  c3=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NMC_PORT/api/v1/tasks")
  stop_pid NMC_PID
  [ "$c1" = 200 ] && [ "$c2" = 401 ] && [ "$c3" != 200 ] && [ "$STOP_RC" = 0 ] &&
    ok "node manager over TLS: HTTPS with the token 200, without 401, plain HTTP refused; SIGTERM exit 0" ||
    notok "node manager over TLS" "with token $c1, without $c2, plain http $c3, exit $STOP_RC: $(tail -n 3 "$WORK/nm-c.log")"
fi

# ---- SIGTERM --------------------------------------------------------------------------------
stop_pid CM_PID
rc_cm=$STOP_RC
stop_pid NMA_PID
rc_a=$STOP_RC
stop_pid NMB_PID
rc_b=$STOP_RC
[ "$rc_cm" = 0 ] && [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] && ok "SIGTERM: the cluster manager and both node managers exit 0" ||
  notok "SIGTERM" "exit codes: cluster manager $rc_cm, A $rc_a, B $rc_b; $(tail -n 3 "$WORK"/nm-*.log | tr '\n' ' ')"

exit $FAILED
