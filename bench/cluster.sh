#!/usr/bin/env bash
# strata cluster benchmark (docs/benchmarks.md, "Cluster benchmark"):
#   1. consistency point (CP) pause p50/p95/p99/max with 2 and 4 shards under
#      the bank workload;
#   2. cluster backup (from the standbys, under workload) and cluster restore
#      (into a new cluster, to a CP) wall time at a stated size;
#   3. workload TPS on the primaries (a) idle, (b) while strata cluster
#      backups run in a loop, (c) while pgBackRest backs up the same replica
#      sets from their standbys in a loop, (d) while strata with --max-rate
#      runs in a loop, (e) while strata runs with --max-rate chosen to match
#      pgBackRest's throughput in (c); each tool's throughput in its window,
#      TPS drop per condition and the strata/pgBackRest drop ratio.
#
#   bash bench/cluster.sh            as root (PostgreSQL and every tool run as
#                                    BENCH_USER through runuser) or as BENCH_USER
#
# Knobs (environment): see the block below. Everything runs from a copy in
# WORKDIR; every process started is stopped by pid (cluster.sh destroy for
# the clusters it creates; the postmaster.pid of each restored instance).
set -u

# ---- knobs -----------------------------------------------------------------
WORKDIR=${WORKDIR:-/tmp/strata-bench-cluster}
BASE_PORT=${BASE_PORT:-30200}     # 2-shard cluster; 4-shard at +100; restores at +200
BENCH_USER=${BENCH_USER:-strata}
CP_SHARDS=${CP_SHARDS:-"2 4"}     # shard counts for the CP pause measurement
CP_COUNT=${CP_COUNT:-60}          # CPs per shard count (one per CP_EVERY s)
CP_EVERY=${CP_EVERY:-1}
CP_BASELINE_BIN=${CP_BASELINE_BIN:-}   # another strata binary: its CPs alternate with this one's, same clusters
CP_ROUNDS=${CP_ROUNDS:-6}         # with CP_BASELINE_BIN: rounds of CP_COUNT/CP_ROUNDS CPs each, order alternating
CP_BASELINE_REV=${CP_BASELINE_REV:-baseline}   # its name in the results
CP_ONLY=${CP_ONLY:-0}             # 1: the CP pause part alone
WL_CLIENTS=${WL_CLIENTS:-3}       # strata workload --clients, everywhere
ACCOUNTS=${ACCOUNTS:-100}         # workload --init --accounts (per shard)
SCALE=${SCALE:-20}                # pgbench -i -s SCALE in database bank of each shard primary
BR_RUNS=${BR_RUNS:-3}             # backup + restore runs (medians)
JOBS=${JOBS:-1}                   # strata --jobs per replica set; pgBackRest process-max
TPS_ROUNDS=${TPS_ROUNDS:-2}       # rounds of the TPS conditions (order alternates)
TPS_DURATION=${TPS_DURATION:-20}  # workload seconds per condition
MAX_RATE=${MAX_RATE:-5M}          # condition (d): strata backup --max-rate (per replica set)
MATCH=${MATCH:-1}                 # 1: condition (e), strata rate-limited to pgBackRest's throughput
LEVEL=${LEVEL:-3}                 # zstd level, both tools
KEEP_WORKDIR=${KEEP_WORKDIR:-0}   # 1: leave pools, repositories and logs behind
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# ---- outer part: as root, copy what is needed and re-run as BENCH_USER -------
if [ "${1:-}" != --inner ]; then
  REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  BIN=${STRATA_BIN:-$REPO/build/strata}
  [ -x "$BIN" ] || { echo "bench: no $BIN (make)" >&2; exit 1; }
  command -v pgbackrest >/dev/null || { echo "bench: pgbackrest not installed" >&2; exit 1; }
  [ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
  for v in BASE_PORT CP_COUNT CP_EVERY CP_ROUNDS WL_CLIENTS ACCOUNTS SCALE BR_RUNS JOBS TPS_ROUNDS TPS_DURATION LEVEL; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
  done
  # Restored clusters take 11 ports from BASE_PORT+200.
  maxshards=0; for n in $CP_SHARDS; do [ "$n" -gt "$maxshards" ] && maxshards=$n; done
  [ $((BASE_PORT + 100 + 10 * maxshards + 2)) -lt $((BASE_PORT + 200)) ] || { echo "bench: too many shards for the port plan" >&2; exit 2; }
  if [ -e "$WORKDIR" ]; then
    if ls "$WORKDIR"/*/*/data/postmaster.pid "$WORKDIR"/*/*/*/postmaster.pid >/dev/null 2>&1; then
      echo "bench: $WORKDIR has running instances (a previous run?): stop them first" >&2; exit 1
    fi
    rm -rf "$WORKDIR"
  fi
  mkdir -p "$WORKDIR/bin" "$WORKDIR/scripts"
  chmod 755 "$WORKDIR"
  cp "$BIN" "$WORKDIR/bin/strata"
  CP_BASELINE=0
  if [ -n "$CP_BASELINE_BIN" ]; then
    [ -x "$CP_BASELINE_BIN" ] || { echo "bench: CP_BASELINE_BIN $CP_BASELINE_BIN is not an executable" >&2; exit 2; }
    cp "$CP_BASELINE_BIN" "$WORKDIR/bin/strata-baseline"
    CP_BASELINE=1
  fi
  cp "$REPO/scripts/cluster.sh" "$WORKDIR/scripts/"
  cp "${BASH_SOURCE[0]}" "$WORKDIR/scripts/bench-cluster.sh"
  GIT_REV=${STRATA_REV:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)}
  if [ -z "${STRATA_REV:-}" ] && [ -n "$(git -C "$REPO" status --porcelain -- src 2>/dev/null)" ]; then
    GIT_REV="$GIT_REV + uncommitted src changes"
  fi
  export GIT_REV
  KNOBS="WORKDIR BASE_PORT CP_SHARDS CP_COUNT CP_EVERY CP_BASELINE CP_ROUNDS CP_BASELINE_REV CP_ONLY WL_CLIENTS ACCOUNTS SCALE BR_RUNS JOBS TPS_ROUNDS TPS_DURATION MAX_RATE MATCH LEVEL KEEP_WORKDIR PG_BIN GIT_REV"
  envargs=()
  for v in $KNOBS; do envargs+=("$v=${!v}"); done
  if [ "$(id -u)" -eq 0 ]; then
    id "$BENCH_USER" >/dev/null 2>&1 || { echo "bench: user $BENCH_USER missing (scripts/install-deps.sh)" >&2; exit 1; }
    chown -R "$BENCH_USER": "$WORKDIR"
    runuser -u "$BENCH_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 TZ=UTC \
      "${envargs[@]}" bash "$WORKDIR/scripts/bench-cluster.sh" --inner
  else
    env "${envargs[@]}" bash "$WORKDIR/scripts/bench-cluster.sh" --inner
  fi
  rc=$?
  [ -f "$WORKDIR/results.md" ] && echo "bench: results in $WORKDIR/results.md"
  exit "$rc"
