#!/usr/bin/env bash
# strata benchmark: the same PostgreSQL 15 database (pgbench, data checksums
# on) backed up from a streaming standby by strata, pgBackRest and
# pg_basebackup, and restored by strata and pgBackRest; several alternating
# runs, medians, throughput, ratios and strata's peak RSS.
# See bench/README.md. Run as root (PostgreSQL and every backup tool run as
# BENCH_USER through runuser) or directly as BENCH_USER.
set -euo pipefail

SCALE=${SCALE:-100}                 # pgbench scale (100 = ~1.5 GB)
RUNS=${RUNS:-3}                     # alternating runs per tool
JOBS=${JOBS:-2}                     # processes/threads for every tool
COMPRESS=${COMPRESS:-zstd}          # strata name; pgBackRest: zstd -> zst
LEVEL=${LEVEL:-3}
WORKDIR=${WORKDIR:-/tmp/strata-bench}
PORT=${PORT:-30010}                 # primary; the standby gets PORT+1 (below the ephemeral range)
BENCH_USER=${BENCH_USER:-strata}
TOOLS=${TOOLS:-"strata pgbackrest pg_basebackup"}   # subset for debugging
KEEP_WORKDIR=${KEEP_WORKDIR:-0}     # 1: leave data dirs and repositories behind
VERIFY=${VERIFY:-1}                 # 1: start the last run's restores and check the data
WARM=${WARM:-1}                     # 1: warm the page cache before each timed operation
OPS=${OPS:-"backup restore"}        # "backup" alone skips the restores (and their check)
REUSE=${REUSE:-0}                   # 1: reuse WORKDIR's data set from an earlier SETUP_ONLY/KEEP_WORKDIR run
SETUP_ONLY=${SETUP_ONLY:-0}         # 1: build the data set and stop (keeps it for REUSE=1)
CHUNK_SIZE=${CHUNK_SIZE:-}          # strata --chunk-size (empty: strata's default)
NICE=${NICE:-0}                     # strata --nice: 0, the priority the other tools run at
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/.." && pwd)
STRATA_SRC=${STRATA_BIN:-$REPO_ROOT/build/strata}
RESULTS_MD=${RESULTS_MD:-$HERE/results-latest.md}

case "$COMPRESS" in
  zstd) PGBR_COMPRESS=zst ;;
  lz4)  PGBR_COMPRESS=lz4 ;;
  none) PGBR_COMPRESS=none ;;
  *) echo "bench: COMPRESS must be zstd, lz4 or none" >&2; exit 2 ;;
esac
for v in SCALE RUNS JOBS LEVEL PORT NICE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
done
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
has_op() { [[ " $OPS " == *" $1 "* ]]; }
has_op restore || VERIFY=0
[ "$SETUP_ONLY" = 1 ] && KEEP_WORKDIR=1
[ "$REUSE" = 1 ] && KEEP_WORKDIR=1      # the data set outlives the run, for the next REUSE=1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- prerequisites
if [ "$(id -u)" -eq 0 ]; then
  id "$BENCH_USER" >/dev/null 2>&1 || die "user $BENCH_USER does not exist (make deps creates it)"
  as_user() { runuser -u "$BENCH_USER" -- "$@"; }
  # /usr/bin/time (GNU) for the peak RSS; added here, not to install-deps.sh.
  if ! dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q 'install ok installed'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  fi
else
  [ "$(id -un)" = "$BENCH_USER" ] || die "run as root or as $BENCH_USER"
  as_user() { "$@"; }
