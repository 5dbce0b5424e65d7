#!/usr/bin/env bash
# tests/run.sh [PATTERN...]: unit tests, then every integration test
# tests/integration/t_*.sh and cluster test tests/cluster/t_*.sh (or those whose name contains a PATTERN), against
# the ASan+UBSan build build/asan/strata.
#
# As root, everything runs from a copy in a fresh /tmp/strata-test.XXXXXX
# owned by the user `strata` (PostgreSQL refuses root, and the repository
# may be unreadable to that user); otherwise as the current user.
# Sanitizer reports of every strata process (including those PostgreSQL
# spawns for archive_command / restore_command) land in WORK/asan; any
# report is a failure. The last line is "N passed, N failed".
#
# S3: t_80_s3 and the suites named in STRATA_TEST_S3_SUITES (default: the
# suites that exercise the pool: backup/restore targets, corruption, killed
# backup, expire, cluster restore; run again as NAME.s3 with
# STRATA_TEST_POOL=s3) use a real S3 store that this script starts (radosgw,
# $REPO/../shared/tools/s3 or STRATA_S3_TOOLS) and stops; "run.sh .s3" runs
# only the S3 reruns, STRATA_TEST_S3_SUITES= none of them.
#
# The integration tests run two at a time, the second lane in a network
# namespace of its own (tests/lanes.sh; STRATA_TEST_JOBS=1 for one lane).
# A test that passes has its work directory removed when it ends; a failed
# one keeps it, and the whole WORK is kept when anything failed.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STRATA_TEST_BIN:-$REPO/build/asan/strata}
UNIT_DIR=${STRATA_TEST_UNIT_DIR:-$REPO/build/asan/unit}
# STRATA_TEST_GCOV_PREFIX (make coverage): where the test user's processes
# write their gcov counts (GCOV_PREFIX; the build tree is not theirs to write).
TEST_TIMEOUT=${STRATA_TEST_TIMEOUT:-900}
RUN_USER=strata
T_START=$(date +%s)

passed=0
failed=0
count() {   # FILE: add its ok / not ok lines to the totals
  local p f
  p=$(grep -c '^ok - ' "$1")
  f=$(grep -c '^not ok - ' "$1")
  passed=$((passed + p))
  failed=$((failed + f))
}
result() {   # "ok - ..." or "not ok - ..." decided here
  echo "$1" | tee -a "$WORK/logs/run.log"
  case $1 in ok*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
}
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

WORK=$(mktemp -d /tmp/strata-test.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/bin" "$WORK/asan" "$WORK/logs" "$WORK/t" "$WORK/src"
: >"$WORK/logs/run.log"
echo "# work dir: $WORK"

# ---- leftover processes ---------------------------------------------------
# Processes that are ours (uid of the test user) and mention DIR (default
# WORK) in their command line or run in a directory under it. Stopped by pid.
our_uid() { if [ "$(id -u)" -eq 0 ]; then id -u "$RUN_USER"; else id -u; fi; }
leftovers() {   # [DIR]
  local uid p cmd cwd dir=${1:-$WORK}
  uid=$(our_uid)
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    [ "$(stat -c %u "/proc/$p" 2>/dev/null)" = "$uid" ] || continue
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null)
    case "$cmd|$cwd/" in *"$dir/"*) echo "$p" ;; esac
  done
}
stop_pids() {   # PID...: postmasters first (SIGINT), then SIGTERM, then SIGKILL
  local p i
  [ "$#" -gt 0 ] || return 0
  for p in "$@"; do kill -INT "$p" 2>/dev/null; done
  for ((i = 0; i < 100; i++)); do
    local alive=0
    for p in "$@"; do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && alive=1; done
    [ "$alive" = 0 ] && return 0
    [ "$i" = 50 ] && for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null; done
}
sweep() {   # NAME DIR: print "not ok" for processes a test left under DIR, stop them
  local pids
  pids=$(leftovers "$2" | paste -sd' ')
  [ -n "$pids" ] || return 0
  echo "not ok - $1: left processes running: $(for p in $pids; do echo -n "[$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)] "; done)"
  # shellcheck disable=SC2086
  stop_pids $pids
}
on_signal() {
  echo "# interrupted; stopping processes under $WORK"
  trap - INT TERM
  [ -n "${lane1_pid:-}" ] && kill "$lane1_pid" 2>/dev/null
  # shellcheck disable=SC2046
  stop_pids $(leftovers)
  s3_stop
  lanes_teardown
  echo "# work dir kept: $WORK"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
}
trap on_signal INT TERM

# ---- the copy the tests run from -------------------------------------------
if [ ! -x "$BIN" ]; then
  result "not ok - build: no sanitizer binary at $BIN (make asan)"
else
  cp "$BIN" "$WORK/bin/strata"
fi
# dist/ and the Makefile: t_manager_cli installs the systemd units (make install).
cp -r "$REPO/tests" "$REPO/scripts" "$REPO/dist" "$REPO/Makefile" "$WORK/src/"
rm -rf "$WORK/src/tests/unit"

