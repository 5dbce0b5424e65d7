# shellcheck shell=bash
# Sourced by tests/run.sh: runs the integration tests two at a time.
#
# Why namespaces: every test takes its TCP ports from fixed ranges, and a
# suite and its S3 rerun share theirs, so two tests side by side on one
# loopback could take each other's ports. Lane 0 runs in the runner's
# network namespace, lane 1 in one made for it (`ip netns`, root only), with
# a loopback of its own. The S3 store lives in lane 1: lane 1 runs every
# test that uses it first, then takes tests from the queue lane 0 works on.
# STRATA_TEST_JOBS=1, or a runner that is not root, runs one lane: the S3
# tests first, then the rest, one at a time.
#
# Each test runs in its own directory WORK/t/NAME, from which it is also
# swept for leftover processes; a test that passed has that directory (and,
# on S3, the bucket's objects) removed at once, so the suite's disk use is
# that of the two tests running, not of all of them.
#
# Uses from run.sh: WORK, TESTS, RUN_AS, RUN_HOME, RUN_USER, TEST_TIMEOUT,
# S3_ENV, ASAN_OPTIONS/UBSAN_OPTIONS/LSAN_OPTIONS, leftovers, stop_pids,
# secs_since.

LANE_NS=""
S3_QUEUE=()
QUEUE=()
NAMES=()
# the longest tests first, so that the two lanes end close together
SLOW_FIRST="t_exact_cut t_cluster_restore t_ui_browser t_92_incremental t_node_manager t_manager_cli
  t_node_restore t_compute_schema t_restore_identity t_manager_api t_cluster_negative"

lanes_setup() {
  local jobs=${STRATA_TEST_JOBS:-2}
  [ "$jobs" -ge 2 ] 2>/dev/null || { echo "# one lane (STRATA_TEST_JOBS=$jobs)"; return 0; }
  if [ "$(id -u)" -ne 0 ]; then
    echo "# one lane: a second lane needs a network namespace (root)"
    return 0
  fi
  LANE_NS=strata-lane-$$
  if ! ip netns add "$LANE_NS" 2>"$WORK/logs/lanes.log" ||
     ! ip -n "$LANE_NS" link set lo up 2>>"$WORK/logs/lanes.log"; then
    echo "# one lane: ip netns add $LANE_NS failed: $(head -c 300 "$WORK/logs/lanes.log")"
    ip netns del "$LANE_NS" 2>/dev/null
    LANE_NS=""
    return 0
  fi
  echo "# two lanes: lane 1 in network namespace $LANE_NS"
}

lanes_teardown() {
  [ -n "$LANE_NS" ] || return 0
  ip netns del "$LANE_NS" 2>/dev/null || echo "# ip netns del $LANE_NS failed"
  LANE_NS=""
}

in_lane() {   # LANE CMD...: CMD in that lane's network namespace
  local lane=$1
  shift
  if [ "$lane" = 1 ] && [ -n "$LANE_NS" ]; then ip netns exec "$LANE_NS" "$@"; else "$@"; fi
}

uses_s3() { case $1 in *"|s3"|*/t_8[0-9]_s3*.sh|*/t_multihost.sh) return 0 ;; esac; return 1; }
spec_name() {   # SPEC: the test's name (NAME.s3 for an S3 rerun)
  local n
  n=$(basename "${1%|s3}" .sh)
  case $1 in *"|s3") n=$n.s3 ;; esac
  echo "$n"
}

queue_setup() {
  local t slow
  for t in "${TESTS[@]}"; do
    NAMES+=("$(spec_name "$t")")
    uses_s3 "$t" && S3_QUEUE+=("$t")
  done
  for slow in $SLOW_FIRST; do
    for t in "${TESTS[@]}"; do
      uses_s3 "$t" || [ "$(basename "$t" .sh)" != "$slow" ] || QUEUE+=("$t")
    done
  done
  for t in "${TESTS[@]}"; do
    uses_s3 "$t" && continue
    case " $(echo $SLOW_FIRST) " in *" $(basename "$t" .sh) "*) continue ;; esac
    QUEUE+=("$t")
  done
  echo 0 >"$WORK/logs/.queue.next"
}

queue_next() {   # prints the next test of the shared queue; fails when it is empty
  local i
  {
    flock 8
    i=$(cat "$WORK/logs/.queue.next")
    echo $((i + 1)) >"$WORK/logs/.queue.next"
  } 8>"$WORK/logs/.queue.lock"
  [ "$i" -lt "${#QUEUE[@]}" ] || return 1
  printf '%s\n' "${QUEUE[$i]}"
}

lane_loop() {   # LANE
  local t
  if [ "$1" = 1 ]; then
    for t in "${S3_QUEUE[@]}"; do run_one 1 "$t"; done
  fi
  while t=$(queue_next); do run_one "$1" "$t"; done
}

