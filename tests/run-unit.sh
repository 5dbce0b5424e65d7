#!/usr/bin/env bash
# run-unit.sh BIN...: runs each C unit test binary (plain programs that exit
# 0 on success and print their own lines); one "ok - unit NAME" or
# "not ok - unit NAME: ..." line each; exit 1 if any failed.
set -u
pass=0 failed=0
if [ "$#" -eq 0 ]; then
  echo "# run-unit: no unit test binaries"
  exit 0
fi
for bin in "$@"; do
  name=$(basename "$bin")
  if [ ! -x "$bin" ]; then
    echo "not ok - unit $name: $bin is not an executable"
    failed=$((failed + 1)); continue
  fi
  out=$(mktemp)
  start=$(date +%s.%N)
  timeout -k 10 300 "$bin" >"$out" 2>&1
  rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  # the binary's own lines, indented so that they do not count as results
  sed 's/^/#   /' "$out"
  rm -f "$out"
  if [ "$rc" -eq 0 ]; then
    echo "ok - unit $name (${secs}s)"
    pass=$((pass + 1))
  else
    case $rc in
      124) why="timed out after 300s" ;;
      *) why="exit status $rc" ;;
    esac
    echo "not ok - unit $name: $why"
    failed=$((failed + 1))
  fi
done
echo "# unit: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
