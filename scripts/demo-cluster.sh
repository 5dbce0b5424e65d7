#!/usr/bin/env bash
# strata cluster demo (second half of make demo): a sharded cluster
# (metadata + 2 shards, each primary + 2 standbys, one compute node) under a
# 2PC bank-transfer workload and a consistency point every 2 s; a cluster
# manager and a node manager run it: the CLI asks the cluster manager for a
# cluster backup (the node manager backs up each standby), the workload
# keeps running, then for a restore to a time into a NEW cluster; the
# consistency checker and the restored compute node prove it consistent.
# Exits non-zero if the restored cluster is not. Prints the web UI's URL;
# DEMO_KEEP=1 leaves everything running to look at it (the stop command is
# printed).
#
# As root, everything PostgreSQL runs as the user `strata` from a copy in
# /tmp (PostgreSQL refuses root). Every process started is stopped by pid.
#
# DEMO_POOL=s3: the pool is in S3 instead of a directory: a real S3 store
# (Ceph's radosgw on loopback, ../shared/tools/s3/start-s3.sh beside the
# repository) is started first and stopped at the end; strata, PostgreSQL's
# archive_command and both managers reach it through STRATA_S3_ENDPOINT and
# a mode-600 credentials file (docs/cli.md, "S3 pools").
set -u

if [ "${1:-}" != --inner ]; then
  REPO=$(cd "$(dirname "$0")/.." && pwd)
  BIN=${STRATA_DEMO_BIN:-$REPO/build/strata}
  [ -x "$BIN" ] || { echo "demo: no $BIN (make)" >&2; exit 1; }
  WORK=$(mktemp -d /tmp/strata-demo-cluster.XXXXXX)
  chmod 755 "$WORK"
  mkdir -p "$WORK/bin" "$WORK/scripts"
  cp "$BIN" "$WORK/bin/strata"
  cp "$REPO/scripts/cluster.sh" "$REPO/scripts/demo-cluster.sh" "$WORK/scripts/"
  S3_ENV=()
  S3_TOOLS=${STRATA_S3_TOOLS:-$REPO/../shared/tools/s3} S3_DIR=$WORK/s3store
  if [ "${DEMO_POOL:-dir}" = s3 ]; then
    [ -f "$S3_TOOLS/start-s3.sh" ] || { echo "demo: DEMO_POOL=s3 needs $S3_TOOLS/start-s3.sh (../shared beside the repository)" >&2; exit 1; }
    S3_PORT=${DEMO_S3_PORT:-$(( ${DEMO_CLUSTER_PORT:-28500} + 95 ))}
    echo "== S3 store: Ceph radosgw on 127.0.0.1:$S3_PORT (start-s3.sh)"
    S3_DIR=$S3_DIR S3_PORT=$S3_PORT S3_MON_PORT=$((S3_PORT + 1)) S3_STORE_SIZE=10 \
      bash "$S3_TOOLS/start-s3.sh" >"$WORK/s3.log" 2>&1 || { tail -n 15 "$WORK/s3.log" >&2; echo "demo: start-s3.sh failed" >&2; exit 1; }
    mkdir -p "$WORK/s3"
    (umask 077; . "$S3_DIR/s3.env"
     printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \
       >"$WORK/s3/credentials")
    S3_ENV=(DEMO_POOL=s3 STRATA_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" STRATA_S3_CREDENTIALS_FILE="$WORK/s3/credentials"
            DEMO_S3_BUCKET="$(. "$S3_DIR/s3.env" && echo "$S3_BUCKET")")
  fi
  if [ "$(id -u)" -eq 0 ]; then
    id strata >/dev/null 2>&1 || { echo "demo: user strata missing (scripts/install-deps.sh)" >&2; exit 1; }
    chown -R strata: "$WORK"
    runuser -u strata -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 TZ=UTC \
      DEMO_KEEP="${DEMO_KEEP:-0}" ${DEMO_CLUSTER_PORT:+DEMO_CLUSTER_PORT="$DEMO_CLUSTER_PORT"} "${S3_ENV[@]}" \
      bash "$WORK/scripts/demo-cluster.sh" --inner "$WORK"
  else
    env "${S3_ENV[@]}" bash "$WORK/scripts/demo-cluster.sh" --inner "$WORK"
  fi
  rc=$?
  if [ "${#S3_ENV[@]}" -gt 0 ]; then
    if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "  and the S3 store: S3_DIR=$S3_DIR bash $S3_TOOLS/stop-s3.sh"
    else S3_DIR=$S3_DIR bash "$S3_TOOLS/stop-s3.sh" >>"$WORK/s3.log" 2>&1; fi
  fi
  if [ "${DEMO_KEEP:-0}" = 1 ]; then :
  elif [ "$rc" -eq 0 ]; then rm -rf "$WORK"; else echo "demo: files kept in $WORK"; fi
  exit "$rc"
