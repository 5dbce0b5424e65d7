#!/usr/bin/env bash
# strata cluster demo (second half of make demo): a sharded cluster
# (metadata + 2 shards, each primary + 2 standbys, one compute node) under a
# 2PC bank-transfer workload and a consistency point every 2 s; a cluster
# backup from the standbys; the workload keeps running; a restore to a time
# into a NEW cluster; the consistency checker and the restored compute node
# prove it consistent. Exits non-zero if the restored cluster is not.
#
# As root, everything PostgreSQL runs as the user `strata` from a copy in
# /tmp (PostgreSQL refuses root). Every process started is stopped by pid.
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
  if [ "$(id -u)" -eq 0 ]; then
    id strata >/dev/null 2>&1 || { echo "demo: user strata missing (scripts/install-deps.sh)" >&2; exit 1; }
    chown -R strata: "$WORK"
    runuser -u strata -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 TZ=UTC \
      bash "$WORK/scripts/demo-cluster.sh" --inner "$WORK"
  else
    bash "$WORK/scripts/demo-cluster.sh" --inner "$WORK"
  fi
  rc=$?
  if [ "$rc" -eq 0 ]; then rm -rf "$WORK"; else echo "demo: files kept in $WORK"; fi
  exit "$rc"
fi

# ---- inner part: runs as an unprivileged user -------------------------------
WORK=$2
S=$WORK/bin/strata
POOL=$WORK/pool
SRC=$WORK/src
NEW=$WORK/restored
SRC_PORT=${DEMO_CLUSTER_PORT:-28500}
NEW_PORT=$((SRC_PORT + 100))
PSQL=/usr/lib/postgresql/15/bin/psql
WL_PID= CP_PID=
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
cleanup() {
  [ -n "$CP_PID" ] && kill "$CP_PID" 2>/dev/null && wait "$CP_PID" 2>/dev/null
  [ -n "$WL_PID" ] && kill "$WL_PID" 2>/dev/null && wait "$WL_PID" 2>/dev/null
  stop_restored
  [ -d "$SRC" ] && bash "$WORK/scripts/cluster.sh" destroy "$SRC" >/dev/null 2>&1
}
trap cleanup EXIT
die() { echo "demo: $*" >&2; exit 1; }

say "cluster 'demo': metadata + 2 shards (primary + 2 standbys each) + compute, ports from $SRC_PORT"
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

say "cluster backup from the standbys, under load"
B0=$(now)
"$S" backup --cluster demo --meta-conn "$META_CONN" --pool "$POOL" --jobs 1 --output json > "$WORK/backup.json" \
  || die "cluster backup failed"
BACKUP_SECS=$(secs "$B0" "$(now)")
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
"$S" restore --cluster demo --to demo_restored --pool "$POOL" --dir "$NEW" --base-port "$NEW_PORT" \
  --time "$TARGET" --output json > "$WORK/restore.json" || die "cluster restore failed"
RESTORE_SECS=$(secs "$R0" "$(now)")
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
if [ "$CONSISTENT" -eq 0 ]; then
  echo "RESULT: PASS: the restored cluster is consistent across shards"
else
  echo "RESULT: FAIL: the restored cluster is NOT consistent"
  exit 1
fi
