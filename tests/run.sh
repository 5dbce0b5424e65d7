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
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STRATA_TEST_BIN:-$REPO/build/asan/strata}
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
# Processes that are ours (uid of the test user) and mention WORK in their
# command line or run in a directory under WORK. Stopped by pid.
our_uid() { if [ "$(id -u)" -eq 0 ]; then id -u "$RUN_USER"; else id -u; fi; }
leftovers() {
  local uid p cmd cwd
  uid=$(our_uid)
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    [ "$(stat -c %u "/proc/$p" 2>/dev/null)" = "$uid" ] || continue
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null)
    case "$cmd|$cwd/" in *"$WORK/"*) echo "$p" ;; esac
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
sweep() {   # NAME: report and stop processes a test left behind
  local pids
  pids=$(leftovers | paste -sd' ')
  [ -n "$pids" ] || return 0
  result "not ok - $1: left processes running: $(for p in $pids; do echo -n "[$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)] "; done)"
  # shellcheck disable=SC2086
  stop_pids $pids
}
on_signal() {
  echo "# interrupted; stopping processes under $WORK"
  # shellcheck disable=SC2046
  stop_pids $(leftovers)
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
UNITS=("$REPO"/build/asan/unit/test_*)
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

if [ -x "$WORK/bin/strata" ]; then
  for t in "${TESTS[@]}"; do
    name=$(basename "$t" .sh)
    tdir=$WORK/t/$name
    mkdir -p "$tdir"
    [ "$(id -u)" -eq 0 ] && chown "$RUN_USER:" "$tdir"
    echo "# ---- $name"
    t0=$(date +%s.%N)
    timeout -k 30 "$TEST_TIMEOUT" "${RUN_AS[@]}" env -i \
      PATH=/usr/local/bin:/usr/bin:/bin HOME="$RUN_HOME" LANG=C.UTF-8 TZ=UTC \
      STRATA_BIN="$WORK/bin/strata" STRATA_TEST_WORK="$tdir" \
      ${STRATA_TEST_START_TIMEOUT:+STRATA_TEST_START_TIMEOUT=$STRATA_TEST_START_TIMEOUT} \
      ${T40_SCALE:+T40_SCALE=$T40_SCALE} \
      ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" LSAN_OPTIONS="$LSAN_OPTIONS" \
      bash "$t" </dev/null 2>&1 | tee "$WORK/logs/$name.log"
    rc=${PIPESTATUS[0]}
    count "$WORK/logs/$name.log"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      result "not ok - $name: timed out after ${TEST_TIMEOUT}s"
    elif [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$WORK/logs/$name.log"; then
      result "not ok - $name: exited $rc"
    elif ! grep -q '^ok - \|^not ok - ' "$WORK/logs/$name.log"; then
      result "not ok - $name: reported no result"
    fi
    sweep "$name"
    echo "# $name: $(secs_since "$t0")s (exit $rc)"
  done
fi

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
# shellcheck disable=SC2046
stop_pids $(leftovers)
echo "# total: $(( $(date +%s) - T_START ))s"
if [ "$failed" -eq 0 ]; then
  rm -rf "$WORK"
else
  echo "# work dir kept: $WORK"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
