#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR [SECONDS]: runs every libFuzzer target in
# BUILD_DIR (fuzz_*) for SECONDS (default 20) each, STRATA_FUZZ_JOBS (default
# the number of cores) at a time, from its seed corpus
# tests/fuzz/corpus/<target>/ (read only: new inputs go to a scratch
# directory). One line per target, "ok - fuzz <target>: N runs" or
# "not ok - fuzz <target>: <why>" with the crashing input kept and shown.
set -u
BUILD=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
SECS=${2:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/strata-fuzz.XXXXXX)
failed=0
shopt -s nullglob
targets=("$BUILD"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "not ok - fuzz: no targets in $BUILD (make fuzz-build)"
  exit 1
fi
# run_target BIN: one target; its result line (and any crash excerpt) in
# WORK/NAME/result, its exit status 0 (clean) or 1.
run_target() {
  local bin=$1 name seeds rc runs crash
  name=$(basename "$bin")
  seeds=$HERE/corpus/$name
  mkdir -p "$WORK/$name/new" "$WORK/$name/crash"
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "not ok - fuzz $name: no seed corpus in $seeds" >"$WORK/$name/result"
    return 1
  fi
  # -rss_limit_mb: an input that makes a parser allocate without bound is a
  # failure too (strata must bound what it reads).
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$WORK/$name/crash/" "$WORK/$name/new" "$seeds" >"$WORK/$name/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$name/log" | tail -n 1)
  crash=$(ls "$WORK/$name/crash" | head -n 1)
  if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
    echo "ok - fuzz $name: ${runs:-?} runs in ${SECS}s, no crash" >"$WORK/$name/result"
    return 0
  fi
  { echo "not ok - fuzz $name: exit $rc${crash:+, input kept in $WORK/$name/crash/$crash}"
    grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$WORK/$name/log" | head -n 20 | sed 's/^/#   | /'
  } >"$WORK/$name/result"
  return 1
}

# Targets run JOBS at a time (one per core by default): each is single
# threaded, and the suite's wall time is what CI pays for.
JOBS=${STRATA_FUZZ_JOBS:-$(nproc)}
for bin in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  run_target "$bin" &
done
wait
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  [ -f "$WORK/$name/result" ] || echo "not ok - fuzz $name: ended without a result" >"$WORK/$name/result"
  cat "$WORK/$name/result"
  case $(head -n 1 "$WORK/$name/result") in ok*) ;; *) failed=$((failed + 1)) ;; esac
done
if [ "$failed" -eq 0 ]; then rm -rf "$WORK"; else echo "# fuzz work dir kept: $WORK"; fi
[ "$failed" -eq 0 ]