fi
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
[ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 not found in $PG_BIN"
if has_tool pgbackrest; then command -v pgbackrest >/dev/null || die "pgbackrest not installed"; fi
if has_tool strata; then [ -x "$STRATA_SRC" ] || die "$STRATA_SRC missing: make first"; fi

P_PORT=$PORT; S_PORT=$((PORT + 1))
W=$WORKDIR; SOCK=$W/sock; BIN=$W/bin
PRIMARY=$W/primary; STANDBY=$W/standby
POOL=$W/pool; NODE=bench
PGBR_CONF=$W/pgbackrest.conf; PGBR_REPO=$W/pgbr-repo
PGBB_DIR=$W/pgbb; RESTORE_DIR=$W/restore
RES=$W/results.tsv; OUT=$W/out
STRATA=$BIN/strata

for p in $P_PORT $S_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then die "port $p is in use"; fi
  [ -e "$SOCK/.s.PGSQL.$p" ] && [ -e "$PRIMARY/postmaster.pid" ] && die "an instance is running in $W"
done

# ---------------------------------------------------------------- cleanup
STARTED_PIDS=()
stop_pg() {   # stops the postmaster of data dir $1 by the pid in postmaster.pid
  local d=$1 pid i
  [ -f "$d/postmaster.pid" ] || return 0
  pid=$(head -1 "$d/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for i in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -QUIT "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  stop_pg "$STANDBY"; stop_pg "$PRIMARY"
  for d in "$RESTORE_DIR"-*; do [ -d "$d" ] && stop_pg "$d"; done
  if [ "$rc" -eq 0 ] && [ "$KEEP_WORKDIR" != 1 ]; then
    rm -rf "$PRIMARY" "$STANDBY" "$POOL" "$PGBR_REPO" "$PGBB_DIR" "$RESTORE_DIR"-*
  elif [ "$rc" -ne 0 ]; then
    log "failed (exit $rc); logs and data left in $W"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
psql_at() { as_user "$PG_BIN/psql" -X -q -At -h "$SOCK" -p "$1" -d postgres -c "$2"; }
wait_ready() {
  local port=$1 i
  for i in $(seq 1 120); do
    as_user "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$port" -d postgres && return 0; sleep 0.5
  done
  die "instance on port $port did not start (see $W/*.log)"
}
start_pg() { # datadir logfile port
  as_user "$PG_BIN/pg_ctl" -D "$1" -l "$2" -o "-p $3" -w -t 120 start >/dev/null
  STARTED_PIDS+=("$(head -1 "$1/postmaster.pid")")
  wait_ready "$3"
}
dir_bytes() { # total size of the regular files under $1, pg_wal excluded
  find "$1" -path "$1/pg_wal" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'
}
tree_bytes() { { find "$1" -type f -printf '%s\n' 2>/dev/null || true; } | awk '{s+=$1} END{printf "%.0f\n", s}'; }
wait_archived() { # until the primary has no segment waiting for archive_command
  local i
  for i in $(seq 1 1800); do
    if ! compgen -G "$PRIMARY/pg_wal/archive_status/*.ready" >/dev/null; then return 0; fi
    sleep 1
  done
  die "WAL archiving does not keep up (see $W/primary.log)"
}
wait_standby() { # until the standby replayed everything the primary wrote
  local target i
  target=$(psql_at "$P_PORT" "SELECT pg_current_wal_lsn()")
  for i in $(seq 1 1800); do
    [ "$(psql_at "$S_PORT" "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn")" = t ] && return 0
    sleep 1
  done
  die "standby did not catch up to $target"
}

# This VM's memory that has not been touched for a while is slow to touch
# again (the first GB written into the page cache after ~30 s idle costs
# 2-3x the system time), which penalised whichever tool went first. Before
# every timed operation, write and delete a scratch file the size of the
# database so that every tool starts with the same warm memory.
warm_memory() {
  [ "$WARM" = 1 ] || return 0
  as_user dd if=/dev/zero of="$W/warm.tmp" bs=1M count=$(( DB_BYTES / 1048576 + 1 )) status=none
  rm -f "$W/warm.tmp"
}

# timed TOOL OP RUN STORED_PATH -- CMD...: runs CMD as BENCH_USER under
# /usr/bin/time; the timing includes a final sync(1), so a tool that does
# not fsync what it wrote gains nothing. Appends one line to $RES.
timed() {
  local tool=$1 op=$2 run=$3 stored=$4; shift 5
  local base="$OUT/$run-$tool-$op" t0 tc t1 rc secs csecs rss cpu sbytes sbefore=0
  [ -n "$stored" ] && sbefore=$(tree_bytes "$stored")
  warm_memory
  sync
  t0=$(date +%s.%N)
  set +e
  as_user /usr/bin/time -f '%M %U %S' -o "$base.rss" "$@" >"$base.stdout" 2>"$base.stderr"
  rc=$?
  tc=$(date +%s.%N)
  sync
  t1=$(date +%s.%N)
  set -e
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  csecs=$(awk -v a="$t0" -v b="$tc" 'BEGIN{printf "%.3f", b-a}')
  read -r rss cpu < <(awk '/^[0-9]+ [0-9.]+ [0-9.]+$/{printf "%s %.2f\n", $1, $2+$3}' "$base.rss" 2>/dev/null | tail -1) || true
  rss=${rss:-0}; cpu=${cpu:-0}
  sbytes=0; [ -n "$stored" ] && sbytes=$(( $(tree_bytes "$stored") - sbefore ))
  if [ "$rc" -eq 0 ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\tok\t%s\t%s\n' "$run" "$tool" "$op" "$secs" "$rss" "$sbytes" "$csecs" "$cpu" >>"$RES"
    log "run $run: $tool $op ${secs}s (command ${csecs}s + final sync), CPU ${cpu}s, peak RSS $((rss / 1024)) MiB"
  else
    printf '%s\t%s\t%s\t%s\t%s\t%s\tfail\t%s\t%s\n' "$run" "$tool" "$op" "$secs" "$rss" "$sbytes" "$csecs" "$cpu" >>"$RES"
    log "run $run: $tool $op FAILED (exit $rc): $(tail -3 "$base.stderr" | tr '\n' ' ')"
    log "  command: $*"
  fi
  return 0
}

# ---------------------------------------------------------------- setup
if [ "$REUSE" = 1 ]; then
  [ -f "$W/setup.done" ] || die "REUSE=1 but $W holds no finished data set (run SETUP_ONLY=1 first)"
  [ "$(cat "$W/setup.done")" = "$SCALE" ] || die "REUSE=1: $W holds SCALE=$(cat "$W/setup.done"), not $SCALE"
  log "reusing the SCALE=$SCALE data set in $W (JOBS=$JOBS)"
  cd "$W" || die "cannot enter $W"
  if has_tool strata; then install -m 755 "$STRATA_SRC" "$STRATA"; fi
  rm -rf "$OUT"; as_user mkdir -p "$OUT"; : >"$RES"; chown "$BENCH_USER": "$RES" 2>/dev/null || true
  start_pg "$PRIMARY" "$W/primary.log" "$P_PORT"
  start_pg "$STANDBY" "$W/standby.log" "$S_PORT"
  wait_standby
else
log "setup: SCALE=$SCALE RUNS=$RUNS JOBS=$JOBS COMPRESS=$COMPRESS LEVEL=$LEVEL TOOLS='$TOOLS' in $W"
if [ -f "$PRIMARY/postmaster.pid" ] || [ -f "$STANDBY/postmaster.pid" ]; then
  stop_pg "$STANDBY"; stop_pg "$PRIMARY"
fi
rm -rf "$W"
mkdir -p "$W" "$SOCK" "$BIN" "$OUT" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool"
: >"$RES"
if [ "$(id -u)" -eq 0 ]; then chown -R "$BENCH_USER": "$W"; fi
cd "$W" || die "cannot enter $W"   # readable by BENCH_USER, unlike a root-only checkout
chmod 700 "$W"
if has_tool strata; then
  install -m 755 "$STRATA_SRC" "$STRATA"
  as_user "$STRATA" version >/dev/null || die "$STRATA does not run"
  as_user "$STRATA" pool-init --pool "$POOL" --quiet ||
    as_user "$STRATA" pool-init --pool "$POOL" || die "strata pool-init failed"
fi

ARCHIVE_CMDS=()
has_tool strata && ARCHIVE_CMDS+=("$STRATA wal-push --pool $POOL --node $NODE --compress $COMPRESS --quiet %p")
has_tool pgbackrest && ARCHIVE_CMDS+=("/usr/bin/pgbackrest --config=$PGBR_CONF --stanza=bench archive-push %p")
ARCHIVE_CMD=""
for c in "${ARCHIVE_CMDS[@]}"; do ARCHIVE_CMD+="${ARCHIVE_CMD:+ && }$c"; done
[ -n "$ARCHIVE_CMD" ] || ARCHIVE_CMD=/bin/true

as_user "$PG_BIN/initdb" -D "$PRIMARY" --data-checksums -A trust -U "$BENCH_USER" >"$W/initdb.log"
cat >>"$PRIMARY/postgresql.conf" <<EOF
# strata bench
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_buffers = 64MB
max_wal_size = 4GB
wal_level = replica
max_wal_senders = 10
hot_standby = on
archive_mode = on
archive_command = '$ARCHIVE_CMD'
archive_timeout = 0
log_min_messages = warning
log_checkpoints = off
EOF
start_pg "$PRIMARY" "$W/primary.log" "$P_PORT"

if has_tool pgbackrest; then
  cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$PGBR_REPO
repo1-retention-full=9999
log-path=$W/pgbr-log
lock-path=$W/pgbr-lock
spool-path=$W/pgbr-spool
log-level-console=warn
log-level-file=info
compress-type=$PGBR_COMPRESS
compress-level=$LEVEL
process-max=$JOBS
start-fast=y
backup-standby=y
archive-check=y
archive-timeout=120

[bench]
pg1-path=$PRIMARY
pg1-port=$P_PORT
pg1-socket-path=$SOCK
pg2-path=$STANDBY
pg2-port=$S_PORT
pg2-socket-path=$SOCK
EOF
  chmod 644 "$PGBR_CONF"
  as_user mkdir -p "$PGBR_REPO"
fi

log "standby: pg_basebackup from the primary"
as_user "$PG_BIN/pg_basebackup" -h "$SOCK" -p "$P_PORT" -D "$STANDBY" -R -X stream --checkpoint=fast >/dev/null
echo "port = $S_PORT" >>"$STANDBY/postgresql.conf"
start_pg "$STANDBY" "$W/standby.log" "$S_PORT"
if has_tool pgbackrest; then
  as_user pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null
fi

log "pgbench -i -s $SCALE"
as_user "$PG_BIN/pgbench" -i -q -s "$SCALE" -h "$SOCK" -p "$P_PORT" postgres >"$W/pgbench-init.log" 2>&1 ||
  die "pgbench -i failed (see $W/pgbench-init.log)"
psql_at "$P_PORT" "CHECKPOINT" >/dev/null
psql_at "$P_PORT" "SELECT pg_switch_wal()" >/dev/null
log "waiting for the standby and the WAL archive to catch up"
wait_standby
psql_at "$S_PORT" "CHECKPOINT" >/dev/null     # restartpoint: the standby's files are current
wait_archived
if has_tool pgbackrest; then
  as_user pgbackrest --config="$PGBR_CONF" --stanza=bench check >/dev/null ||
    die "pgbackrest check failed"
fi
if has_tool strata; then
  as_user "$STRATA" check --pool "$POOL" --node "$NODE" --quiet >"$OUT/strata-check.out" 2>&1 ||
    log "warning: strata check reported problems (see $OUT/strata-check.out)"
fi

echo "$SCALE" >"$W/setup.done"
fi
if [ "$SETUP_ONLY" = 1 ]; then log "SETUP_ONLY: data set ready in $W (run again with REUSE=1)"; exit 0; fi

DB_BYTES=$(dir_bytes "$STANDBY")
DB_MB=$(awk -v b="$DB_BYTES" 'BEGIN{printf "%.1f", b/1e6}')
DBSIZE_SQL=$(psql_at "$P_PORT" "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database")
log "database: $DB_MB MB of files in the standby's data directory (pg_wal excluded); databases $DBSIZE_SQL"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- commands
S_CONN="host=$SOCK port=$S_PORT dbname=postgres user=$BENCH_USER"
P_CONN="host=$SOCK port=$P_PORT dbname=postgres user=$BENCH_USER"
backup_strata() {
  timed strata backup "$1" "$POOL/nodes/$NODE/backups" -- \
    "$STRATA" backup --pool "$POOL" --node "$NODE" --pgdata "$STANDBY" \
      --pg-conn "$S_CONN" --primary-conn "$P_CONN" \
      --jobs "$JOBS" --compress "$COMPRESS" --compress-level "$LEVEL" ${CHUNK_SIZE:+--chunk-size "$CHUNK_SIZE"} --nice "$NICE" --quiet
}
backup_pgbackrest() {
  timed pgbackrest backup "$1" "$PGBR_REPO/backup/bench" -- \
    pgbackrest --config="$PGBR_CONF" --stanza=bench backup --type=full --process-max="$JOBS"
}
backup_pg_basebackup() {
  rm -rf "$PGBB_DIR"
  local z
  case "$COMPRESS" in
    zstd) z="server-zstd:level=$LEVEL,workers=$JOBS" ;;  # server-side, JOBS zstd threads
    lz4)  z="server-lz4:level=$LEVEL" ;;
    none) z=none ;;
  esac
  timed pg_basebackup backup "$1" "$PGBB_DIR" -- \
    "$PG_BIN/pg_basebackup" -h "$SOCK" -p "$S_PORT" -D "$PGBB_DIR" -Ft \
      --compress="$z" -X none --checkpoint=fast
}
restore_strata() {
  local d="$RESTORE_DIR-strata"; rm -rf "$d"; as_user mkdir -m 700 "$d"
  timed strata restore "$1" "" -- \
    "$STRATA" restore --pool "$POOL" --node "$NODE" --target-dir "$d" --jobs "$JOBS" --quiet
  [ "$1" = "$RUNS" ] && [ "$VERIFY" = 1 ] || rm -rf "$d"
}
restore_pgbackrest() {
  local d="$RESTORE_DIR-pgbackrest"; rm -rf "$d"; as_user mkdir -m 700 "$d"
  timed pgbackrest restore "$1" "" -- \
    pgbackrest --config="$PGBR_CONF" --stanza=bench restore --pg1-path="$d" --process-max="$JOBS"
  [ "$1" = "$RUNS" ] && [ "$VERIFY" = 1 ] || rm -rf "$d"
}
# Between runs: keep only the newest backup of each tool, so disk use stays
# bounded and every tool backs up with the same repository state.
prune() {
  if has_tool strata && [ -d "$POOL/nodes/$NODE/backups" ]; then
    ls -1 "$POOL/nodes/$NODE/backups" | sort | head -n -1 |
      while read -r b; do rm -rf "${POOL:?}/nodes/$NODE/backups/$b"; done
  fi
  if has_tool pgbackrest; then
    as_user pgbackrest --config="$PGBR_CONF" --stanza=bench expire --repo1-retention-full=1 >/dev/null 2>&1 || true
  fi
  rm -rf "$PGBB_DIR"
}

BACKUP_TOOLS=(); RESTORE_TOOLS=()
for t in strata pgbackrest pg_basebackup; do has_tool "$t" && BACKUP_TOOLS+=("$t"); done
if has_op restore; then for t in strata pgbackrest; do has_tool "$t" && RESTORE_TOOLS+=("$t"); done; fi

# ---------------------------------------------------------------- runs
for r in $(seq 1 "$RUNS"); do
  # alternate: run r starts with tool (r-1) mod n, so each tool goes first in turn
  n=${#BACKUP_TOOLS[@]}
  for i in $(seq 0 $((n - 1))); do
    backup_"${BACKUP_TOOLS[$(( (r - 1 + i) % n ))]}" "$r"
  done
  n=${#RESTORE_TOOLS[@]}
  for i in $(seq 0 $((n - 1))); do
    restore_"${RESTORE_TOOLS[$(( (r - 1 + i) % n ))]}" "$r"
  done
  prune
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- correctness
# Untimed: the last run's restored data directories must start, recover and
# hold the database; a tool whose restore does not is reported as failed.
EXPECT_ROWS=$((SCALE * 100000))
declare -A VERIFIED=()
verify_restore() { # tool port
  local t=$1 port=$2 d="$RESTORE_DIR-$1" n i
  VERIFIED[$t]="not checked"
  [ -f "$d/PG_VERSION" ] || { VERIFIED[$t]="FAILED: nothing restored"; return 0; }
  if ! as_user "$PG_BIN/pg_ctl" -D "$d" -l "$W/verify-$t.log" -w -t 300 \
      -o "-p $port -c unix_socket_directories=$SOCK -c archive_mode=off -c listen_addresses=''" start >/dev/null; then
    VERIFIED[$t]="FAILED: did not start (see $W/verify-$t.log)"; stop_pg "$d"; return 0
  fi
  for i in $(seq 1 300); do
    [ "$(psql_at "$port" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break; sleep 1
  done
  n=$(psql_at "$port" "SELECT count(*) FROM pgbench_accounts" 2>/dev/null || echo error)
  if [ "$n" = "$EXPECT_ROWS" ] && [ "$(psql_at "$port" "SELECT pg_is_in_recovery()")" = f ]; then
    VERIFIED[$t]="ok ($n rows in pgbench_accounts after recovery)"
  else
    VERIFIED[$t]="FAILED: pgbench_accounts has '$n' rows, expected $EXPECT_ROWS (see $W/verify-$t.log)"
  fi
  stop_pg "$d"
  rm -rf "$d"
}
if [ "$VERIFY" = 1 ]; then
  vport=$((PORT + 2))
  for t in "${RESTORE_TOOLS[@]}"; do
    if awk -F'\t' -v t="$t" -v r="$RUNS" '$1==r && $2==t && $3=="restore" && $7=="ok"{f=1} END{exit !f}' "$RES"; then
      verify_restore "$t" "$vport"
    else
      VERIFIED[$t]="FAILED: the restore itself failed"
    fi
    log "check of $t's restore: ${VERIFIED[$t]}"
    vport=$((vport + 1))
  done
fi

# ---------------------------------------------------------------- report
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print ""; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
med_secs() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{print $4}' "$RES" | median; }
med_cpu() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{print $9}' "$RES" | median; }
med_csecs() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{print $8}' "$RES" | median; }
max_rss_mib() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{if($5>m)m=$5} END{if(m) printf "%.1f", m/1024}' "$RES"; }
med_stored_mb() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{print $6}' "$RES" | median | awk '{if($1!="") printf "%.1f", $1/1e6}'; }
count_ok() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o && $7=="ok"{n++} END{print n+0}' "$RES"; }
count_all() { awk -F'\t' -v t="$1" -v o="$2" '$2==t && $3==o{n++} END{print n+0}' "$RES"; }
mbps() { [ -n "$1" ] && awk -v b="$DB_BYTES" -v s="$1" 'BEGIN{printf "%.1f", b/1e6/s}'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b/a}'; }   # secs a vs b -> speed a/b

S_B=$(med_secs strata backup); R_B=$(med_secs pgbackrest backup); B_B=$(med_secs pg_basebackup backup)
S_R=$(med_secs strata restore); R_R=$(med_secs pgbackrest restore)

# The median over runs of each run's own ratio: the tools of one run are
# measured minutes apart, so on a shared machine this is steadier than the
# ratio of the medians.
run_ratio() { # tool_a tool_b op -> median over runs of (b seconds / a seconds)
  awk -F'\t' -v a="$1" -v b="$2" -v o="$3" '$3==o && $7=="ok" && $2==a{sa[$1]=$4} $3==o && $7=="ok" && $2==b{sb[$1]=$4}
    END{for (r in sa) if (r in sb) printf "%.3f\n", sb[r]/sa[r]}' "$RES" | median | awk '{if($1!="") printf "%.2f", $1}'
}
PR_B=$(run_ratio strata pgbackrest backup); PB_B=$(run_ratio strata pg_basebackup backup)
PR_R=$(run_ratio strata pgbackrest restore)

ROWS=()
row() { # tool op
  local t=$1 o=$2 s cs cpu mb r1="" r2="" ok all rss st
  s=$(med_secs "$t" "$o"); mb=$(mbps "$s" || true); cs=$(med_csecs "$t" "$o"); cpu=$(med_cpu "$t" "$o")
  [ "$t" = pg_basebackup ] && cpu="(server)"
  ok=$(count_ok "$t" "$o"); all=$(count_all "$t" "$o")
  rss=$(max_rss_mib "$t" "$o"); st=""
  [ "$o" = backup ] && st=$(med_stored_mb "$t" "$o")
  if [ "$t" = strata ]; then
    if [ "$o" = backup ]; then r1=$(ratio "$S_B" "$R_B" || true); r2=$(ratio "$S_B" "$B_B" || true)
    else r1=$(ratio "$S_R" "$R_R" || true); fi
  fi
  ROWS+=("| $t | $o | $ok/$all | ${s:-—} | ${cs:-—} | ${mb:-—} | ${r1:-—} | ${r2:-—} | ${st:-—} | ${cpu:-—} | ${rss:-—} |")
}
for t in "${BACKUP_TOOLS[@]}"; do row "$t" backup; done
for t in "${RESTORE_TOOLS[@]}"; do row "$t" restore; done

goal() { # label value threshold
  if [ -z "$2" ]; then echo "- $1: not measured"
  elif awk -v v="$2" -v t="$3" -v c="$4" 'BEGIN{exit !(c=="ge" ? v>=t : v<=t)}'; then echo "- $1: **met** ($2)"
  else echo "- $1: **not met** ($2)"; fi
}
RSS_ALL=$(awk -F'\t' '$2=="strata" && $7=="ok"{if($5>m)m=$5} END{if(m) printf "%.1f", m/1024}' "$RES")
STRATA_VERSION=""; has_tool strata && STRATA_VERSION=$(as_user "$STRATA" version 2>/dev/null | head -1)
if [ -n "${STRATA_REV:-}" ]; then GIT_REV=$STRATA_REV      # describes a STRATA_BIN built elsewhere
elif [ -n "${STRATA_BIN:-}" ]; then GIT_REV="binary $STRATA_BIN"
else
  GIT_REV=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || true)
  if [ -n "$GIT_REV" ] && [ -n "$(git -C "$REPO_ROOT" status --porcelain -- src 2>/dev/null)" ]; then GIT_REV="$GIT_REV + uncommitted src changes"; fi
fi
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')

{
  echo "<!-- generated by bench/run.sh on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit -->"
  echo "Parameters: \`SCALE=$SCALE RUNS=$RUNS JOBS=$JOBS COMPRESS=$COMPRESS LEVEL=$LEVEL WARM=$WARM NICE=$NICE OPS='$OPS'${CHUNK_SIZE:+ CHUNK_SIZE=$CHUNK_SIZE}\`;"
  echo "database: $DB_MB MB of files in the standby's data directory (pg_wal excluded; $DBSIZE_SQL in pg_database_size);"
  echo "machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;"
  echo "load average before/after the runs: $LOAD_BEFORE / $LOAD_AFTER;"
  echo "versions: ${STRATA_VERSION:-strata not run} (source ${GIT_REV:-unknown}), $(pgbackrest version 2>/dev/null || echo 'pgBackRest not run'), $("$PG_BIN/postgres" --version)."
  echo
  echo "| tool | op | ok runs | median s | of which command | MB/s | strata/pgBackRest | strata/pg_basebackup | stored MB | CPU s | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "median s: wall clock of the command plus a final sync(1); \"of which command\": the median without that sync."
  echo "MB/s = database bytes / median s (10^6 bytes). Ratios are throughput ratios (> 1: strata faster)."
  echo "CPU s: median user+system CPU of the tool and the processes it waited for (/usr/bin/time); pg_basebackup's work runs in the server."
  echo "Peak RSS: largest process, max over runs (/usr/bin/time %M); for pg_basebackup the client only (compression runs in the server)."
  echo
  echo "Goals:"
  goal "strata backup ≥ 2× pgBackRest" "$(ratio "$S_B" "$R_B" || true)" 2 ge
  goal "strata backup ≥ 2× pgBackRest, median of per-run ratios" "$PR_B" 2 ge
  goal "strata backup ≥ 1.0× pg_basebackup (server-side compression, same workers)" "$(ratio "$S_B" "$B_B" || true)" 1 ge
  goal "strata backup ≥ 1.0× pg_basebackup, median of per-run ratios" "$PB_B" 1 ge
  goal "strata restore ≥ 1.5× pgBackRest" "$(ratio "$S_R" "$R_R" || true)" 1.5 ge
  goal "strata restore ≥ 1.5× pgBackRest, median of per-run ratios" "$PR_R" 1.5 ge
  goal "strata peak RSS ≤ 64 MiB" "$RSS_ALL" 64 le
  echo
  if [ "$VERIFY" = 1 ]; then
    echo "Restore check (last run's restored directory started, recovered, promoted, rows counted):"
    for t in "${RESTORE_TOOLS[@]}"; do echo "- $t: ${VERIFIED[$t]}"; done
    echo
  fi
  echo "Per run (seconds):"
  echo
  echo '```'
  printf 'run\ttool\top\tseconds\trss_kib\tstored_bytes\tstatus\tcommand_seconds\tcpu_seconds\n'
  cat "$RES"
  echo '```'
} >"$W/results.md"
cp "$W/results.md" "$RESULTS_MD"
cat "$W/results.md"