fi

# ---- inner part: runs as an unprivileged user -------------------------------
WORK=$2
# Start where the unprivileged user can read (the repository may be a
# root-only directory): PostgreSQL's programs warn otherwise.
cd "$WORK" || exit 1
S=$WORK/bin/strata
POOL=$WORK/pool
[ "${DEMO_POOL:-dir}" = s3 ] && POOL=s3://$DEMO_S3_BUCKET/demo-$(date +%Y%m%d-%H%M%S)
SRC=$WORK/src
NEW=$WORK/restored
SRC_PORT=${DEMO_CLUSTER_PORT:-28500}
NEW_PORT=$((SRC_PORT + 100))
PSQL=/usr/lib/postgresql/15/bin/psql
MGR_PORT=$((SRC_PORT + 80))
NM_PORT=$((SRC_PORT + 90))
MGR_URL=http://127.0.0.1:$MGR_PORT
TOKEN=$WORK/manager.token
NODE_TOKEN=$WORK/node.token
WL_PID= CP_PID= MGR_PID= NM_PID=
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '\n== %s\n' "$*"; }

# Stops, by pid, every postgres whose data directory is under the restore dir.
stop_restored() {
  local pidfile pid
  for pidfile in "$NEW"/*/*/postmaster.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(head -1 "$pidfile")
    kill -INT "$pid" 2>/dev/null
  done
  for pidfile in "$NEW"/*/*/postmaster.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(head -1 "$pidfile")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
}
stop_daemon() {   # PID: SIGTERM, then SIGKILL after 20 s
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
cleanup() {
  if [ "${DEMO_KEEP:-0}" = 1 ] && [ "${DEMO_DONE:-0}" = 1 ]; then return 0; fi
  stop_daemon "$MGR_PID"
  stop_daemon "$NM_PID"
  [ -n "$CP_PID" ] && kill "$CP_PID" 2>/dev/null && wait "$CP_PID" 2>/dev/null
  [ -n "$WL_PID" ] && kill "$WL_PID" 2>/dev/null && wait "$WL_PID" 2>/dev/null
  stop_restored
  [ -d "$SRC" ] && bash "$WORK/scripts/cluster.sh" destroy "$SRC" >/dev/null 2>&1
}
trap cleanup EXIT
die() { echo "demo: $*" >&2; exit 1; }

say "cluster 'demo': metadata + 2 shards (primary + 2 standbys each) + compute, ports from $SRC_PORT; pool $POOL"
T0=$(now)
bash "$WORK/scripts/cluster.sh" create "$SRC" --shards 2 --base-port "$SRC_PORT" --name demo --strata "$S" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>&1 | tail -1 || die "cluster.sh create failed"
# shellcheck disable=SC1091
source "$SRC/cluster.env"
echo "built in $(secs "$T0" "$(now)") s"

say "workload: 2PC bank transfers (some abandoned mid-commit, as crashing coordinators leave them)"
"$S" workload --meta-conn "$META_CONN" --cluster demo --init --accounts 100 --duration 0 >/dev/null \
  || die "workload --init failed"
"$S" workload --meta-conn "$META_CONN" --cluster demo --clients 3 --output json > "$WORK/workload.json" 2>/dev/null &
WL_PID=$!
"$S" cp create --meta-conn "$META_CONN" --cluster demo --pool "$POOL" --every 2 --output json \
  > "$WORK/cps.jsonl" 2>"$WORK/cps.err" &
CP_PID=$!
sleep 4

say "the cluster manager (API + web UI on $MGR_URL) and a node manager (port $NM_PORT)"
# Tokens: in files only (never on a command line, which every user can read).
openssl rand -hex 24 >"$TOKEN"
openssl rand -hex 24 >"$NODE_TOKEN"
chmod 600 "$TOKEN" "$NODE_TOKEN"
cat >"$WORK/node-manager.json" <<JSON
{"listen": "127.0.0.1:$NM_PORT", "token_file": "$NODE_TOKEN", "pool": "$POOL",
 "pg_bin": "/usr/lib/postgresql/15/bin"}
JSON
cat >"$WORK/cluster-manager.json" <<JSON
{"listen": "127.0.0.1:$MGR_PORT", "token_file": "$TOKEN", "meta_conn": "$META_CONN", "pool": "$POOL",
 "node_managers": {"127.0.0.1": "http://127.0.0.1:$NM_PORT"}, "node_token_file": "$NODE_TOKEN",
 "restore_root": "$WORK/restored-root", "restore_ports": "$NEW_PORT-$((NEW_PORT + 49))"}
JSON
"$S" node-manager --config "$WORK/node-manager.json" >"$WORK/node-manager.log" 2>&1 &
NM_PID=$!
"$S" cluster-manager --config "$WORK/cluster-manager.json" >"$WORK/cluster-manager.log" 2>&1 &
MGR_PID=$!
api() {   # TOKEN-FILE URL: GET with the bearer token
  curl -sf -H "Authorization: Bearer $(cat "$1")" "$2"
}
up=0
for _ in $(seq 1 100); do
  if api "$TOKEN" "$MGR_URL/api/v1/clusters" >/dev/null 2>&1 &&
     api "$NODE_TOKEN" "http://127.0.0.1:$NM_PORT/api/v1/tasks" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$MGR_PID" 2>/dev/null && kill -0 "$NM_PID" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] || die "the managers did not start: $(tail -n 3 "$WORK/cluster-manager.log" "$WORK/node-manager.log")"
echo "web UI: $MGR_URL/  (API token in $TOKEN)"
export STRATA_MANAGER=$MGR_URL STRATA_TOKEN_FILE=$TOKEN

say "cluster backup from the standbys, under load: strata backup --manager $MGR_URL --cluster demo"
B0=$(now)
"$S" backup --cluster demo --output json > "$WORK/backup-job.json" || die "cluster backup job failed"
BACKUP_SECS=$(secs "$B0" "$(now)")
BACKUP_ID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['result']['backup'])" "$WORK/backup-job.json") ||
  die "no backup id in the job: $(cat "$WORK/backup-job.json")"