ASAN_OPTIONS="log_path=$WORK/asan/asan:detect_leaks=1:abort_on_error=0"
UBSAN_OPTIONS="print_stacktrace=1:log_path=$WORK/asan/ubsan"
LSAN_OPTIONS="log_path=$WORK/asan/lsan"
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# ---- unit tests -----------------------------------------------------------
shopt -s nullglob
UNITS=()
for u in "$UNIT_DIR"/test_*; do
  case ${u##*/} in *.*) ;; *) UNITS+=("$u") ;; esac   # not a coverage build's .gcno/.gcda (by file name: the
                                                        # checkout's own path may hold a dot)
done
shopt -u nullglob
if [ "${#UNITS[@]}" -gt 0 ]; then
  echo "# unit tests: ${#UNITS[@]} binaries"
  t0=$(date +%s.%N)
  # the unit tests print sanitizer reports on their stderr
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS bash "$REPO/tests/run-unit.sh" "${UNITS[@]}" \
    >"$WORK/logs/unit.log" 2>&1
  urc=$?
  cat "$WORK/logs/unit.log"
  count "$WORK/logs/unit.log"
  if [ "$urc" -ne 0 ] && ! grep -q '^not ok - ' "$WORK/logs/unit.log"; then
    result "not ok - unit: run-unit.sh exited $urc"
  fi
  echo "# unit tests: $(secs_since "$t0")s"
else
  echo "# unit tests: none built"
fi

# ---- fuzz targets (make fuzz-build) -------------------------------------------
# Each parser of untrusted input for a bounded time (STRATA_FUZZ_SECONDS,
# default 20 each); run with no PATTERN or one matching "fuzz".
run_fuzz=0
if [ "$#" -eq 0 ]; then run_fuzz=1; else for pat in "$@"; do case fuzz in *"$pat"*) run_fuzz=1 ;; esac; done; fi
shopt -s nullglob
FUZZERS=("$REPO"/build/fuzz/fuzz_*)
shopt -u nullglob
if [ "$run_fuzz" = 1 ] && [ "${#FUZZERS[@]}" -gt 0 ]; then
  echo "# fuzz targets: ${#FUZZERS[@]}"
  t0=$(date +%s.%N)
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS \
    bash "$REPO/tests/fuzz/run.sh" "$REPO/build/fuzz" "${STRATA_FUZZ_SECONDS:-20}" >"$WORK/logs/fuzz.log" 2>&1
  frc=$?
  cat "$WORK/logs/fuzz.log"
  count "$WORK/logs/fuzz.log"
  if [ "$frc" -ne 0 ] && ! grep -q '^not ok - ' "$WORK/logs/fuzz.log"; then
    result "not ok - fuzz: tests/fuzz/run.sh exited $frc"
  fi
  echo "# fuzz targets: $(secs_since "$t0")s"
elif [ "$run_fuzz" = 1 ]; then
  echo "# fuzz targets: none built (make fuzz-build)"
fi

# ---- layering: no include cycle between folders of src/ ----------------------
if cycles=$(bash "$REPO/scripts/check-include-cycles.sh" "$REPO/src" 2>&1); then
  result "ok - include cycles: $cycles"
else
  printf '%s\n' "$cycles" | sed 's/^/# /'
  result "not ok - include cycles: $(printf '%s\n' "$cycles" | grep -c '^include cycle') between folders of src/ (scripts/check-include-cycles.sh)"
fi
# ... and the check itself tells a cycle from none
if selftest=$(bash "$REPO/scripts/check-include-cycles.sh" --self-test 2>&1); then
  result "ok - include cycle check: $selftest"
else
  result "not ok - include cycle check: $selftest"
fi

# ---- integration tests ------------------------------------------------------
# Tests start in WORK: the repository (a clean clone under a root-only
# mktemp dir, in CI) may be unreadable to the test user, and PostgreSQL's
# programs warn on stderr when they cannot return to their start directory.
cd "$WORK" || exit 1
if [ "$(id -u)" -eq 0 ]; then
  if ! id "$RUN_USER" >/dev/null 2>&1; then
    result "not ok - setup: user $RUN_USER does not exist (scripts/install-deps.sh creates it)"
  fi
  chown -R "$RUN_USER:" "$WORK"
  RUN_AS=(runuser -u "$RUN_USER" --)
  RUN_HOME=$(getent passwd "$RUN_USER" | cut -d: -f6)
else
  RUN_AS=()
  RUN_HOME=$HOME
fi

# shellcheck source=lanes.sh
. "$REPO/tests/lanes.sh"
lanes_setup

TESTS=()
for t in "$WORK"/src/tests/integration/t_*.sh "$WORK"/src/tests/cluster/t_*.sh "$WORK"/src/tests/manager/t_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ "$#" -gt 0 ]; then
    sel=0
    for pat in "$@"; do case $name in *"$pat"*) sel=1 ;; esac; done
    [ "$sel" = 1 ] || continue
  fi
  TESTS+=("$t")
done

