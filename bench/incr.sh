#!/usr/bin/env bash
# Incremental backups (issue 11, "Benchmark"): one PostgreSQL 15 primary
# (pgbench, data checksums on) archiving every WAL segment into a strata pool
# (strata wal-push, which also indexes it) and a pgBackRest repository
# (archive-push); a full backup with each tool, then pgbench for
# PGBENCH_SECONDS, then an incremental with each (strata --type incr,
# pgBackRest --type=incr), same compression, level and process count; with
# CHAIN=N, N-1 more incrementals of each, each after CHAIN_SECONDS of
# pgbench, then one more strata full at that final point. For each backup:
# wall time, bytes read from the data directory, bytes stored; the fraction
# of relation pages changed since its parent, measured independently from
# the page LSNs in the data files; then restores: strata's full+N
# incrementals, strata's full of the same final point (CHAIN>1) or its
# first full alone (CHAIN=1), pgBackRest's full+N incrementals; each
# restored copy started and compared with the primary (VERIFY=1).
# Writes bench/results-incr.md (RESULTS_MD). See bench/README.md.
#
# Run as root (PostgreSQL and the tools run as BENCH_USER through runuser)
# or directly as BENCH_USER:   make && bash bench/incr.sh
# Knobs: SCALE (pgbench scale, 30), PGBENCH_SECONDS (pgbench seconds before
# the first incremental, 30; DURATION is an older name for it), CHAIN
# (incrementals in the chain, 1), CHAIN_SECONDS (pgbench seconds before each
# further incremental, 10), CLIENTS (pgbench clients, 2), JOBS (2), LEVEL
# (zstd level, 3), PORT (37010; the checks of the restores use PORT+1),
# WORKDIR (/tmp/strata-bench-incr), WARM (1, as bench/run.sh), VERIFY (1:
# start every restored copy and compare it with the primary), STRATA_LOG
# (info: strata's --log-level; its stderr is kept in WORKDIR/out),
# KEEP_WORKDIR (0). The archive_command logs the start and end of each
# tool's push to WORKDIR/archive-times.log (the fixed cost's parts).
set -euo pipefail

SCALE=${SCALE:-30}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-${DURATION:-30}}
CHAIN=${CHAIN:-1}
CHAIN_SECONDS=${CHAIN_SECONDS:-10}
STRATA_LOG=${STRATA_LOG:-info}
CLIENTS=${CLIENTS:-2}
JOBS=${JOBS:-2}
LEVEL=${LEVEL:-3}
PORT=${PORT:-37010}
WORKDIR=${WORKDIR:-/tmp/strata-bench-incr}
BENCH_USER=${BENCH_USER:-strata}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
WARM=${WARM:-1}
VERIFY=${VERIFY:-1}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/.." && pwd)
STRATA_SRC=${STRATA_BIN:-$REPO_ROOT/build/strata}
RESULTS_MD=${RESULTS_MD:-$HERE/results-incr.md}