api "$TOKEN" "$MGR_URL/api/v1/clusters/demo/backups" |
  python3 -c "import json,sys; print(json.dumps([b for b in json.load(sys.stdin)['backups'] if b['id'] == sys.argv[1]][0]))" \
    "$BACKUP_ID" > "$WORK/backup.json" || die "backup $BACKUP_ID is not listed by the cluster manager"
echo "node backups done by the node manager: $(api "$NODE_TOKEN" "http://127.0.0.1:$NM_PORT/api/v1/tasks" |
  python3 -c "import json,sys; print(sum(1 for t in json.load(sys.stdin)['tasks'] if t.get('kind') == 'backup' and t.get('state') == 'succeeded'))")"
python3 - "$WORK/backup.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
print(f"backup {b['id']}: {b['size']/2**20:.1f} MiB in the databases, {b['stored_size']/2**20:.1f} MiB in the pool")
for n in b["nodes"]:
    print(f"  {n['set']:7} from {n['source']:9} backup {n['backup']}  {n['size']/2**20:.1f} MiB  {n['duration']:.1f} s")
print(f"  end consistency point {b['end_cp']['name']} (commit pause {b['end_cp']['pause_ms']:.2f} ms)")
PY

say "the workload keeps running; a target time is chosen in the middle"
sleep 5
TARGET=$($PSQL -h 127.0.0.1 -p "$META_PORT" -d strata -Atc "SELECT clock_timestamp() AT TIME ZONE 'UTC'")
TARGET="$TARGET+00"
echo "target time $TARGET"
sleep 5
SRC_DECISIONS=$($PSQL -h 127.0.0.1 -p "$META_PORT" -d strata -Atc "SELECT count(*) FROM strata.commit_log")

say "restore cluster 'demo' to $TARGET into a NEW cluster 'demo_restored' (ports from $NEW_PORT)"
R0=$(now)
"$S" restore --cluster demo --to demo_restored --dir "$NEW" --base-port "$NEW_PORT" \
  --time "$TARGET" --output json > "$WORK/restore-job.json" || die "cluster restore job failed"
python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['result']))" "$WORK/restore-job.json" \
  > "$WORK/restore.json" || die "no restore report in the job: $(cat "$WORK/restore-job.json")"
