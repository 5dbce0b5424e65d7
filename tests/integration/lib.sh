# shellcheck shell=bash
# Common helpers for tests/integration/t_*.sh: TAP-like output, running
# strata with captured output, pool inspection. Sourced by every test.
#
# Environment (set by tests/run.sh; defaults for running one test by hand):
#   STRATA_BIN        the strata binary (default: build/asan/strata)
#   STRATA_TEST_WORK  this test's own directory (default: a new /tmp dir)
#   STRATA_TEST_POOL  "s3": the pool is a prefix in the S3 store (tests/s3-lib.sh)

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT_DIR=$(cd "$TESTS_DIR/.." && pwd)
# shellcheck source=../../scripts/pg-lib.sh
source "$ROOT_DIR/scripts/pg-lib.sh"

TEST_NAME=$(basename "$0" .sh)
TEST_NUM=$(echo "$TEST_NAME" | sed -n 's/^t_\([0-9][0-9]*\)_.*/\1/p')
TEST_NUM=$((10#${TEST_NUM:-99}))
PORT_BASE=$((21000 + TEST_NUM * 10))

if [ "$(id -u)" -eq 0 ]; then
  echo "not ok - $TEST_NAME: PostgreSQL does not run as root; use tests/run.sh"
  exit 1
fi

STRATA_BIN=${STRATA_BIN:-$ROOT_DIR/build/asan/strata}
export STRATA_BIN
if [ ! -x "$STRATA_BIN" ]; then
  echo "not ok - $TEST_NAME: no strata binary at $STRATA_BIN"
  exit 1
fi

if [ -z "${STRATA_TEST_WORK:-}" ]; then
  STRATA_TEST_WORK=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")
  echo "# work dir: $STRATA_TEST_WORK"
fi
T=$STRATA_TEST_WORK
mkdir -p "$T"
POOL=$T/pool
export POOL
# shellcheck source=../pool-lib.sh
source "$TESTS_DIR/pool-lib.sh"
if [ "${STRATA_TEST_POOL:-dir}" = s3 ]; then
  s3_pool_setup "$T" "$TEST_NAME"
  # once the instances that archive into it have stopped
  pg_lib_after_stop_hook() { s3_pool_clean; }
fi
pg_lib_init "$T"

TEST_FAILS=0
TEST_CHECKS=0

pass() { TEST_CHECKS=$((TEST_CHECKS + 1)); echo "ok - $TEST_NAME: $1"; }
fail() {
  TEST_CHECKS=$((TEST_CHECKS + 1)); TEST_FAILS=$((TEST_FAILS + 1))
  echo "not ok - $TEST_NAME: $1: $2"
}
note() { echo "# $*"; }

# show FILE [N]: a file's last lines as TAP comments
show() { [ -s "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/#   | /'; return 0; }

# check NAME CONDITION-CMD... : pass if the command succeeds
check() {
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name" "check failed: $*"; fi
}

check_eq() {   # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# run NAME CMD...: runs CMD, stdout -> $T/out/NAME.out, stderr -> .err;
# sets RC, OUT, ERR (file names). Never fails the script.
mkdir -p "$T/out"
run() {
  local name=$1; shift
  OUT=$T/out/$name.out ERR=$T/out/$name.err
  echo "# \$ $*" | sed "s|$STRATA_BIN|strata|g"
  "$@" >"$OUT" 2>"$ERR"
  RC=$?
  return 0
}
strata() { "$STRATA_BIN" "$@"; }

# check_rc NAME EXPECTED: on the last run; shows its stderr on failure
check_rc() {
  if [ "$RC" = "$2" ]; then pass "$1"
  else fail "$1" "exit status $RC, expected $2"; show "$ERR"; show "$OUT"; fi
}
check_rc_nonzero() {
  if [ "$RC" != 0 ]; then pass "$1"
  else fail "$1" "exit status 0, expected failure"; show "$ERR"; show "$OUT"; fi
}
# check_msg NAME STRING: the last run's stdout+stderr contain STRING (fixed, case-insensitive)
check_msg() {
  if cat "$OUT" "$ERR" | grep -qiF -- "$2"; then pass "$1"
  else fail "$1" "output does not mention '$2'"; show "$ERR"; show "$OUT"; fi
}

# backup_id FILE: the first backup id (YYYYMMDD-HHMMSSF) in FILE
backup_id() { grep -oE '[0-9]{8}-[0-9]{6}F' "$1" | head -n 1; }

# marker_ids PORT: the marker table's ids, comma separated, in order
marker_ids() { psql_at "$1" "select coalesce(string_agg(id::text, ',' order by id), '') from marker"; }
seq_csv() { seq "$@" | paste -sd, -; }

# pgbench_consistent PORT: pgbench's invariant sum(abalance)=sum(tbalance)=sum(bbalance)=sum(delta)
pgbench_consistent() {
  psql_at "$1" "select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta),0) from pgbench_history)
                   and (select sum(tbalance) from pgbench_tellers) = (select coalesce(sum(delta),0) from pgbench_history)
                   and (select sum(bbalance) from pgbench_branches) = (select coalesce(sum(delta),0) from pgbench_history)"
}

# info_json [ARGS...]: strata info --output json into $T/out/info.json
info_json() { strata info --pool "$POOL" --output json "$@" >"$T/out/info.json" 2>"$T/out/info.json.err"; }

# json_backup_status FILE ID: the status of backup ID in strata info's JSON
# ("absent" if ID is not in it, "?" if it has no recognizable status field).
json_backup_status() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:
    print("unparsable:", e); sys.exit(0)
want = sys.argv[2]
found = []
def walk(o):
    if isinstance(o, dict):
        if any(isinstance(v, str) and v == want for v in o.values()):
            found.append(o)
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(doc)
if not found:
    print("absent"); sys.exit(0)
for o in found:
    for k in ("status", "state"):
        if k in o:
            print(str(o[k]).lower()); sys.exit(0)
print("?")
EOF
}

# json_mentions FILE STRING...: every STRING occurs in the JSON's values/keys
json_mentions() {
  python3 - "$@" <<'EOF'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:
    print("unparsable:", e); sys.exit(1)
text = json.dumps(doc)
sys.exit(0 if all(s in text for s in sys.argv[2:]) else 1)
EOF
}

# flip_byte, pool_objects, pool_flip, ...: tests/pool-lib.sh

# wal_objects NODE: archived WAL objects of NODE (paths), sorted by name
wal_objects() {
  pool_objects "nodes/$1/wal" | grep -v '/history/' | awk -F/ '{print $NF "\t" $0}' | sort | cut -f2
}
# walname of a WAL object path
wal_name_of() { basename "$1" | grep -oE '^[0-9A-F]{24}'; }

# no_postmaster_in DIR: no live postgres serves DIR
no_postmaster_in() { ! pg_is_running "$1"; }

# restore_start NAME ARGS...: strata restore --start into $T/NAME at a new
# port ($RPORT), registers the instance for cleanup. Sets RC/OUT/ERR.
restore_start() {
  local name=$1; shift
  # the previous restore's instance, stopped and passed, is not needed any
  # more: its data directory goes (a failing test keeps everything)
  # (not when the test made the same directory anew for this one)
  if [ -n "${RDIR:-}" ] && [ "$RDIR" != "$T/$name" ] && [ "$TEST_FAILS" -eq 0 ] && [ -d "$RDIR" ] &&
     ! pg_is_running "$RDIR"; then
    rm -rf "$RDIR"
  fi
  RPORT=$(free_port $((PORT_BASE + 5)))
  RDIR=$T/$name
  run "restore_$name" timeout --foreground -k 10 600 "$STRATA_BIN" restore --pool "$POOL" --target-dir "$RDIR" \
      --start --port "$RPORT" --start-timeout "${STRATA_TEST_START_TIMEOUT:-120}" --pg-bin "$PG_BIN" "$@"
  [ -f "$RDIR/postmaster.pid" ] && pg_register "$RDIR"
  return 0
}

# finish: the summary line for run.sh and the script's exit status
finish() {
  echo "# $TEST_NAME: $TEST_CHECKS checks, $TEST_FAILS failed"
  [ "$TEST_FAILS" -eq 0 ]
  exit $?
}

# elapsed START END: seconds between two `date +%s.%N` values, 1 decimal
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# show_pg_logs DIR: the tail of any PostgreSQL log in or next to DIR
show_pg_logs() {
  local f
  for f in $(find "$1" "$1.log" -maxdepth 2 -name '*.log' -newer "$T/out" 2>/dev/null | head -n 3); do
    echo "# $f:"; show "$f" 20
  done
}

# pgbench_start PORT [CLIENTS]: pgbench in 3 s rounds until pgbench_stop;
# every round's summary goes to $T/out/pgbench_run.log
pgbench_start() {
  rm -f "$T/out/pgbench.stop"
  (
    while [ ! -e "$T/out/pgbench.stop" ]; do
      "$PG_BIN/pgbench" -h 127.0.0.1 -p "$1" -c "${2:-2}" -j "${2:-2}" -T 3 -n postgres \
        >>"$T/out/pgbench_run.log" 2>&1 || echo "PGBENCH_FAILED rc=$?" >>"$T/out/pgbench_run.log"
    done
  ) &
  PGBENCH_PID=$!
  bg_register "$PGBENCH_PID"
}
pgbench_stop() {
  local i
  touch "$T/out/pgbench.stop"
  for ((i = 0; i < 100; i++)); do kill -0 "$PGBENCH_PID" 2>/dev/null || break; sleep 0.1; done
  bg_stop "$PGBENCH_PID"
}
# pgbench_ok: every round ran, without failed transactions
pgbench_ok() {
  ! grep -q PGBENCH_FAILED "$T/out/pgbench_run.log" &&
    grep -q "number of failed transactions: 0" "$T/out/pgbench_run.log" &&
    ! grep "number of failed transactions:" "$T/out/pgbench_run.log" | grep -vq "transactions: 0 "
}

# check_msg_file NAME STRING FILE: FILE contains STRING
check_msg_file() {
  if grep -qiF -- "$2" "$3"; then pass "$1"
  else fail "$1" "$3 does not mention '$2'"; show "$3"; fi
}
