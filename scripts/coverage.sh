#!/usr/bin/env bash
# scripts/coverage.sh COV_BUILD [PATTERN...]: run by `make coverage` after it
# built COV_BUILD/asan/strata and COV_BUILD/asan/unit/test_* with --coverage.
# Runs tests/run.sh over them (PATTERNs as for run.sh: none runs every
# integration test), then prints line coverage per folder of src/ and overall.
#
# Where the counts go: the unit tests run as the invoking user and write
# their .gcda files next to the objects. The integration tests run (as root)
# as the user `strata`, who may not write into the build tree: their
# processes write under GCOV_PREFIX (a directory of their own), and those
# counts are merged into the build tree's afterwards (gcov-tool merge).
# The tests' verdict is printed but does not stop the report; the exit
# status is run.sh's.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 1
if [ "$#" -lt 1 ]; then
  echo "usage: scripts/coverage.sh COV_BUILD [PATTERN...]" >&2
  exit 2
fi
COV=$(cd "$1" && pwd) || { echo "coverage: no build directory $1" >&2; exit 1; }
shift
OBJ=$COV/asan/obj
if [ ! -x "$COV/asan/strata" ] || [ ! -d "$OBJ" ]; then
  echo "coverage: no instrumented build in $COV (make coverage builds it)" >&2
  exit 1
fi
for tool in gcovr gcov-tool; do
  command -v "$tool" >/dev/null || { echo "coverage: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

# Counts of an earlier run would add up with this one's.
find "$COV" -name '*.gcda' -delete

PREFIX_DIR=$(mktemp -d /tmp/strata-gcov.XXXXXX)
trap 'rm -rf "$PREFIX_DIR"' EXIT
chmod 755 "$PREFIX_DIR"
if [ "$(id -u)" -eq 0 ] && id strata >/dev/null 2>&1; then
  chown strata: "$PREFIX_DIR"
fi

STRATA_TEST_BIN=$COV/asan/strata STRATA_TEST_UNIT_DIR=$COV/asan/unit \
  STRATA_TEST_GCOV_PREFIX=$PREFIX_DIR bash tests/run.sh "$@"
rc=$?

# The integration tests' counts: GCOV_PREFIX + the object's absolute path.
if [ -d "$PREFIX_DIR$OBJ" ]; then
  if ! gcov-tool merge -o "$OBJ" "$PREFIX_DIR$OBJ" "$OBJ" >/dev/null 2>"$PREFIX_DIR/merge.err"; then
    # merge needs both sides; with no unit counts the integration ones are all there is
    if find "$OBJ" -name '*.gcda' | grep -q .; then
      echo "coverage: gcov-tool merge failed:" >&2
      cat "$PREFIX_DIR/merge.err" >&2
      exit 1
    fi
    (cd "$PREFIX_DIR$OBJ" && find . -name '*.gcda' -exec cp --parents {} "$OBJ/" \;)
  fi
fi

# gcovr's per-file table (name, lines, executed, percent, missing), summed
# per folder of src/.
gcovr --root "$REPO" --object-directory "$OBJ" --filter 'src/' --exclude 'build/' \
  --txt "$COV/coverage.txt" "$OBJ" >/dev/null || { echo "coverage: gcovr failed" >&2; exit 1; }
echo
echo "# line coverage per folder of src/ (files: $COV/coverage.txt)"
awk '
  $1 ~ /^src\// && NF >= 4 && $2 ~ /^[0-9]+$/ {
    n = split($1, p, "/"); dir = (n > 2) ? p[2] : p[n]
    lines[dir] += $2; hit[dir] += $3; all += $2; allhit += $3
  }
  END {
    printf "%-14s %7s %7s %6s\n", "folder", "lines", "run", "cover"
    for (d in lines) printf "%-14s %7d %7d %5.1f%%\n", d, lines[d], hit[d], lines[d] ? 100 * hit[d] / lines[d] : 0 | "sort"
    close("sort")
    printf "%-14s %7d %7d %5.1f%%\n", "TOTAL", all, allhit, all ? 100 * allhit / all : 0
  }' "$COV/coverage.txt"
exit "$rc"