RESTORE_SECS=$(secs "$R0" "$(now)")
echo "restored by the node manager: $(api "$NODE_TOKEN" "http://127.0.0.1:$NM_PORT/api/v1/tasks" |
  python3 -c "import json,sys; t=json.load(sys.stdin)['tasks']; ok=lambda k: sum(1 for x in t if x.get('kind') == k and x.get('state') == 'succeeded'); print(f'{ok(\"restore\")} primaries (task restore), {ok(\"standby\")} standbys (task standby)')")"
kill "$CP_PID" 2>/dev/null; wait "$CP_PID" 2>/dev/null; CP_PID=
python3 - "$WORK/restore.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"reached consistency point {r['cp']} at {r['cp_time']}, {r['distance_seconds']:.3f} s before the target")
print(f"in-doubt 2PC transactions resolved from the restored commit log: "
      f"{r['committed_in_doubt']} committed, {r['rolled_back_in_doubt']} rolled back")
for s in [r['topology']['meta']] + [x['nodes'] for x in r['topology']['shards']]:
    for n in s:
        print(f"  {n['name']:10} {n['role']:8} port {n['port']}")
for n in r['topology']['compute']:
    print(f"  {n['name']:10} compute  port {n['port']}")
PY
NEW_META_PORT=$(python3 -c "import json;print(json.load(open('$WORK/restore.json'))['topology']['meta'][0]['port'])")
NEW_COMPUTE_PORT=$(python3 -c "import json;print(json.load(open('$WORK/restore.json'))['topology']['compute'][0]['port'])")

say "consistency check of the restored cluster"
"$S" check-consistency --meta-conn "host=127.0.0.1 port=$NEW_META_PORT dbname=strata" --cluster demo_restored
CONSISTENT=$?
say "query the restored cluster through its compute node"
$PSQL -h 127.0.0.1 -p "$NEW_COMPUTE_PORT" -d bank -c \
  "SELECT count(*) AS accounts, sum(balance) AS total_balance FROM accounts"
RESTORED_DECISIONS=$($PSQL -h 127.0.0.1 -p "$NEW_META_PORT" -d strata -Atc "SELECT count(*) FROM strata.commit_log")

kill -INT "$WL_PID" 2>/dev/null; wait "$WL_PID" 2>/dev/null; WL_PID=
say "report"
python3 - "$WORK/cps.jsonl" "$WORK/workload.json" <<'PY'
import json, sys, statistics
p = sorted(json.loads(l)["pause_ms"] for l in open(sys.argv[1]) if l.strip())
if p:
    p99 = p[min(len(p) - 1, int(round(0.99 * (len(p) - 1))))]
    print(f"consistency points taken every 2 s: {len(p)}; commit pause p50 {statistics.median(p):.2f} ms, "
          f"p99 {p99:.2f} ms, max {p[-1]:.2f} ms")
try:
    w = json.load(open(sys.argv[2]))
    print(f"workload: {w['committed']} transfers committed ({w['committed_per_s']:.0f}/s; "
          f"{w['cross_shard']} cross-shard 2PC), {w['abandoned_after_prepare'] + w['abandoned_after_decision']} "
          f"abandoned mid-commit and resolved later")
except Exception:
    pass
PY
echo "cluster backup: ${BACKUP_SECS} s; cluster restore (10 instances, resolution included): ${RESTORE_SECS} s"
echo "commit decisions: ${SRC_DECISIONS} in the source at the target time + 5 s, ${RESTORED_DECISIONS} in the restored cluster"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  echo "web UI: $MGR_URL/ (token in $TOKEN): both clusters, the backup, the jobs"
else
  echo "web UI: $MGR_URL/ served during the run; it stops with the demo (DEMO_KEEP=1 make demo keeps it up)"
fi
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  DEMO_DONE=1
  echo "DEMO_KEEP=1: everything keeps running. Stop it with:"
  echo "  kill $MGR_PID $NM_PID; for f in $NEW/*/*/postmaster.pid; do kill -INT \$(head -1 \$f); done; bash $WORK/scripts/cluster.sh destroy $SRC"
fi
if [ "$CONSISTENT" -eq 0 ]; then
  echo "RESULT: PASS: the restored cluster is consistent across shards"
else
  echo "RESULT: FAIL: the restored cluster is NOT consistent"
  exit 1
fi