for v in SCALE PGBENCH_SECONDS CHAIN CHAIN_SECONDS CLIENTS JOBS LEVEL PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
done
[ "$CHAIN" -ge 1 ] || { echo "bench: CHAIN must be 1 or more" >&2; exit 2; }
[[ $STRATA_LOG =~ ^(error|warn|info|detail|debug)$ ]] || { echo "bench: STRATA_LOG: error, warn, info, detail or debug" >&2; exit 2; }
log() { printf '[bench-incr %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  id "$BENCH_USER" >/dev/null 2>&1 || die "user $BENCH_USER does not exist (make deps creates it)"
  as_user() { runuser -u "$BENCH_USER" -- "$@"; }
else
  [ "$(id -un)" = "$BENCH_USER" ] || die "run as root or as $BENCH_USER"
  as_user() { "$@"; }
fi
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
[ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 not found in $PG_BIN"
[ -x "$STRATA_SRC" ] || die "$STRATA_SRC missing: make first"
command -v pgbackrest >/dev/null || die "pgbackrest not installed (STRATA_BENCH_DEPS=1 scripts/install-deps.sh)"
command -v zstd >/dev/null || die "zstd (the command) missing"
for p in "$PORT" $((PORT + 1)); do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then die "port $p is in use"; fi
done

W=$WORKDIR; SOCK=$W/sock; BIN=$W/bin; PRIMARY=$W/primary; OUT=$W/out
POOL=$W/pool; NODE=bench; STRATA=$BIN/strata
PGBR_CONF=$W/pgbackrest.conf; PGBR_REPO=$W/pgbr-repo
RESTORE=$W/restore; RES=$W/results.tsv

# ---------------------------------------------------------------- cleanup
stop_pg() { # stops the postmaster of data dir $1 by the pid in postmaster.pid
  local d=$1 pid i
  [ -f "$d/postmaster.pid" ] || return 0
  pid=$(head -1 "$d/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -QUIT "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  for d in "$RESTORE"-*; do [ -d "$d" ] && stop_pg "$d"; done
  stop_pg "$PRIMARY"
  if [ "$rc" -eq 0 ] && [ "$KEEP_WORKDIR" != 1 ]; then
    rm -rf "$W"
  elif [ "$rc" -ne 0 ]; then
    log "failed (exit $rc); logs and data left in $W (rm -rf $W when done)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
psql_at() { as_user "$PG_BIN/psql" -X -q -At -h "$SOCK" -p "$1" -d postgres -c "$2"; }
tree_bytes() { { find "$1" -type f -printf '%s\n' 2>/dev/null || true; } | awk '{s+=$1} END{printf "%.0f\n", s}'; }
dir_bytes() { find "$1" -path "$1/pg_wal" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'; }
wait_archived() {
  local i
  for ((i = 0; i < 1800; i++)); do
    compgen -G "$PRIMARY/pg_wal/archive_status/*.ready" >/dev/null || return 0
    sleep 1
  done
  die "WAL archiving does not keep up (see $W/primary.log)"
}
warm_memory() { # as bench/run.sh: every timed operation starts with the same warm memory
  [ "$WARM" = 1 ] || return 0
  as_user dd if=/dev/zero of="$W/warm.tmp" bs=1M count=$((DB_BYTES / 1048576 + 1)) status=none
  rm -f "$W/warm.tmp"
}
# timed NAME -- CMD...: wall clock around CMD (as BENCH_USER) and a final
# sync; stdout in $OUT/NAME.stdout; CPU and peak RSS from /usr/bin/time.
# Sets SECS and CPU. Fails the script if CMD fails.
timed() {
  local name=$1 t0 t1 rc; shift 2
  warm_memory
  sync
  t0=$(date +%s.%N)
  set +e
  as_user /usr/bin/time -f '%M %U %S' -o "$OUT/$name.time" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  rc=$?
  sync
  t1=$(date +%s.%N)
  set -e
  echo "$t0 $t1" >"$OUT/$name.wall"
  [ "$rc" -eq 0 ] || { tail -5 "$OUT/$name.stderr" >&2; die "$name failed (exit $rc): $*"; }
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  CPU=$(awk '/^[0-9]+ [0-9.]+ [0-9.]+$/{printf "%.2f", $2+$3}' "$OUT/$name.time" | tail -1)
  log "$name: ${SECS}s wall, ${CPU}s CPU"
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }
pgbr_info() { as_user pgbackrest --config="$PGBR_CONF" --stanza=bench info --output=json >"$OUT/pgbr-info.json"; }
# pgbr_field EXPR: EXPR over b, pgBackRest's newest backup in its info JSON
pgbr_field() { jget "$OUT/pgbr-info.json" "(lambda b: $1)(d[0]['backup'][-1])"; }

# ---------------------------------------------------------------- setup
log "setup: SCALE=$SCALE PGBENCH_SECONDS=$PGBENCH_SECONDS CHAIN=$CHAIN CHAIN_SECONDS=$CHAIN_SECONDS CLIENTS=$CLIENTS JOBS=$JOBS zstd level $LEVEL in $W"
[ -f "$PRIMARY/postmaster.pid" ] && stop_pg "$PRIMARY"
rm -rf "$W"
mkdir -p "$W" "$SOCK" "$BIN" "$OUT" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool" "$PGBR_REPO"
: >"$RES"
[ "$(id -u)" -eq 0 ] && chown -R "$BENCH_USER" "$W"
chmod 700 "$W"
cd "$W"
install -m 755 "$STRATA_SRC" "$STRATA"
as_user "$STRATA" pool-init --pool "$POOL" --quiet

cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$PGBR_REPO
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
archive-check=y
archive-timeout=120

[bench]
pg1-path=$PRIMARY
pg1-port=$PORT
pg1-socket-path=$SOCK
EOF
chmod 644 "$PGBR_CONF"

as_user "$PG_BIN/initdb" -D "$PRIMARY" --data-checksums -A trust -U "$BENCH_USER" >"$W/initdb.log"
# autovacuum off: nothing but pgbench changes pages between the backups, so
# the page-LSN count, strata's incremental and pgBackRest's see one change.
cat >>"$PRIMARY/postgresql.conf" <<EOF
# strata bench-incr
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
shared_buffers = 64MB
max_wal_size = 4GB
checkpoint_timeout = 1h
autovacuum = off
wal_level = replica
max_wal_senders = 10
archive_mode = on
archive_command = '$W/push-strata-then-pgbackrest.sh %p %f'
archive_timeout = 0
log_min_messages = warning
log_checkpoints = on
log_line_prefix = '%m [%p] '
EOF
# Both tools' pushes, one after the other; each one's start and end logged
# (the name holds "pgbackrest": pgbackrest check insists on it).
cat >"$W/push-strata-then-pgbackrest.sh" <<EOF
#!/bin/sh
set -e
t0=\$(date +%s.%N)
$STRATA wal-push --pool $POOL --node $NODE --compress zstd --quiet "\$1"
t1=\$(date +%s.%N)
/usr/bin/pgbackrest --config=$PGBR_CONF --stanza=bench archive-push "\$1"
t2=\$(date +%s.%N)
echo "\$2 \$t0 \$t1 \$t2" >>$W/archive-times.log
EOF
chmod 755 "$W/push-strata-then-pgbackrest.sh"
as_user "$PG_BIN/pg_ctl" -D "$PRIMARY" -l "$W/primary.log" -w -t 120 start >/dev/null
as_user pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null

log "pgbench -i -s $SCALE"
as_user "$PG_BIN/pgbench" -i -q -s "$SCALE" -h "$SOCK" -p "$PORT" postgres >"$W/pgbench-init.log" 2>&1 ||
  die "pgbench -i failed (see $W/pgbench-init.log)"
psql_at "$PORT" "VACUUM ANALYZE" >/dev/null
psql_at "$PORT" "CHECKPOINT" >/dev/null
psql_at "$PORT" "SELECT pg_switch_wal()" >/dev/null
wait_archived
as_user pgbackrest --config="$PGBR_CONF" --stanza=bench check >/dev/null || die "pgbackrest check failed"
DB_BYTES=$(dir_bytes "$PRIMARY")
DB_MB=$(awk -v b="$DB_BYTES" 'BEGIN{printf "%.1f", b/1e6}')
log "database: $DB_MB MB of files in the data directory (pg_wal excluded)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

CONN="host=$SOCK port=$PORT dbname=postgres user=$BENCH_USER"
strata_backup() { # NAME TYPE
  timed "$1" -- "$STRATA" backup --pool "$POOL" --node "$NODE" --pgdata "$PRIMARY" --pg-conn "$CONN" \
    --type "$2" --jobs "$JOBS" --compress zstd --compress-level "$LEVEL" --nice 0 --output json \
    --log-level "$STRATA_LOG"
}
pgbr_backup() { # NAME TYPE
  timed "$1" -- pgbackrest --config="$PGBR_CONF" --stanza=bench backup --type="$2"
}
# record NAME TOOL TYPE SECS CPU READ STORED SIZE REPORTED_STORED (one line of $RES):
# STORED = the files of the backup's own directory in the pool / repository
# (manifest included); REPORTED_STORED = what the tool itself reports.
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:-}" >>"$RES"; }

# ---------------------------------------------------------------- fulls
strata_backup strata-full full
S_FULL_ID=$(jget "$OUT/strata-full.stdout" 'd["id"]')
S_FULL_LSN=$(jget "$OUT/strata-full.stdout" 'd["start_lsn"]')
record strata-full strata full "$SECS" "$CPU" "$(jget "$OUT/strata-full.stdout" 'd["read_bytes"]')" \
  "$(tree_bytes "$POOL/nodes/$NODE/backups/$S_FULL_ID")" "$(jget "$OUT/strata-full.stdout" 'd["size"]')" \
  "$(jget "$OUT/strata-full.stdout" 'd["stored_size"]')"
S_FULL_SECS=$SECS
pgbr_backup pgbr-full full
pgbr_info
R_FULL_LSN=$(pgbr_field "b['lsn']['start']")
record pgbr-full pgbackrest full "$SECS" "$CPU" "$(pgbr_field "b['info']['delta']")" \
  "$(tree_bytes "$PGBR_REPO/backup/bench/$(pgbr_field "b['label']")")" "$(pgbr_field "b['info']['size']")" \
  "$(pgbr_field "b['info']['repository']['delta']")"
log "full backups: strata $S_FULL_ID from $S_FULL_LSN, pgBackRest from $R_FULL_LSN"

# ---------------------------------------------------------------- the change
# Changed pages, independently of both tools: every page of every relation
# file whose pd_lsn is past a given LSN (a parent backup's start); their
# compressed size with the tools' compression (zstd LEVEL, the changed pages
# of each file as one frame, as an incremental stores a file's blocks).
cat >"$W/pages.py" <<'PY'
import os, re, subprocess, sys
root, lsn_text, level = sys.argv[1], sys.argv[2], sys.argv[3]
hi, lo = lsn_text.split("/")
start = (int(hi, 16) << 32) | int(lo, 16)
REL = re.compile(r"^(\d+)(_(fsm|vm|init))?(\.\d+)?$")
tot = {"main": 0, "other": 0}; chg = {"main": 0, "other": 0}; zbytes = 0; files_changed = 0
for top in ("base", "global"):
    for d, _, fs in os.walk(os.path.join(root, top)):
        for f in fs:
            m = REL.match(f)
            if not m:
                continue
            kind = "other" if m.group(2) else "main"
            data = open(os.path.join(d, f), "rb").read()
            n = len(data) // 8192
            tot[kind] += n
            changed = [data[i * 8192:(i + 1) * 8192] for i in range(n)
                       if ((int.from_bytes(data[i * 8192:i * 8192 + 4], "little") << 32)
                           | int.from_bytes(data[i * 8192 + 4:i * 8192 + 8], "little")) > start]
            chg[kind] += len(changed)
            if changed:
                files_changed += 1
                z = subprocess.run(["zstd", "-q", "-c", "-%s" % level], input=b"".join(changed),
                                   stdout=subprocess.PIPE, check=True).stdout
                zbytes += len(z)
print(tot["main"], chg["main"], tot["other"], chg["other"], zbytes, files_changed)
PY

# pgbench_round SECONDS: load, then a checkpoint (it writes every changed
# page to the data files, so their page LSNs show the whole change and both
# tools' incrementals see the same files), a WAL switch and the archive
# caught up. Adds to PGBENCH_LOG.
PGBENCH_LOG=""
pgbench_round() {
  log "pgbench -T $1 -c $CLIENTS"
  as_user "$PG_BIN/pgbench" -n -T "$1" -c "$CLIENTS" -j "$CLIENTS" -h "$SOCK" -p "$PORT" postgres \
    >"$W/pgbench-run.log" 2>&1 || die "pgbench failed (see $W/pgbench-run.log)"
  PGBENCH_LOG="$PGBENCH_LOG${PGBENCH_LOG:+, }$(awk '/^tps = /{printf "%.0f", $3}' "$W/pgbench-run.log") tps for $1 s"
  psql_at "$PORT" "CHECKPOINT" >/dev/null
  psql_at "$PORT" "SELECT pg_switch_wal()" >/dev/null
  wait_archived
}

# incr_round K PARENT_LSN: counts the pages changed since PARENT_LSN (strata's
# parent backup's start), then an incremental with each tool, strata first.
# Sets FRAC[K], CHG[K], ZB[K], ALL[K], FILES[K], S_SECS[K], S_STORED[K],
# S_TYPE[K], S_ID[K], S_LSN[K].
declare -A FRAC CHG ZB ALL FILES S_SECS S_STORED S_TYPE S_ID S_LSN S_FALLBACK
incr_round() {
  local k=$1 parent=$2 sname pname main mchg other ochg
  sname=strata-incr; pname=pgbr-incr
  [ "$k" = 1 ] || { sname=strata-incr-$k; pname=pgbr-incr-$k; }
  read -r main mchg other ochg ZB[$k] FILES[$k] < <(python3 "$W/pages.py" "$PRIMARY" "$parent" "$LEVEL")
  ALL[$k]=$((main + other)); CHG[$k]=$((mchg + ochg))
  FRAC[$k]=$(awk -v c="${CHG[$k]}" -v t="${ALL[$k]}" 'BEGIN{printf "%.4f", c/t}')
  log "incremental $k: changed pages since $parent: ${CHG[$k]} of ${ALL[$k]} (${FRAC[$k]}; main forks $mchg of $main), ${ZB[$k]} bytes compressed"
  strata_backup "$sname" incr
  S_TYPE[$k]=$(jget "$OUT/$sname.stdout" 'd["type"]')
  S_FALLBACK[$k]=$(jget "$OUT/$sname.stdout" 'd.get("incremental_fallback", "")')
  [ "${S_TYPE[$k]}" = incr ] || log "WARNING: strata took a ${S_TYPE[$k]} instead: ${S_FALLBACK[$k]}"
  S_SECS[$k]=$SECS
  S_ID[$k]=$(jget "$OUT/$sname.stdout" 'd["id"]')
  S_LSN[$k]=$(jget "$OUT/$sname.stdout" 'd["start_lsn"]')
  S_STORED[$k]=$(tree_bytes "$POOL/nodes/$NODE/backups/${S_ID[$k]}")
  record "$sname" strata "${S_TYPE[$k]}" "$SECS" "$CPU" "$(jget "$OUT/$sname.stdout" 'd["read_bytes"]')" \
    "${S_STORED[$k]}" "$(jget "$OUT/$sname.stdout" 'd["size"]')" "$(jget "$OUT/$sname.stdout" 'd["stored_size"]')"
  pgbr_backup "$pname" incr
  pgbr_info
  record "$pname" pgbackrest "$(pgbr_field "b['type']")" "$SECS" "$CPU" "$(pgbr_field "b['info']['delta']")" \
    "$(tree_bytes "$PGBR_REPO/backup/bench/$(pgbr_field "b['label']")")" "$(pgbr_field "b['info']['size']")" \
    "$(pgbr_field "b['info']['repository']['delta']")"
}

pgbench_round "$PGBENCH_SECONDS"
WAL_BYTES=$(psql_at "$PORT" "SELECT pg_current_wal_lsn() - '$S_FULL_LSN'::pg_lsn")
read -r _ R_MAIN_CHG _ R_OTHER_CHG _ _ < <(python3 "$W/pages.py" "$PRIMARY" "$R_FULL_LSN" "$LEVEL")
incr_round 1 "$S_FULL_LSN"
for ((k = 2; k <= CHAIN; k++)); do
  pgbench_round "$CHAIN_SECONDS"
  incr_round "$k" "${S_LSN[$((k - 1))]}"
done
R_LAST_LABEL=$(pgbr_field "b['label']")

# CHAIN>1: a full at the same final point (nothing has changed since the
# last incremental), to restore beside the chain.
if [ "$CHAIN" -gt 1 ]; then
  strata_backup strata-full-final full
  S_FINAL_ID=$(jget "$OUT/strata-full-final.stdout" 'd["id"]')
  record strata-full-final strata full "$SECS" "$CPU" "$(jget "$OUT/strata-full-final.stdout" 'd["read_bytes"]')" \
    "$(tree_bytes "$POOL/nodes/$NODE/backups/$S_FINAL_ID")" "$(jget "$OUT/strata-full-final.stdout" 'd["size"]')" \
    "$(jget "$OUT/strata-full-final.stdout" 'd["stored_size"]')"
fi

# ---------------------------------------------------------------- restores
restore_strata() { # NAME --backup ID
  local d="$RESTORE-$1" name=$1; shift
  as_user mkdir -m 700 "$d"
  timed "$name" -- "$STRATA" restore --pool "$POOL" --node "$NODE" --target-dir "$d" --jobs "$JOBS" --quiet "$@"
  record "$name" strata restore "$SECS" "$CPU" "" "" "$(dir_bytes "$d")"
}
restore_strata strata-restore-chain --backup "${S_ID[$CHAIN]}"
if [ "$CHAIN" -gt 1 ]; then
  restore_strata strata-restore-full --backup "$S_FINAL_ID"
else
  restore_strata strata-restore-full --backup "$S_FULL_ID"
fi
as_user mkdir -m 700 "$RESTORE-pgbr"
timed pgbr-restore-chain -- pgbackrest --config="$PGBR_CONF" --stanza=bench restore --pg1-path="$RESTORE-pgbr" \
  --process-max="$JOBS" --set="$R_LAST_LABEL"
record pgbr-restore-chain pgbackrest restore "$SECS" "$CPU" "" "" "$(dir_bytes "$RESTORE-pgbr")"

# The fixed cost of an incremental: one more of each right away, with
# nothing changed since (the backups' own checkpoint and WAL switch only).
strata_backup strata-incr-idle incr
record strata-incr-idle strata "$(jget "$OUT/strata-incr-idle.stdout" 'd["type"]')" "$SECS" "$CPU" \
  "$(jget "$OUT/strata-incr-idle.stdout" 'd["read_bytes"]')" \
  "$(tree_bytes "$POOL/nodes/$NODE/backups/$(jget "$OUT/strata-incr-idle.stdout" 'd["id"]')")" \
  "$(jget "$OUT/strata-incr-idle.stdout" 'd["size"]')" "$(jget "$OUT/strata-incr-idle.stdout" 'd["stored_size"]')"
pgbr_backup pgbr-incr-idle incr
pgbr_info
record pgbr-incr-idle pgbackrest "$(pgbr_field "b['type']")" "$SECS" "$CPU" "$(pgbr_field "b['info']['delta']")" \
  "$(tree_bytes "$PGBR_REPO/backup/bench/$(pgbr_field "b['label']")")" "$(pgbr_field "b['info']['size']")" \
  "$(pgbr_field "b['info']['repository']['delta']")"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Untimed: every restored copy must recover to the end of the archive and
# hold exactly the primary's data: row counts, balance sums and a hash of
# every row of the four pgbench tables.
CHECK_SQL="SELECT (SELECT count(*) || '/' || sum(abalance) || '/' || sum(hashtext(a::text)::bigint) FROM pgbench_accounts a)
  || ' ' || (SELECT sum(bbalance) || '/' || sum(hashtext(b::text)::bigint) FROM pgbench_branches b)
  || ' ' || (SELECT sum(tbalance) || '/' || sum(hashtext(t::text)::bigint) FROM pgbench_tellers t)
  || ' ' || (SELECT count(*) || '/' || coalesce(sum(delta), 0) || '/' || coalesce(sum(hashtext(h::text)::bigint), 0)
             FROM pgbench_history h)"
declare -A VERIFIED
verify_copy() { # NAME DIR: starts DIR on PORT+1, compares, stops it
  local name=$1 d=$2 vport=$((PORT + 1)) got i
  VERIFIED[$name]="not checked"
  [ "$VERIFY" = 1 ] || return 0
  if as_user "$PG_BIN/pg_ctl" -D "$d" -l "$W/verify-$name.log" -w -t 300 \
      -o "-p $vport -c unix_socket_directories=$SOCK -c archive_mode=off -c listen_addresses=''" start >/dev/null; then
    for ((i = 0; i < 300; i++)); do
      [ "$(psql_at "$vport" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break; sleep 1
    done
    got=$(psql_at "$vport" "$CHECK_SQL" 2>/dev/null || echo error)
    if [ "$got" = "$WANT" ]; then VERIFIED[$name]="ok: recovered, promoted, same data as the primary"
    else VERIFIED[$name]="FAILED: restored '$got', primary '$WANT' (see $W/verify-$name.log)"; fi
  else
    VERIFIED[$name]="FAILED: did not start (see $W/verify-$name.log)"
  fi
  stop_pg "$d"
  log "check of $name: ${VERIFIED[$name]}"
}
WANT=$(psql_at "$PORT" "$CHECK_SQL")
verify_copy strata-restore-chain "$RESTORE-strata-restore-chain"
if [ "$CHAIN" -gt 1 ]; then
  verify_copy strata-restore-full "$RESTORE-strata-restore-full"
else
  VERIFIED[strata-restore-full]="not checked (the first full: older data)"
fi
verify_copy pgbr-restore-chain "$RESTORE-pgbr"
rm -rf "$RESTORE-strata-restore-chain" "$RESTORE-strata-restore-full" "$RESTORE-pgbr"

# The parts of the fixed cost: for the idle incrementals, what happened
# between the start and the end of each: the primary's checkpoints, each
# segment's pushes (push-strata-then-pgbackrest.sh), strata's own log lines.
cat >"$W/timeline.py" <<'PY'
import datetime, re, sys
out, w, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def ts(text):  # "2026-12-02 10:01:02.345 UTC" or "...345+0000"
    m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})", text)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp() if m else None
ev = []
for line in open(w + "/primary.log", errors="replace"):
    if re.search(r"checkpoint (starting|complete)", line) and ts(line):
        ev.append((ts(line), "primary: " + re.sub(r"^.*?\] ", "", line.strip())[:110]))
for line in open(w + "/archive-times.log"):
    seg, a, b, c = line.split()
    ev += [(float(a), "push %s: strata wal-push starts" % seg), (float(b), "push %s: pgbackrest archive-push starts" % seg),
           (float(c), "push %s: both done" % seg)]
for n in names:
    t0, t1 = map(float, open("%s/%s.wall" % (out, n)).read().split())
    mine = [(ts(l), "strata: " + re.sub(r"^\S+ \S+ P\d+ ", "", l.strip())[:110])
            for l in open("%s/%s.stderr" % (out, n), errors="replace") if ts(l) and n.startswith("strata")]
    print("%s (%.2f s):" % (n, t1 - t0))
    for t, e in sorted(ev + mine):
        if t0 - 0.01 <= t <= t1 + 0.01:
            print("  +%6.2f s  %s" % (t - t0, e))
PY
TIMELINE=$(python3 "$W/timeline.py" "$OUT" "$W" strata-incr-idle pgbr-incr-idle 2>&1 || true)

# ---------------------------------------------------------------- report
f_() { awk -F'\t' -v n="$1" -v c="$2" '$1==n{print $c}' "$RES"; }
mb() { [ -n "$1" ] && awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}' || echo "—"; }
met() { awk -v v="$1" -v t="$2" 'BEGIN{exit !(v<=t)}' && echo "**met**" || echo "**not met**"; }
iname() { [ "$1" = 1 ] && echo "$2-incr" || echo "$2-incr-$1"; }
{
  echo "<!-- generated by bench/incr.sh on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit -->"
  echo "Parameters: \`SCALE=$SCALE PGBENCH_SECONDS=$PGBENCH_SECONDS CHAIN=$CHAIN CHAIN_SECONDS=$CHAIN_SECONDS CLIENTS=$CLIENTS JOBS=$JOBS LEVEL=$LEVEL WARM=$WARM\` (zstd; strata \`--jobs $JOBS --nice 0\`, pgBackRest \`process-max=$JOBS\`; backups from the primary);"
  echo "database: $DB_MB MB of files (pg_wal excluded); pgbench: $PGBENCH_LOG; $(mb "$WAL_BYTES") MB of WAL from strata's full start to the first incremental;"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average before/after: $LOAD_BEFORE / $LOAD_AFTER;"
  echo "versions: $(as_user "$STRATA" version 2>/dev/null | head -1) (source $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)), $(pgbackrest version), $("$PG_BIN/postgres" --version)."
  echo
  echo "Changed pages (page LSN > the start LSN of strata's parent backup, after a CHECKPOINT), per incremental:"
  echo
  echo "| incremental | changed pages | of relation pages | fraction | raw MB | zstd -$LEVEL per file MB | files |"
  echo "|---|---|---|---|---|---|---|"
  for ((k = 1; k <= CHAIN; k++)); do
    echo "| $k | ${CHG[$k]} | ${ALL[$k]} | **${FRAC[$k]}** | $(mb $((CHG[$k] * 8192))) | $(mb "${ZB[$k]}") | ${FILES[$k]} |"
  done
  echo
  echo "Pages past pgBackRest's full start LSN $R_FULL_LSN before its first incremental: $((R_MAIN_CHG + R_OTHER_CHG))."
  echo
  echo "| backup | type | wall s | CPU s | read from data dir MB | stored MB | stored MB (tool's figure) | database MB |"
  echo "|---|---|---|---|---|---|---|---|"
  rows="strata-full pgbr-full"
  for ((k = 1; k <= CHAIN; k++)); do rows="$rows $(iname "$k" strata) $(iname "$k" pgbr)"; done
  [ "$CHAIN" -gt 1 ] && rows="$rows strata-full-final"
  for n in $rows strata-incr-idle pgbr-incr-idle; do
    echo "| $n | $(f_ "$n" 3) | $(f_ "$n" 4) | $(f_ "$n" 5) | $(mb "$(f_ "$n" 6)") | $(mb "$(f_ "$n" 7)") | $(mb "$(f_ "$n" 9)") | $(mb "$(f_ "$n" 8)") |"
  done
  echo
  echo "read: strata's read_bytes (JSON result); pgBackRest's info.delta (\`info --output=json\`: the bytes of the files it copied, which it reads whole)."
  echo "stored: the files of the backup's own directory (pool: nodes/$NODE/backups/ID, repository: backup/bench/LABEL), manifest included;"
  echo "tool's figure: strata's stored_size (JSON), pgBackRest's info.repository.delta."
  echo "*-incr-idle: one more incremental of each, taken after the restores with nothing changed since the previous backup: the fixed cost (checkpoint, WAL switch and archiving of the backup's segments, manifest)."
  echo
  echo "| restore | wall s | CPU s | restored MB | check |"
  echo "|---|---|---|---|---|"
  for n in strata-restore-chain strata-restore-full pgbr-restore-chain; do
    echo "| $n | $(f_ "$n" 4) | $(f_ "$n" 5) | $(mb "$(f_ "$n" 8)") | ${VERIFIED[$n]} |"
  done
  echo
  if [ "$CHAIN" -gt 1 ]; then
    echo "strata-restore-chain: strata's full + $CHAIN incrementals; strata-restore-full: strata-full-final, a full taken at the same final point; pgbr-restore-chain: pgBackRest's full + $CHAIN incrementals."
  else
    echo "strata-restore-chain: strata's full + incremental; strata-restore-full: strata's first full alone; pgbr-restore-chain: pgBackRest's full + incremental."
  fi
  echo "Restores without --start: copy and sync only (timed); the check (untimed) then starts each copy, lets it recover to the end of the archive and promote, and compares row counts, sums and a hash of every row of the four pgbench tables with the primary's."
  echo
  echo "Goals:"
  for ((k = 1; k <= CHAIN; k++)); do
    g=$(awk -v f="${FRAC[$k]}" -v s="$S_FULL_SECS" 'BEGIN{printf "%.2f", 1.5*f*s}')
    gb=$(awk -v z="${ZB[$k]}" 'BEGIN{printf "%.0f", 1.1*z}')
    echo "- incremental $k: time ≤ 1.5 × ${FRAC[$k]} × $S_FULL_SECS s (strata's full) = $g s: $(met "${S_SECS[$k]}" "$g") (${S_SECS[$k]} s); stored ≤ 1.1 × changed pages compressed = $(mb "$gb") MB: $(met "${S_STORED[$k]}" "$gb") ($(mb "${S_STORED[$k]}") MB)"
    [ "${S_TYPE[$k]}" = incr ] || echo "  - strata did not take an incremental: ${S_FALLBACK[$k]}"
  done
  rc=$(f_ strata-restore-chain 4); rf=$(f_ strata-restore-full 4)
  echo "- restore of full + $CHAIN incremental(s) ≤ 1.3 × restore of a full: $(met "$rc" "$(awk -v f="$rf" 'BEGIN{print 1.3*f}')") ($rc s vs $rf s = $(awk -v a="$rc" -v b="$rf" 'BEGIN{printf "%.2f", a/b}')×)"
  echo
  echo "Where the idle incrementals' time went (primary log, push-strata-then-pgbackrest.sh, strata's log; seconds from the start):"
  echo
  echo '```'
  echo "$TIMELINE"
  echo '```'
  echo
  echo '```'
  printf 'name\ttool\ttype\twall_s\tcpu_s\tread_bytes\tstored_bytes\tsize_bytes\treported_stored_bytes\n'
  cat "$RES"
  echo '```'
} >"$W/results.md"
cp "$W/results.md" "$RESULTS_MD"
cat "$W/results.md"
