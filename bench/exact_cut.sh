#!/usr/bin/env bash
# strata: the extra restore time of an exact cluster cut against a CP restore
# (issue 12; docs/benchmarks.md, "Exact cuts against CP restores").
#
# For each shard count N in SHARDS: a throw-away cluster (scripts/cluster.sh
# create: metadata, N shards, compute; shared_buffers 16MB, 1 MB WAL
# segments, archive_timeout=1), the bank workload's accounts (--accounts
# ACCOUNTS per shard), a cluster backup, then the 2PC workload (WL_CLIENTS
# clients, abandoned in-doubt transactions resolved after 3 s) for
# CP_COUNT x CP_EVERY seconds with a CP every CP_EVERY s, and a final CP.
# The target time T is halfway between the middle two CPs. Then RUNS rounds,
# each restoring the cluster to --time T twice into new clusters, both with
# --primaries-only (no standbys: it keeps the runs short and is the same for
# both): --cut cp (the latest CP at or before T) and --cut exact (the WAL
# index read, each node cut at its own LSN; the metadata primary recovers
# first, then the shards). The order flips every round. Each restore is
# timed (wall clock around the command, after a sync), its JSON report
# (--output json) gives duration and, for the exact cut, cut.plan_seconds
# (reading the index and planning, before any recovery); the restored
# cluster is checked (strata check-consistency, untimed) and removed.
#
#   bash bench/exact_cut.sh       as root (PostgreSQL and strata run as
#                                 BENCH_USER through runuser) or as BENCH_USER
#
# Results: printed, written to RESULTS (default bench/results-exact-cut.md).
# Everything runs from a copy in WORKDIR, removed at the end (KEEP_WORKDIR=1
# keeps it); every process started is stopped by pid.
set -u

# ---- knobs -----------------------------------------------------------------
WORKDIR=${WORKDIR:-/tmp/strata-bench-exact-cut}
BASE_PORT=${BASE_PORT:-36000}   # shard count #i: source at BASE_PORT+100*i, restores at +50
BENCH_USER=${BENCH_USER:-strata}
SHARDS=${SHARDS:-"2 4"}
RUNS=${RUNS:-2}                 # rounds of (cp, exact) per shard count, order alternating
ACCOUNTS=${ACCOUNTS:-50}        # workload --init --accounts (per shard)
WL_CLIENTS=${WL_CLIENTS:-2}
CP_COUNT=${CP_COUNT:-6}         # CPs under the workload
CP_EVERY=${CP_EVERY:-3}         # seconds between them
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# ---- outer part: copy what is needed, re-run as BENCH_USER -------------------
if [ "${1:-}" != --inner ]; then
  REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  BIN=${STRATA_BIN:-$REPO/build/strata}
  RESULTS=${RESULTS:-$REPO/bench/results-exact-cut.md}
  [ -x "$BIN" ] || { echo "exact_cut: no $BIN (make all)" >&2; exit 1; }
  for v in BASE_PORT RUNS ACCOUNTS WL_CLIENTS CP_COUNT CP_EVERY; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "exact_cut: $v must be a number" >&2; exit 2; }
  done
  for n in $SHARDS; do [[ $n =~ ^[1-9]$ ]] || { echo "exact_cut: SHARDS holds '$n', not 1..9" >&2; exit 2; }; done
  [ "$CP_COUNT" -ge 2 ] || { echo "exact_cut: CP_COUNT must be at least 2" >&2; exit 2; }
  if [ -e "$WORKDIR" ]; then
    echo "exact_cut: $WORKDIR exists (a previous run?): remove it first" >&2; exit 1
  fi
  mkdir -p "$WORKDIR/bin" "$WORKDIR/scripts"
  chmod 755 "$WORKDIR"
  cp "$BIN" "$WORKDIR/bin/strata"
  cp "$REPO/scripts/cluster.sh" "$WORKDIR/scripts/"
  cp "${BASH_SOURCE[0]}" "$WORKDIR/scripts/exact_cut.sh"
  GIT_REV=${STRATA_REV:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)}
  if [ -z "${STRATA_REV:-}" ] && [ -n "$(git -C "$REPO" status --porcelain -- src 2>/dev/null)" ]; then
    GIT_REV="$GIT_REV + uncommitted src changes"
  fi
  envargs=()
  for v in WORKDIR BASE_PORT SHARDS RUNS ACCOUNTS WL_CLIENTS CP_COUNT CP_EVERY PG_BIN GIT_REV; do
    envargs+=("$v=${!v}")
  done
  if [ "$(id -u)" -eq 0 ]; then
    id "$BENCH_USER" >/dev/null 2>&1 || { echo "exact_cut: user $BENCH_USER missing (scripts/install-deps.sh)" >&2; exit 1; }
    chown -R "$BENCH_USER": "$WORKDIR"
    runuser -u "$BENCH_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 TZ=UTC \
      "${envargs[@]}" bash "$WORKDIR/scripts/exact_cut.sh" --inner
  else
    env "${envargs[@]}" TZ=UTC bash "$WORKDIR/scripts/exact_cut.sh" --inner
  fi
  rc=$?
  if [ -f "$WORKDIR/results.md" ]; then
    cp "$WORKDIR/results.md" "$RESULTS" && echo "exact_cut: results in $RESULTS"
  fi
  if [ "$KEEP_WORKDIR" = 1 ]; then
    echo "exact_cut: $WORKDIR kept (KEEP_WORKDIR=1)"
  else
    rm -rf "$WORKDIR"
  fi
  exit "$rc"
