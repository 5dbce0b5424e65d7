# shellcheck shell=bash
# Common helpers of the cluster tests (tests/cluster/t_*.sh): TAP lines,
# stopping processes by pid, free port blocks, psql and JSON one-liners.
# Sourced after the test has set WORK (and DIR for psql over the socket).

FAILED=0

# STRATA_TEST_POOL=s3: the test's pool is a prefix in the S3 store instead
# of $WORK/pool (tests/s3-lib.sh; tests/run.sh starts the store and removes
# it, with everything in it, at the end)
# shellcheck source=../pool-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../pool-lib.sh"
if [ "${STRATA_TEST_POOL:-dir}" = s3 ]; then
  s3_pool_setup "$WORK" "$(basename "$0" .sh)"
fi
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; FAILED=1; }

# a zombie waiting for its (reparented) parent to reap it runs no more
alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Stops, by pid, every postgres whose postmaster.pid is under DIR (restored
# clusters: DIR/<set>/<node>/postmaster.pid): SIGINT, then SIGKILL after 30 s.
stop_under() {   # DIR
  local f pid pids="" i left kids
  [ -d "$1" ] || return 0
  while read -r f; do
    pid=$(head -n 1 "$f" 2>/dev/null)
    [ -n "$pid" ] && alive "$pid" && pids="$pids $pid"
  done < <(find "$1" -maxdepth 4 -name postmaster.pid 2>/dev/null)
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -INT "$pid" 2>/dev/null; done
  for ((i = 0; i < 150; i++)); do
    left=""
    for pid in $pids; do alive "$pid" && left="$left $pid"; done
    [ -z "$left" ] && return 0
    sleep 0.2
  done
  for pid in $left; do
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | paste -sd' ')
    # shellcheck disable=SC2086
    kill -KILL "$pid" $kids 2>/dev/null
  done
  sleep 0.5
}

# pids of live processes whose command line names a path under DIR
procs_under() {   # DIR
  local p left=""
  for p in /proc/[0-9]*; do
    case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in *"$1/"*) alive "${p#/proc/}" && left="$left ${p#/proc/}" ;; esac
  done
  echo "$left"
}

# A port is free when no TCP socket uses it: listeners, and clients whose
# ephemeral port it is (PostgreSQL's bind() fails on either). TIME_WAIT
# left by a stopped server does not count: PostgreSQL binds with
# SO_REUSEADDR.
port_free() {   # PORT
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
# The first base in [FROM, TO) (steps of STEP) whose offsets are all free.
pick_base() {   # FROM TO STEP OFFSET...
  local from=$1 to=$2 step=$3 b p free
  shift 3
  for ((b = from; b + step <= to; b += step)); do
    free=1
    for p in "$@"; do port_free $((b + p)) || { free=0; break; }; done
    [ "$free" = 1 ] && { echo "$b"; return 0; }
  done
  return 1
}
seq_offsets() { seq 0 $(($1 - 1)); }   # N: 0..N-1

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# psql on loopback (PSQL_HOST: a socket directory instead)
psql_at() { "$PGBIN/psql" -X -q -h "${PSQL_HOST:-127.0.0.1}" -p "$1" -d "$2" -At -v ON_ERROR_STOP=1 -c "$3"; }

jget() {   # FILE DOTTED.PATH: a value from a JSON file ('' if absent)
  python3 - "$1" "$2" <<'PYEOF' 2>/dev/null
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split('.'):
        d = d[int(k)] if isinstance(d, list) else d[k]
    print(d)
except Exception:
    pass
PYEOF
}
short() { tr '\n' ' ' <"$1" | cut -c1-600; }   # FILE: on one line, cut