# ---- the S3 store ---------------------------------------------------------------
# t_80_s3, and the suites in S3_SUITES run a second time with their pool in S3
# (STRATA_TEST_POOL=s3, named NAME.s3), need a real S3 store: Ceph's radosgw
# on loopback, started by the shared tools beside the repository
# ($REPO/../shared/tools/s3, a few seconds) and stopped by their stop script
# at the end. Credentials reach the tests in a mode-600 file, never argv.
S3_SUITES=${STRATA_TEST_S3_SUITES-t_10_backup_restore_targets t_20_corruption t_40_killed_backup t_expire t_cluster_restore}
S3_TOOLS=${STRATA_S3_TOOLS:-$REPO/../shared/tools/s3}
S3_DIR=$WORK/s3store
S3_STARTED=0
S3_ENV=()
for t in "$WORK"/src/tests/integration/t_*.sh "$WORK"/src/tests/cluster/t_*.sh; do
  name=$(basename "$t" .sh)
  case " $S3_SUITES " in *" $name "*) ;; *) continue ;; esac
  sel=$#
  for pat in "$@"; do case $name.s3 in *"$pat"*) sel=0 ;; esac; done
  [ "$sel" = 0 ] && TESTS+=("$t|s3")
done
s3_stop() {
  [ "$S3_STARTED" = 1 ] || return 0
  in_lane 1 env S3_DIR="$S3_DIR" bash "$S3_TOOLS/stop-s3.sh" >>"$WORK/logs/s3.log" 2>&1
  S3_STARTED=0
}
s3_start() {
  local p port="" ak sk bucket
  if [ ! -f "$S3_TOOLS/start-s3.sh" ]; then
    result "not ok - s3: no S3 store: $S3_TOOLS/start-s3.sh is missing (the shared tools belong in ../shared beside the repository)"
    return 1
  fi
  # HTTP p, mon p+1 and p+2, in lane 1's namespace (the S3 tests run there)
  port=$(in_lane 1 bash -c 'for ((p = 38000; p < 39000; p += 10)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null ||
      (exec 3<>"/dev/tcp/127.0.0.1/$((p + 2))") 2>/dev/null || { echo "$p"; break; }
  done')
  [ -n "$port" ] || { result "not ok - s3: no free ports for the S3 store in 38000-38999"; return 1; }
  local t0; t0=$(date +%s.%N)
  if ! in_lane 1 env S3_DIR="$S3_DIR" S3_PORT="$port" S3_MON_PORT=$((port + 1)) S3_STORE_SIZE=10 \
       bash "$S3_TOOLS/start-s3.sh" >"$WORK/logs/s3.log" 2>&1; then
    sed 's/^/#   /' "$WORK/logs/s3.log" | tail -n 15
    result "not ok - s3: start-s3.sh failed (log above)"
    return 1
  fi
  S3_STARTED=1
  ak=$(. "$S3_DIR/s3.env" && echo "$AWS_ACCESS_KEY_ID")
  sk=$(. "$S3_DIR/s3.env" && echo "$AWS_SECRET_ACCESS_KEY")
  bucket=$(. "$S3_DIR/s3.env" && echo "$S3_BUCKET")
  mkdir -p "$WORK/s3"
  (umask 077; printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$ak" "$sk" >"$WORK/s3/credentials"
   printf 'machine 127.0.0.1 login %s password %s\n' "$ak" "$sk" >"$WORK/s3/netrc")
  [ "$(id -u)" -eq 0 ] && chown -R "$RUN_USER:" "$WORK/s3"
  S3_ENV=(STRATA_S3_ENDPOINT="http://127.0.0.1:$port" STRATA_S3_CREDENTIALS_FILE="$WORK/s3/credentials"
          STRATA_TEST_S3_BUCKET="$bucket")
  echo "# S3 store (radosgw) on 127.0.0.1:$port, bucket $bucket: $(secs_since "$t0")s"
}
for t in "${TESTS[@]}"; do
  uses_s3 "$t" && { s3_start; break; }
done

echo "# integration tests: ${#TESTS[@]}, $(free_mib "$WORK") MiB free under $WORK"
[ -x "$WORK/bin/strata" ] && lanes_run
for name in "${NAMES[@]}"; do [ -f "$WORK/logs/$name.log" ] && count "$WORK/logs/$name.log"; done

s3_stop

# ---- sanitizer reports ----------------------------------------------------
shopt -s nullglob
REPORTS=("$WORK"/asan/*)
shopt -u nullglob
for f in "${REPORTS[@]}"; do
  echo "# ==== sanitizer report $f:"
  head -n 80 "$f" | sed 's/^/#   /'
  result "not ok - sanitizer: report in $(basename "$f") ($(grep -m1 -oE 'ERROR: [A-Za-z]+Sanitizer: [^ ]+|runtime error: .{0,60}' "$f" | head -n 1))"
done

# ---- the end ------------------------------------------------------------------
left=$(leftovers | paste -sd' ')
if [ -n "$left" ]; then
  result "not ok - processes left under $WORK after the tests: $left"
  # shellcheck disable=SC2086
  stop_pids $left
fi
lanes_teardown
echo "# total: $(( $(date +%s) - T_START ))s"
if [ "$failed" -eq 0 ]; then
  rm -rf "$WORK"
else
  echo "# work dir kept: $WORK"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