fi

# ---- inner part: runs as BENCH_USER -----------------------------------------
W=$WORKDIR
cd "$W" || exit 1   # readable by BENCH_USER, unlike a root-only checkout
S=$W/bin/strata
CLUSTER_SH=$W/scripts/cluster.sh
OUT=$W/out
mkdir -p "$OUT"
PSQL="$PG_BIN/psql -X -q -At"
PGBR_CONF=$W/pgbackrest.conf
RES=$W/results.md
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
log() { printf '[bench-cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

CLUSTERS=()        # cluster dirs made by cluster.sh create
RESTORE_DIRS=()    # dirs of restored clusters
BG_PIDS=()         # workload and backup loops
stop_restored() {  # DIR: every postmaster.pid under it, by pid
  local d=$1 f pid
  for f in "$d"/*/data/postmaster.pid "$d"/*/*/postmaster.pid; do
    [ -f "$f" ] || continue
    pid=$(head -1 "$f"); [[ $pid =~ ^[0-9]+$ ]] && kill -INT "$pid" 2>/dev/null
  done
  for f in "$d"/*/data/postmaster.pid "$d"/*/*/postmaster.pid; do
    [ -f "$f" ] || continue
    pid=$(head -1 "$f"); [[ $pid =~ ^[0-9]+$ ]] || continue
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
  done
}
kill_tree() {      # PID: the process and its children, by pid
  local p=$1 kids
  kids=$(ps -o pid= --ppid "$p" 2>/dev/null | paste -sd' ')
  kill -TERM "$p" 2>/dev/null
  for k in $kids; do kill_tree "$k"; done
}
cleanup() {
  local rc=$? p d
  set +e
  touch "$W/stop-loop"
  for p in "${BG_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill_tree "$p"; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for d in "${RESTORE_DIRS[@]}"; do [ -d "$d" ] && stop_restored "$d"; done
  for d in "${CLUSTERS[@]}"; do [ -d "$d" ] && bash "$CLUSTER_SH" destroy "$d" >/dev/null 2>&1; done
  if [ "$rc" -eq 0 ] && [ "$KEEP_WORKDIR" != 1 ]; then
    rm -rf "$W"/pool-* "$W"/pgbr-repo "$W"/restore-*
  elif [ "$rc" -ne 0 ]; then
    log "failed (exit $rc); logs left in $W (out/, pgbr-log/)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stats over numbers on stdin: "n p50 p95 p99 max mean" (nearest-rank percentiles)
stats() {
  python3 -c '
import sys, math
v = sorted(float(x) for x in sys.stdin.read().split())
if not v: print("0 - - - - -"); sys.exit()
def pct(p): return v[max(0, math.ceil(p / 100 * len(v)) - 1)]
print(len(v), *("%.2f" % x for x in (pct(50), pct(95), pct(99), v[-1], sum(v) / len(v))))'
}
median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.2f" % statistics.median(v) if v else "-")'; }
jget() { python3 -c 'import json, sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

new_cluster() {    # DIR SHARDS BASE NAME
  log "cluster $4: $2 shard(s), ports from $3 (--wal-segsize 1 --set archive_timeout=1)"
  CLUSTERS+=("$1")
  bash "$CLUSTER_SH" create "$1" --shards "$2" --base-port "$3" --name "$4" --strata "$S" \
    --pool "$W/pool-$4" --wal-segsize 1 --set archive_timeout=1 >"$OUT/create-$4.log" 2>&1 ||
    die "cluster.sh create $4 failed (see $OUT/create-$4.log)"
  "$S" workload --meta-conn "host=127.0.0.1 port=$3 dbname=strata" --cluster "$4" --init \
    --accounts "$ACCOUNTS" --duration 0 >/dev/null 2>"$OUT/init-$4.err" || die "workload --init on $4 failed"
}
destroy_cluster() {  # DIR
  bash "$CLUSTER_SH" destroy "$1" >/dev/null 2>&1 || log "warning: destroy $1 failed"
}
start_workload() {   # META_CONN CLUSTER OUTFILE: in the background, until stopped
  "$S" workload --meta-conn "$1" --cluster "$2" --clients "$WL_CLIENTS" --output json >"$3" 2>"$3.err" &
  WL_PID=$!
  BG_PIDS+=("$WL_PID")
}
stop_workload() {
  kill -INT "$WL_PID" 2>/dev/null
  wait "$WL_PID" 2>/dev/null
}
# every primary (meta-1, shardK-1) of cluster DIR: no WAL segment waiting to be archived
wait_archived() {
  local d=$1 i
  for i in $(seq 1 600); do
    compgen -G "$d/*-1/data/pg_wal/archive_status/*.ready" >/dev/null || return 0
    sleep 0.5
  done
  die "WAL archiving of $d does not keep up"
}
# every standby of cluster DIR has replayed what its primary had written
wait_standbys() {
  local d=$1 base=$2 nshards=$3 k port target i
  for k in $(seq 0 "$nshards"); do
    port=$((base + 10 * k))
    target=$($PSQL -h 127.0.0.1 -p "$port" -d postgres -c "SELECT pg_current_wal_lsn()")
    for p in $((port + 1)) $((port + 2)); do
      for i in $(seq 1 600); do
        [ "$($PSQL -h 127.0.0.1 -p "$p" -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn")" = t ] && break
        sleep 0.5
      done
    done
  done
}

LOAD_START=$(load)
T_START=$(now)
log "parameters: CP_SHARDS='$CP_SHARDS' CP_COUNT=$CP_COUNT WL_CLIENTS=$WL_CLIENTS SCALE=$SCALE BR_RUNS=$BR_RUNS JOBS=$JOBS TPS_ROUNDS=$TPS_ROUNDS TPS_DURATION=$TPS_DURATION MAX_RATE=$MAX_RATE MATCH=$MATCH; load $LOAD_START"

# =============================================================================
# 1. CP pause under workload, per shard count
# =============================================================================
declare -A CP_ROW
MAIN=$W/main; MAIN_NAME=bc; MAIN_META="host=127.0.0.1 port=$BASE_PORT dbname=strata"
for n in $CP_SHARDS; do
  if [ "$n" = 2 ]; then dir=$MAIN; base=$BASE_PORT; name=$MAIN_NAME
  else dir=$W/cp$n; base=$((BASE_PORT + 100)); name=cp$n; fi
  new_cluster "$dir" "$n" "$base" "$name"
  meta="host=127.0.0.1 port=$base dbname=strata"
  start_workload "$meta" "$name" "$OUT/cp$n-workload.json"
  sleep 3
  l0=$(load)
  log "CP pause, $n shards: $CP_COUNT CPs, one every ${CP_EVERY}s, workload --clients $WL_CLIENTS running"
  : >"$OUT/cp$n.jsonl"
  if [ "$CP_BASELINE" = 1 ]; then
    # The same cluster and workload; rounds alternate which binary goes first.
    : >"$OUT/cp$n-baseline.jsonl"
    per=$((CP_COUNT / CP_ROUNDS)); [ "$per" -ge 1 ] || per=1
    for r in $(seq 1 "$CP_ROUNDS"); do
      if [ $((r % 2)) = 1 ]; then order="cur base"; else order="base cur"; fi
      for who in $order; do
        if [ "$who" = cur ]; then bin=$S; f=$OUT/cp$n.jsonl; else bin=$W/bin/strata-baseline; f=$OUT/cp$n-baseline.jsonl; fi
        "$bin" cp create --meta-conn "$meta" --cluster "$name" --pool "$W/pool-$name" --every "$CP_EVERY" \
          --count "$per" --output json >>"$f" 2>>"$OUT/cp$n.err" || log "warning: $who cp create exited $? (see $OUT/cp$n.err)"
      done
    done
    CP_TOTAL=$((per * CP_ROUNDS))
  else
    "$S" cp create --meta-conn "$meta" --cluster "$name" --pool "$W/pool-$name" --every "$CP_EVERY" \
      --count "$CP_COUNT" --output json >"$OUT/cp$n.jsonl" 2>"$OUT/cp$n.err" || log "warning: cp create exited $? (see $OUT/cp$n.err)"
    CP_TOTAL=$CP_COUNT
  fi
  l1=$(load)
  stop_workload
  pauses() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    if l.strip(): print(json.loads(l)["pause_ms"])' "$1" | stats; }
  read -r cnt p50 p95 p99 mx mean < <(pauses "$OUT/cp$n.jsonl")
  tps=$(jget "$OUT/cp$n-workload.json" '"%.0f" % d["committed_per_s"]' 2>/dev/null || echo -)
  CP_ROW[$n]="| $n | ${GIT_REV:-this} | $cnt/$CP_TOTAL | $p50 | $p95 | $p99 | $mx | $mean | $tps | $l0 → $l1 |"
  log "CP pause, $n shards: n=$cnt p50 $p50 ms p95 $p95 p99 $p99 max $mx mean $mean; workload $tps/s"
  if [ "$CP_BASELINE" = 1 ]; then
    read -r cnt p50 p95 p99 mx mean < <(pauses "$OUT/cp$n-baseline.jsonl")
    CP_ROW[$n]="${CP_ROW[$n]}
| $n | $CP_BASELINE_REV | $cnt/$CP_TOTAL | $p50 | $p95 | $p99 | $mx | $mean | (same run) | |"
    log "CP pause, $n shards, $CP_BASELINE_REV: n=$cnt p50 $p50 ms p95 $p95 p99 $p99 max $mx mean $mean"
  fi
  if [ "$dir" != "$MAIN" ]; then destroy_cluster "$dir"; fi
done
cp_table() {   # the CP pause table, markdown
  if [ "$CP_BASELINE" = 1 ]; then
    echo "**CP pause** (\`strata cp create --every $CP_EVERY\`, $CP_ROUNDS rounds alternating this build and $CP_BASELINE_REV on the same cluster, workload --clients $WL_CLIENTS running; ms; nearest-rank percentiles):"
  else
    echo "**CP pause** (\`strata cp create --every $CP_EVERY --count $CP_COUNT\`, workload --clients $WL_CLIENTS running; ms; nearest-rank percentiles):"
  fi
  echo
  echo "| shards | build | CPs ok | p50 | p95 | p99 | max | mean | workload transfers/s | load 1/5/15 min before → after |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for n in $CP_SHARDS; do echo "${CP_ROW[$n]}"; done
}
if [ "$CP_ONLY" = 1 ]; then
  {
    echo "<!-- generated by bench/cluster.sh (CP_ONLY=1) on $(date -u '+%Y-%m-%d %H:%M UTC') -->"
    echo "Parameters: \`CP_SHARDS='$CP_SHARDS' CP_COUNT=$CP_COUNT CP_EVERY=$CP_EVERY CP_ROUNDS=$CP_ROUNDS WL_CLIENTS=$WL_CLIENTS ACCOUNTS=$ACCOUNTS\`;"
    echo "machine: $(nproc) CPUs, load average at start / end: $LOAD_START / $(load); whole run $(secs "$T_START" "$(now)") s;"
    echo "versions: $("$S" version 2>/dev/null | head -1) (source ${GIT_REV:-unknown}), $("$PG_BIN/postgres" --version)."
    echo
    cp_table
  } >"$RES"
  log "done: $RES"
  exit 0
fi
[ -d "$MAIN" ] || new_cluster "$MAIN" 2 "$BASE_PORT" "$MAIN_NAME"
POOL=$W/pool-$MAIN_NAME

# =============================================================================
# 2. make the shards bigger; cluster backup and restore time
# =============================================================================
log "pgbench -i -s $SCALE in database bank of each shard primary"
for k in 1 2; do
  "$PG_BIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p $((BASE_PORT + 10 * k)) bank >"$OUT/pgbench-shard$k.log" 2>&1 &
  BG_PIDS+=($!); eval "PGB$k=$!"
done
wait "$PGB1" || die "pgbench -i on shard1 failed"
wait "$PGB2" || die "pgbench -i on shard2 failed"
for k in 0 1 2; do $PSQL -h 127.0.0.1 -p $((BASE_PORT + 10 * k)) -d postgres -c "CHECKPOINT" >/dev/null; done
wait_standbys "$MAIN" "$BASE_PORT" 2
wait_archived "$MAIN"
for k in 0 1 2; do for s in 1 2; do
  $PSQL -h 127.0.0.1 -p $((BASE_PORT + 10 * k + s)) -d postgres -c "CHECKPOINT" >/dev/null   # restartpoints
done; done
DB_BYTES=0
SET_SIZES=""
for k in 0 1 2; do
  b=$($PSQL -h 127.0.0.1 -p $((BASE_PORT + 10 * k)) -d postgres -c "SELECT sum(pg_database_size(datname)) FROM pg_database")
  DB_BYTES=$((DB_BYTES + b)); SET_SIZES="$SET_SIZES $b"
done
DB_MB=$(awk -v b="$DB_BYTES" 'BEGIN { printf "%.0f", b / 1e6 }')
log "cluster $MAIN_NAME: $DB_MB MB in the databases of the 3 replica sets (meta shard1 shard2:$SET_SIZES bytes)"

start_workload "$MAIN_META" "$MAIN_NAME" "$OUT/br-workload.json"
sleep 3
LOAD_BR0=$(load)
: >"$OUT/br.tsv"
RPORT=$((BASE_PORT + 200))
for r in $(seq 1 "$BR_RUNS"); do
  t0=$(now)
  "$S" backup --cluster "$MAIN_NAME" --meta-conn "$MAIN_META" --pool "$POOL" --jobs "$JOBS" \
    --compress zstd --compress-level "$LEVEL" --output json >"$OUT/br$r-backup.json" 2>"$OUT/br$r-backup.err" ||
    die "cluster backup run $r failed: $(tail -2 "$OUT/br$r-backup.err")"
  bsecs=$(secs "$t0" "$(now)")
  "$S" cp create --meta-conn "$MAIN_META" --cluster "$MAIN_NAME" --pool "$POOL" --name "bench-r$r" \
    --output json >"$OUT/br$r-cp.json" 2>"$OUT/br$r-cp.err" || die "cp create run $r failed"
  rdir=$W/restore-$r
  RESTORE_DIRS+=("$rdir")
  t0=$(now)
  "$S" restore --cluster "$MAIN_NAME" --to "bcr$r" --pool "$POOL" --dir "$rdir" --base-port "$RPORT" \
    --cp "bench-r$r" --output json >"$OUT/br$r-restore.json" 2>"$OUT/br$r-restore.err" ||
    die "cluster restore run $r failed: $(tail -2 "$OUT/br$r-restore.err")"
  rsecs=$(secs "$t0" "$(now)")
  nmeta=$(jget "$OUT/br$r-restore.json" 'd["topology"]["meta"][0]["port"]')
  if "$S" check-consistency --meta-conn "host=127.0.0.1 port=$nmeta dbname=strata" --cluster "bcr$r" \
      --output json >"$OUT/br$r-check.json" 2>/dev/null; then cons=consistent; else cons=INCONSISTENT; fi
  size=$(jget "$OUT/br$r-backup.json" 'd["size"]')
  stored=$(jget "$OUT/br$r-backup.json" 'd["stored_size"]')
  pause=$(jget "$OUT/br$r-backup.json" '"%.2f" % d["end_cp"]["pause_ms"]')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$bsecs" "$rsecs" "$size" "$stored" "$pause" "$cons" >>"$OUT/br.tsv"
  log "run $r: backup ${bsecs}s ($((size / 1000000)) MB, $((stored / 1000000)) MB stored, end CP pause ${pause} ms); restore ${rsecs}s; restored cluster $cons"
  stop_restored "$rdir"
  rm -rf "$rdir"
done
LOAD_BR1=$(load)
stop_workload
BR_TPS=$(jget "$OUT/br-workload.json" '"%.0f" % d["committed_per_s"]' 2>/dev/null || echo -)

# =============================================================================
# 3. workload TPS with and without a backup running
# =============================================================================
log "pgBackRest: one stanza per replica set, pg1 = primary, pg2 = standby (backup-standby=y)"
mkdir -p "$W/pgbr-repo" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool"
{
  cat <<EOF
[global]
repo1-path=$W/pgbr-repo
repo1-retention-full=9999
log-path=$W/pgbr-log
lock-path=$W/pgbr-lock
spool-path=$W/pgbr-spool
log-level-console=warn
log-level-file=info
compress-type=zst
compress-level=$LEVEL
process-max=$JOBS
start-fast=y
backup-standby=y
archive-check=y
archive-timeout=120
EOF
  for k in 0 1 2; do
    if [ "$k" = 0 ]; then set=meta; else set=shard$k; fi
    p=$((BASE_PORT + 10 * k))
    printf '\n[%s]\npg1-path=%s\npg1-port=%d\npg1-socket-path=%s\npg2-path=%s\npg2-port=%d\npg2-socket-path=%s\n' \
      "$set" "$MAIN/$set-1/data" "$p" "$MAIN/sock" "$MAIN/$set-2/data" $((p + 1)) "$MAIN/sock"
  done
} >"$PGBR_CONF"
SETS="meta shard1 shard2"
for set in $SETS; do
  pgbackrest --config="$PGBR_CONF" --stanza="$set" stanza-create >"$OUT/pgbr-stanza-$set.log" 2>&1 ||
    die "pgbackrest stanza-create $set failed (see $OUT/pgbr-stanza-$set.log)"
done
# pgBackRest's backups wait for their WAL in its repository (archive-check):
# each primary archives to both (strata wal-push && pgbackrest archive-push),
# in every condition, so the baseline carries the same archiving cost.
k=0
for set in $SETS; do
  p=$((BASE_PORT + 10 * k)); k=$((k + 1))
  cur=$($PSQL -h 127.0.0.1 -p "$p" -d postgres -c "SHOW archive_command")
  $PSQL -h 127.0.0.1 -p "$p" -d postgres -c "ALTER SYSTEM SET archive_command = '$cur && /usr/bin/pgbackrest --config=$PGBR_CONF --stanza=$set archive-push %p'" >/dev/null
  $PSQL -h 127.0.0.1 -p "$p" -d postgres -c "SELECT pg_reload_conf()" >/dev/null
done
sleep 1
for set in $SETS; do
  pgbackrest --config="$PGBR_CONF" --stanza="$set" check >"$OUT/pgbr-check-$set.log" 2>&1 ||
    die "pgbackrest check $set failed (see $OUT/pgbr-check-$set.log)"
done
wait_archived "$MAIN"

# Backup loops: run iterations until $W/stop-loop exists; one line per
# iteration: start end rc bytes (strata; pgBackRest's bytes come from its info).
loop_strata() {   # TAG [--max-rate R]
  local tag=$1 i=0 t0 t1 rc bytes; shift
  while [ ! -f "$W/stop-loop" ]; do
    i=$((i + 1))
    t0=$(now)
    /usr/bin/time -a -o "$OUT/$tag.cpu" -f '%U %S' "$S" backup --cluster "$MAIN_NAME" --meta-conn "$MAIN_META" \
      --pool "$POOL" --jobs "$JOBS" --compress zstd --compress-level "$LEVEL" "$@" --output json \
      >"$OUT/$tag-$i.json" 2>"$OUT/$tag-$i.err"
    rc=$?; t1=$(now)
    bytes=0; [ "$rc" = 0 ] && bytes=$(jget "$OUT/$tag-$i.json" 'd["size"]')
    echo "$t0 $t1 $rc $bytes" >>"$OUT/$tag.iter"
  done
}
loop_pgbr() {     # TAG
  local tag=$1 i=0 t0 t1 rc set pids p; shift
  while [ ! -f "$W/stop-loop" ]; do
    i=$((i + 1))
    t0=$(now); pids=(); rc=0
    for set in $SETS; do   # the three replica sets at once, as strata does
      /usr/bin/time -a -o "$OUT/$tag.cpu" -f '%U %S' pgbackrest --config="$PGBR_CONF" --stanza="$set" \
        backup --type=full >"$OUT/$tag-$i-$set.log" 2>&1 &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    t1=$(now)
    echo "$t0 $t1 $rc 0" >>"$OUT/$tag.iter"
  done
}
# bytes of the pgBackRest backups that started at or after EPOCH (their info.size)
pgbr_bytes_since() {
  local since=$1 set total=0 b
  for set in $SETS; do
    b=$(pgbackrest --config="$PGBR_CONF" --stanza="$set" info --output=json |
      python3 -c 'import json, sys
since = float(sys.argv[1])
print(sum(b["info"]["size"] for s in json.load(sys.stdin) for b in s.get("backup", [])
          if b["timestamp"]["start"] >= int(since)))' "$since")
    total=$((total + b))
  done
  echo "$total"
}

: >"$OUT/tps.tsv"
MATCH_RATE=""
run_condition() {   # ROUND COND
  local round=$1 cond=$2 tag="r$1-$2" lp="" ls le l0 l1 tps bytes iters fails thr cpu
  rm -f "$W/stop-loop" "$OUT/$tag.iter" "$OUT/$tag.cpu"
  ls=$(now)
  case $cond in
    a) ;;
    b) loop_strata "$tag" & lp=$! ;;
    c) loop_pgbr "$tag" & lp=$! ;;
    d) loop_strata "$tag" --max-rate "$MAX_RATE" & lp=$! ;;
    e) loop_strata "$tag" --max-rate "$MATCH_RATE" & lp=$! ;;
  esac
  [ -n "$lp" ] && { BG_PIDS+=("$lp"); sleep 1; }
  l0=$(load)
  "$S" workload --meta-conn "$MAIN_META" --cluster "$MAIN_NAME" --clients "$WL_CLIENTS" --duration "$TPS_DURATION" \
    --output json >"$OUT/$tag-workload.json" 2>"$OUT/$tag-workload.err" || log "warning: workload $tag exited $?"
  l1=$(load)
  touch "$W/stop-loop"
  [ -n "$lp" ] && wait "$lp"
  le=$(now)
  tps=$(jget "$OUT/$tag-workload.json" '"%.1f" % d["committed_per_s"]')
  iters=0 fails=0 bytes=0 thr=- cpu=-
  if [ -n "$lp" ]; then
    iters=$(wc -l <"$OUT/$tag.iter")
    fails=$(awk '$3 != 0' "$OUT/$tag.iter" | wc -l)
    if [ "$cond" = c ]; then bytes=$(pgbr_bytes_since "$ls")
    else bytes=$(awk '{ s += $4 } END { printf "%.0f", s }' "$OUT/$tag.iter"); fi
    # throughput: bytes of the completed backups / wall time of the loop
    thr=$(awk -v b="$bytes" -v a="$ls" -v e="$le" 'BEGIN { printf "%.1f", b / 1e6 / (e - a) }')
    cpu=$(awk -v b="$bytes" '{ c += $1 + $2 } END { if (b > 0) printf "%.2f", c / (b / 1e9); else print "-" }' "$OUT/$tag.cpu")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$cond" "$tps" "$thr" "$bytes" "$iters" "$fails" \
    "$(secs "$ls" "$le")" "$cpu" "$l0 → $l1" >>"$OUT/tps.tsv"
  log "round $round ($cond): $tps transfers/s; backups: $iters iteration(s), $fails failed, $((bytes / 1000000)) MB in $(secs "$ls" "$le")s = $thr MB/s, $cpu CPU s/GB; load $l0 → $l1"
  wait_archived "$MAIN"
  sleep 2
}

