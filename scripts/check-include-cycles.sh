#!/usr/bin/env bash
# scripts/check-include-cycles.sh [SRC_DIR]: the folders of src/ must form a
# layering: a folder may include another folder's headers only if that one
# never includes (directly or through others) a header of the first.
# The graph: an edge A -> B for every `#include "B/x.h"` in a file of src/A/.
# Prints each cycle (the folders of one strongly connected group and, for each
# edge inside it, one include line that makes it) and exits 1; exits 0 and
# prints "no include cycle between N folders" when there is none.
#
# --self-test: runs the check on two made-up trees, one with a cycle
# between three folders and one without, and fails unless it tells them
# apart (so that a check that cannot fail does not pass unnoticed).
set -u
if [ "${1:-}" = --self-test ]; then
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/src/low" "$t/src/mid" "$t/src/top"
  printf '#include "low/a.h"\n' >"$t/src/mid/b.h"
  printf '#include "mid/b.h"\n#include "low/a.h"\n' >"$t/src/top/c.c"
  printf '#include <stdio.h>\n' >"$t/src/low/a.h"
  if ! out=$(bash "$0" "$t/src"); then
    echo "self-test: a layered tree was reported: $out"
    exit 1
  fi
  printf '#include "top/c.h"\n' >"$t/src/low/a.c"
  out=$(bash "$0" "$t/src")
  rc=$?
  if [ "$rc" != 1 ] || ! printf '%s\n' "$out" | grep -q '^include cycle between folders {low, mid, top}:' ||
    ! printf '%s\n' "$out" | grep -q 'low -> top  (low/a.c:1)'; then
    echo "self-test: the cycle low -> top -> mid -> low was not reported as such (exit $rc): $out"
    exit 1
  fi
  echo "self-test: a cycle of three folders is found and named, a layered tree passes"
  exit 0
fi
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
[ -d "$SRC" ] || { echo "check-include-cycles: no directory $SRC" >&2; exit 2; }
cd "$SRC" || exit 2

# "FROM TO FILE:LINE" for every include of another folder's header
edges=$(grep -nH -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[A-Za-z0-9_]+/[^"]+"' -- */*.c */*.h 2>/dev/null |
  sed -E 's|^([^/]+)/([^:]+):([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]+"([^/]+)/.*$|\1 \4 \1/\2:\3|' |
  awk '$1 != $2')
folders=$(find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./||' | sort)

printf '%s\n' "$edges" | awk -v folders="$folders" '
  BEGIN { n = split(folders, name, "\n"); for (i = 1; i <= n; i++) idx[name[i]] = i }
  NF == 3 && ($1 in idx) && ($2 in idx) {
    a = idx[$1]; b = idx[$2]
    if (!((a, b) in reach)) where[a, b] = $3
    reach[a, b] = 1; edge[a, b] = 1
  }
  END {
    for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if ((i, k) in reach)
      for (j = 1; j <= n; j++) if ((k, j) in reach) reach[i, j] = 1
    cycles = 0
    for (i = 1; i <= n; i++) {
      if (done[i] || !((i, i) in reach)) continue
      group = name[i]; members[1] = i; m = 1; done[i] = 1
      for (j = i + 1; j <= n; j++)
        if (!done[j] && ((i, j) in reach) && ((j, i) in reach)) { group = group ", " name[j]; members[++m] = j; done[j] = 1 }
      cycles++
      printf "include cycle between folders {%s}:\n", group
      for (x = 1; x <= m; x++) for (y = 1; y <= m; y++)
        if ((members[x], members[y]) in edge)
          printf "  %s -> %s  (%s)\n", name[members[x]], name[members[y]], where[members[x], members[y]]
    }
    if (cycles) exit 1
    printf "no include cycle between %d folders\n", n
  }'