lane1_pid=""
lanes_run() {
  queue_setup
  if [ -n "$LANE_NS" ]; then
    lane_loop 1 &
    lane1_pid=$!
    lane_loop 0
    wait "$lane1_pid"
    lane1_pid=""
  else
    lane_loop 1
  fi
}

free_mib() { df -Pm "$1" 2>/dev/null | awk 'NR == 2 { print $4 }'; }

# s3_empty_bucket LOG: after an S3 test passed, remove what it left in the
# bucket (only lane 1 uses the store, one test at a time)
s3_empty_bucket() {
  local left
  [ -f "$WORK/s3/netrc" ] || return 0
  left=$(in_lane 1 env "${S3_ENV[@]}" S3_NETRC="$WORK/s3/netrc" python3 "$WORK/src/tests/s3-tool.py" list "" 2>&1 |
         awk -F'\t' '{ n++; b += $2 } END { printf "%d objects, %.1f MiB", n, b / 1048576 }')
  in_lane 1 env "${S3_ENV[@]}" S3_NETRC="$WORK/s3/netrc" python3 "$WORK/src/tests/s3-tool.py" clean "" >>"$1" 2>&1 ||
    echo "# emptying the bucket failed" >>"$1"
  echo "# left in the bucket: $left (removed)" >>"$1"
}

# run_one LANE SPEC: one test, its log in WORK/logs/NAME.log, printed whole
# when it ends (the two lanes' lines do not interleave)
run_one() {
  local lane=$1 t=$2 pool=dir name tdir log t0 rc start_timeout cluster_targets mib
  local -a run_as
  case $t in *"|s3") pool=s3; t=${t%|s3} ;; esac
  name=$(spec_name "$2")
  # recovery through an S3 pool fetches every WAL segment over HTTP: more time to start
  start_timeout=${STRATA_TEST_START_TIMEOUT:-}
  [ "$pool" = s3 ] && start_timeout=${start_timeout:-300}
  # t_cluster_restore.s3: one cluster restore (to a time), not five
  cluster_targets=${STRATA_TEST_CLUSTER_TARGETS:-}
  [ "$pool" = s3 ] && cluster_targets=${cluster_targets:-time}
  tdir=$WORK/t/$name
  log=$WORK/logs/$name.log
  mkdir -p "$tdir"
  [ "$(id -u)" -eq 0 ] && chown "$RUN_USER:" "$tdir"
  t0=$(date +%s.%N)
  # t_multihost makes network namespaces (root): it runs its servers as $RUN_USER itself
  run_as=("${RUN_AS[@]}")
  [ "$name" = t_multihost ] && run_as=()
  # timeout(1) runs programs, not functions: the lane's namespace by ip(8)
  [ "$lane" = 1 ] && [ -n "$LANE_NS" ] && run_as=(ip netns exec "$LANE_NS" "${run_as[@]}")
  (cd "$tdir" && timeout -k 30 "$TEST_TIMEOUT" "${run_as[@]}" env -i \
    PATH=/usr/local/bin:/usr/bin:/bin HOME="$RUN_HOME" LANG=C.UTF-8 TZ=UTC \
    STRATA_BIN="$WORK/bin/strata" STRATA_TEST_WORK="$tdir" STRATA_TEST_USER="$RUN_USER" \
    ${start_timeout:+STRATA_TEST_START_TIMEOUT=$start_timeout} \
    ${cluster_targets:+STRATA_TEST_CLUSTER_TARGETS=$cluster_targets} \
    ${T40_SCALE:+T40_SCALE=$T40_SCALE} \
    ${STRATA_TEST_GCOV_PREFIX:+GCOV_PREFIX=$STRATA_TEST_GCOV_PREFIX} \
    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" LSAN_OPTIONS="$LSAN_OPTIONS" \
    STRATA_TEST_POOL="$pool" "${S3_ENV[@]}" \
    bash "$t" </dev/null >"$log" 2>&1)
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "not ok - $name: timed out after ${TEST_TIMEOUT}s" >>"$log"
  elif [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$log"; then
    echo "not ok - $name: exited $rc" >>"$log"
  elif ! grep -q '^ok - \|^not ok - ' "$log"; then
    echo "not ok - $name: reported no result" >>"$log"
  fi
  sweep "$name" "$tdir" >>"$log"
  mib=$(du -sm "$tdir" 2>/dev/null | cut -f1)
  if ! grep -q '^not ok - ' "$log"; then
    rm -rf "$tdir"
    mib="$mib MiB (removed)"
    uses_s3 "$2" && s3_empty_bucket "$log"
  else
    mib="$mib MiB (kept)"
  fi
  {
    flock 9
    echo "# ---- $name (lane $lane)"
    cat "$log"
    echo "# $name: $(secs_since "$t0")s (exit $rc); work dir $mib; $(free_mib "$WORK") MiB free"
  } 9>"$WORK/logs/.print.lock"
}