CONDS="a b c d"
[ "$MATCH" = 1 ] && CONDS="a b c d e"
LOAD_TPS0=$(load)
for round in $(seq 1 "$TPS_ROUNDS"); do
  order=$CONDS
  [ $((round % 2)) = 0 ] && order=$(echo "$CONDS" | tr ' ' '\n' | tac | paste -sd' ')
  for cond in $order; do
    if [ "$cond" = e ] && [ -z "$MATCH_RATE" ]; then
      # per-set rate so that strata's aggregate throughput is pgBackRest's:
      # the sets run in parallel, the largest set bounds an iteration
      thr_c=$(awk -F'\t' '$2 == "c" { print $4 }' "$OUT/tps.tsv" | median)
      [ "$thr_c" != - ] || die "condition e needs condition c first"
      maxset=$(echo "$SET_SIZES" | tr ' ' '\n' | sort -n | tail -1)
      MATCH_RATE=$(awk -v t="$thr_c" -v m="$maxset" -v a="$DB_BYTES" 'BEGIN { printf "%dK", t * 1e6 * m / a / 1024 }')
      log "condition e: pgBackRest did $thr_c MB/s: strata --max-rate $MATCH_RATE per replica set"
    fi
    run_condition "$round" "$cond"
  done
done
LOAD_END=$(load)
T_TOTAL=$(secs "$T_START" "$(now)")