fi

# ---- inner part: runs as BENCH_USER -----------------------------------------
W=$WORKDIR
cd "$W" || exit 1
S=$W/bin/strata
CLUSTER_SH=$W/scripts/cluster.sh
OUT=$W/out
RES=$W/results.md
mkdir -p "$OUT"
PSQL="$PG_BIN/psql -X -q -At -v ON_ERROR_STOP=1"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
log() { printf '[exact_cut %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
tailof() { tail -n 5 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-600; }
jget() {   # FILE DOTTED.PATH: a value from a JSON file ('' if absent)
  python3 - "$1" "$2" <<'PYEOF' 2>/dev/null
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split('.'):
        d = d[int(k)] if isinstance(d, list) else d[k]
    print(d)
except Exception:
    pass
PYEOF
}
median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.2f" % statistics.median(v) if v else "-")'; }
port_free() { [ -z "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]; }

CLUSTER_DIR=   # the source cluster being measured (cluster.sh destroy)
RESTORE_DIR=   # the restored cluster being measured
WL_PID=
alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop_restored() {   # DIR: every postgres whose postmaster.pid is under DIR, by pid
  local f pid pids="" left i
  [ -d "$1" ] || return 0
  while read -r f; do
    pid=$(head -n 1 "$f" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && pids="$pids $pid"
  done < <(find "$1" -maxdepth 4 -name postmaster.pid 2>/dev/null)
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -INT "$pid" 2>/dev/null; done
  for ((i = 0; i < 150; i++)); do
    left=""
    for pid in $pids; do alive "$pid" && left="$left $pid"; done
    [ -z "$left" ] && return 0
    sleep 0.2
  done
  for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
}
stop_workload() {
  if [ -n "$WL_PID" ] && kill -0 "$WL_PID" 2>/dev/null; then
    kill -INT "$WL_PID" 2>/dev/null
    wait "$WL_PID" 2>/dev/null
  fi
  WL_PID=
}
cleanup() {
  local rc=$?
  set +e
  stop_workload
  [ -n "$RESTORE_DIR" ] && stop_restored "$RESTORE_DIR"
  [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ] && bash "$CLUSTER_SH" destroy "$CLUSTER_DIR" >/dev/null 2>&1
  [ "$rc" -ne 0 ] && log "failed (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# every primary of cluster DIR: no WAL segment waiting to be archived
wait_archived() {
  local i
  for i in $(seq 1 600); do
    compgen -G "$1/*-1/data/pg_wal/archive_status/*.ready" >/dev/null || return 0
    sleep 0.2
  done
  die "WAL archiving of $1 does not keep up"
}

LOAD_START=$(load)
T_START=$(now)
log "SHARDS='$SHARDS' RUNS=$RUNS ACCOUNTS=$ACCOUNTS WL_CLIENTS=$WL_CLIENTS CP_COUNT=$CP_COUNT CP_EVERY=$CP_EVERY; load $LOAD_START"
ROWS=""       # summary rows, per shard count
RUN_ROWS=""   # one row per restore
idx=0
for n in $SHARDS; do
  base=$((BASE_PORT + 100 * idx)); rbase=$((base + 50)); idx=$((idx + 1))
  for p in $(seq "$base" $((base + 10 * n + 2))) $(seq "$rbase" $((rbase + n + 1))); do
    port_free "$p" || die "port $p is in use (BASE_PORT=$BASE_PORT)"
  done
  name=bx$n dir=$W/c$n pool=$W/pool-$n meta="host=127.0.0.1 port=$base dbname=strata"
  log "$n shards: cluster $name, ports from $base"
  CLUSTER_DIR=$dir
  bash "$CLUSTER_SH" create "$dir" --shards "$n" --base-port "$base" --name "$name" --strata "$S" \
    --pool "$pool" --wal-segsize 1 --set archive_timeout=1 >"$OUT/create-$n.log" 2>&1 ||
    die "cluster.sh create ($n shards): $(tailof "$OUT/create-$n.log")"
  "$S" workload --meta-conn "$meta" --cluster "$name" --init --accounts "$ACCOUNTS" --duration 0 --quiet \
    2>"$OUT/init-$n.err" || die "workload --init: $(tailof "$OUT/init-$n.err")"
  "$S" backup --cluster "$name" --meta-conn "$meta" --pool "$pool" --jobs 1 --output json \
    >"$OUT/backup-$n.json" 2>"$OUT/backup-$n.err" || die "cluster backup: $(tailof "$OUT/backup-$n.err")"
  log "$n shards: backup $(jget "$OUT/backup-$n.json" id); workload and $CP_COUNT CPs, one every ${CP_EVERY}s"
  "$S" workload --meta-conn "$meta" --cluster "$name" --clients "$WL_CLIENTS" --resolve-after 3 --duration 3000 \
    --output json >"$OUT/wl-$n.json" 2>"$OUT/wl-$n.err" &
  WL_PID=$!
  CPT=()
  for ((i = 1; i <= CP_COUNT; i++)); do
    sleep "$CP_EVERY"
    "$S" cp create --meta-conn "$meta" --cluster "$name" --pool "$pool" --name "cp$i" --output json \
      >"$OUT/cp$n-$i.json" 2>"$OUT/cp$n-$i.err" || die "cp create cp$i: $(tailof "$OUT/cp$n-$i.err")"
    CPT[$i]=$(jget "$OUT/cp$n-$i.json" time)
  done
  sleep 1
  kill -0 "$WL_PID" 2>/dev/null || die "the workload died: $(tailof "$OUT/wl-$n.err")"
  stop_workload
  "$S" cp create --meta-conn "$meta" --cluster "$name" --pool "$pool" --name cp-final --output json \
    >"$OUT/cp$n-final.json" 2>"$OUT/cp$n-final.err" || die "cp create cp-final: $(tailof "$OUT/cp$n-final.err")"
  wait_archived "$dir"
  mid=$((CP_COUNT / 2))
  T=$($PSQL -h 127.0.0.1 -p "$base" -d strata -c \
    "SELECT (timestamptz '${CPT[$mid]}' + (timestamptz '${CPT[$((mid + 1))]}' - timestamptz '${CPT[$mid]}') / 2)::text")
  [ -n "$T" ] || die "no target time between cp$mid and cp$((mid + 1))"
  xfers=$(jget "$OUT/wl-$n.json" cross_shard)
  log "$n shards: $xfers cross-shard transfers; target T = $T (between cp$mid and cp$((mid + 1)))"

  declare -A WALL=() DUR=() PLAN=()
  for ((r = 1; r <= RUNS; r++)); do
    if [ $((r % 2)) = 1 ]; then order="cp exact"; else order="exact cp"; fi
    for cut in $order; do
      rd=$W/r$n-$r-$cut out=$OUT/restore-$n-$r-$cut.json err=$OUT/restore-$n-$r-$cut.err to=${name}_${cut}$r
      RESTORE_DIR=$rd
      sync
      l0=$(load)
      t0=$(now)
      "$S" restore --cluster "$name" --to "$to" --pool "$pool" --dir "$rd" --base-port "$rbase" --primaries-only \
        --cut "$cut" --time "$T" --output json >"$out" 2>"$err" || die "restore $n shards --cut $cut: $(tailof "$err")"
      t1=$(now)
      wall=$(secs "$t0" "$t1")
      method=$(jget "$out" cut.method)
      [ "$method" = "$cut" ] || die "restore --cut $cut reported method '$method': $(jget "$out" cut.why)"
      mport=$(jget "$out" topology.meta.0.port)
      if "$S" check-consistency --meta-conn "host=127.0.0.1 port=$mport dbname=strata" --cluster "$to" \
        >"$OUT/check-$n-$r-$cut.out" 2>&1; then check=ok; else check=FAILED; fi
      dur=$(printf '%.2f' "$(jget "$out" duration)")
      if [ "$cut" = exact ]; then
        plan=$(printf '%.3f' "$(jget "$out" cut.plan_seconds)")
        recs=0 segs=0
        for ((k = 0; k <= n; k++)); do
          x=$(jget "$out" cut.cuts.$k.records_read); recs=$((recs + ${x:-0}))
          x=$(jget "$out" cut.cuts.$k.segments_read); segs=$((segs + ${x:-0}))
        done
        what="$(jget "$out" cut.decided) decisions; index: $segs segments, $recs records"
      else
        plan=-
        what="CP $(jget "$out" cp), $(printf '%.2f' "$(jget "$out" distance_seconds)") s before T"
      fi
      WALL[$cut]="${WALL[$cut]:-} $wall" DUR[$cut]="${DUR[$cut]:-} $dur"
      [ "$cut" = exact ] && PLAN[$cut]="${PLAN[$cut]:-} $plan"
      log "$n shards, round $r, --cut $cut: wall ${wall}s, duration ${dur}s, plan ${plan}s; $what; check $check"
      RUN_ROWS="$RUN_ROWS
| $n | $r | $cut | $wall | $dur | $plan | $what | $check | $l0 |"
      stop_restored "$rd"
      rm -rf "$rd"
      RESTORE_DIR=
      [ "$check" = ok ] || die "check-consistency of $to: $(tailof "$OUT/check-$n-$r-$cut.out")"
    done
  done
  cpw=$(echo "${WALL[cp]}" | median) exw=$(echo "${WALL[exact]}" | median)
  cpd=$(echo "${DUR[cp]}" | median) exd=$(echo "${DUR[exact]}" | median)
  pl=$(echo "${PLAN[exact]}" | python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.3f" % statistics.median(v))')
  diff=$(awk -v a="$cpw" -v b="$exw" 'BEGIN { printf "%+.2f", b - a }')
  ratio=$(awk -v a="$cpw" -v b="$exw" 'BEGIN { printf "%.2f", b / a }')
  ROWS="$ROWS
| $n | $RUNS | $cpw ($cpd) | $exw ($exd) | $diff | $pl | $ratio |"
  log "$n shards: CP $cpw s, exact $exw s, difference $diff s, plan $pl s, ratio $ratio"
  unset WALL DUR PLAN
  bash "$CLUSTER_SH" destroy "$dir" >/dev/null 2>"$OUT/destroy-$n.err" || log "warning: destroy $dir: $(tailof "$OUT/destroy-$n.err")"
  CLUSTER_DIR=
  rm -rf "$pool"
done

{
  echo "<!-- generated by bench/exact_cut.sh on $(date -u '+%Y-%m-%d %H:%M UTC') -->"
  echo "Parameters: \`SHARDS='$SHARDS' RUNS=$RUNS ACCOUNTS=$ACCOUNTS WL_CLIENTS=$WL_CLIENTS CP_COUNT=$CP_COUNT CP_EVERY=$CP_EVERY\`,"
  echo "restores with \`--primaries-only --time T --output json\`, T halfway between CP $((CP_COUNT / 2)) and CP $((CP_COUNT / 2 + 1));"
  echo "machine: $(nproc) CPUs, load average at start / end: $LOAD_START / $(load); whole run $(secs "$T_START" "$(now)") s;"
  echo "versions: $("$S" version 2>/dev/null | head -1) (source ${GIT_REV:-unknown}), $("$PG_BIN/postgres" --version)."
  echo
  echo "Medians over the rounds; seconds; wall clock around \`strata restore\` (in parentheses the report's \`duration\`):"
  echo
  echo "| shards | rounds | CP restore | exact restore | exact − CP | exact plan_seconds | exact / CP |"
  echo "|---|---|---|---|---|---|---|$ROWS"
  echo
  echo "Every restore:"
  echo
  echo "| shards | round | --cut | wall s | duration s | plan_seconds | cut | check-consistency | load before |"
  echo "|---|---|---|---|---|---|---|---|---|$RUN_ROWS"
} >"$RES"
cat "$RES"
# nothing of ours may be left (a server or wal-push still exiting gets 10 s)
for ((i = 0; i < 20; i++)); do
  left=""
  for p in /proc/[0-9]*; do
    # a postgres or strata process (by its name, not the command line: the
    # runuser wrapper's names PG_BIN and WORKDIR) of a path under WORKDIR
    case $(cat "$p/comm" 2>/dev/null) in postgres | strata) ;; *) continue ;; esac
    case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in
      *"$W/"*) alive "${p#/proc/}" && left="$left ${p#/proc/}" ;;
    esac
  done
  [ -z "$left" ] && break
  sleep 0.5
done
[ -z "$left" ] || die "still running after the clean-up of each cluster:$left"
log "done in $(secs "$T_START" "$(now)") s"