# =============================================================================
# report
# =============================================================================
col_median() { awk -F'\t' -v c="$1" -v k="$2" '$2 == c { print $k }' "$OUT/tps.tsv" | grep -v '^-$' | median; }
declare -A TPS THR CPUGB DROP
for c in $CONDS; do
  TPS[$c]=$(col_median "$c" 3); THR[$c]=$(col_median "$c" 4); CPUGB[$c]=$(col_median "$c" 9)
done
for c in $CONDS; do
  DROP[$c]=$(awk -v b="${TPS[a]}" -v x="${TPS[$c]}" 'BEGIN { printf "%.1f", (b - x) / b * 100 }')
done
ratio() { awk -v s="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.2f", s / p; else print "n/a (pgBackRest drop ≤ 0)" }'; }
R_B=$(ratio "${DROP[b]}" "${DROP[c]}")
R_D=$(ratio "${DROP[d]}" "${DROP[c]}")
R_E=-; [ "$MATCH" = 1 ] && R_E=$(ratio "${DROP[e]}" "${DROP[c]}")
B_MED=$(cut -f2 "$OUT/br.tsv" | median); R_MED=$(cut -f3 "$OUT/br.tsv" | median)
B_SIZE=$(cut -f4 "$OUT/br.tsv" | median); B_STORED=$(cut -f5 "$OUT/br.tsv" | median)
CONS=$(cut -f7 "$OUT/br.tsv" | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
name_of() { case $1 in a) echo "(a) no backup (baseline)";; b) echo "(b) strata cluster backup, unthrottled";;
  c) echo "(c) pgBackRest, 3 stanzas at once";; d) echo "(d) strata --max-rate $MAX_RATE";;
  e) echo "(e) strata --max-rate $MATCH_RATE (pgBackRest's throughput)";; esac; }

{
  echo "<!-- generated by bench/cluster.sh on $(date -u '+%Y-%m-%d %H:%M UTC') -->"
  echo "Parameters: \`CP_SHARDS='$CP_SHARDS' CP_COUNT=$CP_COUNT CP_EVERY=$CP_EVERY WL_CLIENTS=$WL_CLIENTS ACCOUNTS=$ACCOUNTS SCALE=$SCALE BR_RUNS=$BR_RUNS JOBS=$JOBS TPS_ROUNDS=$TPS_ROUNDS TPS_DURATION=$TPS_DURATION MAX_RATE=$MAX_RATE MATCH=$MATCH LEVEL=$LEVEL\`;"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;"
  echo "load average at start / end: $LOAD_START / $LOAD_END; whole run ${T_TOTAL} s;"
  echo "versions: $("$S" version 2>/dev/null | head -1) (source ${GIT_REV:-unknown}), $(pgbackrest version), $("$PG_BIN/postgres" --version)."
  echo
  cp_table
  echo
  echo "**Cluster backup and restore** (2 shards + metadata, each replica set primary + 2 standbys; $DB_MB MB in the databases, pgbench -s $SCALE on each shard; backup \`--jobs $JOBS\` from the standbys under workload, then \`cp create\`, then \`restore --cluster --cp\` into a new cluster; medians of $BR_RUNS):"
  echo
  echo "| backup s | restore s | backed up MB | stored MB | restored clusters | workload during the runs |"
  echo "|---|---|---|---|---|---|"
  echo "| $B_MED | $R_MED | $(awk -v b="$B_SIZE" 'BEGIN{printf "%.0f", b/1e6}') | $(awk -v b="$B_STORED" 'BEGIN{printf "%.1f", b/1e6}') | $CONS | $BR_TPS transfers/s; load $LOAD_BR0 → $LOAD_BR1 |"
  echo
  echo "Per run: run, backup s, restore s, bytes, stored bytes, end-CP pause ms, check:"
  echo
  echo '```'
  cat "$OUT/br.tsv"
  echo '```'
  echo
  echo "**Workload TPS with and without a backup** (\`strata workload --clients $WL_CLIENTS --duration $TPS_DURATION\` on the 2-shard cluster; medians of $TPS_ROUNDS rounds, order alternating; throughput = bytes of the completed backups / wall time of the loop):"
  echo
  echo "| condition | transfers/s | TPS drop | backup throughput MB/s | tool CPU s per GB |"
  echo "|---|---|---|---|---|"
  for c in $CONDS; do
    d="${DROP[$c]} %"; [ "$c" = a ] && d="—"
    echo "| $(name_of "$c") | ${TPS[$c]} | $d | ${THR[$c]:--} | ${CPUGB[$c]:--} |"
  done
  echo
  echo "TPS drop ratio strata / pgBackRest: unthrottled (b/c) **$R_B**; --max-rate $MAX_RATE (d/c) **$R_D**$([ "$MATCH" = 1 ] && echo "; at pgBackRest's throughput (e/c) **$R_E**")."
  echo
  echo "Per condition and round: round, condition, transfers/s, MB/s, bytes, iterations, failed, loop s, CPU s/GB, load 1/5/15 before → after:"
  echo
  echo '```'
  cat "$OUT/tps.tsv"
  echo '```'
} >"$RES"
cat "$RES"
