# shellcheck shell=bash
# Common helpers of the manager tests (tests/manager/t_*.sh), on top of the
# cluster tests' (TAP lines, alive, port_free, pick_base, ...): stopping a
# daemon by pid, free ports, waiting for an HTTP server, calling the APIs.
# Sourced after the test has set WORK.

# shellcheck source=../cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

# SIGTERM the pid held in the variable VAR, SIGKILL after 90 s; the
# variable is emptied, STOP_RC is the daemon's exit status.
stop_pid() {   # VAR
  local pid=${!1} i
  STOP_RC=
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 900; i++)); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  STOP_RC=$?
  printf -v "$1" '%s' ""
}

# The base of a free block for a 1-shard cluster from scripts/cluster.sh
# (meta P..P+2, compute P+3, shard1 P+10..P+12), in [FROM, TO).
pick_cluster_base() {   # FROM TO
  pick_base "$1" "$2" 20 0 1 2 3 10 11 12
}
pick_port() {   # FROM [N]: the first free port of FROM..FROM+N-1 (N: 50)
  local p
  for ((p = $1; p < $1 + ${2:-50}; p++)); do port_free "$p" && { echo "$p"; return 0; }; done
  return 1
}

wait_http() {   # URL PID: until URL answers (any status) while PID lives, 30 s at most
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ] && return 0
    alive "$2" || return 1
    sleep 0.1
  done
  return 1
}

# call BASEURL TOKEN METHOD PATH [BODY]: sets CODE and BODY
call() {
  local data=()
  [ "$#" -ge 5 ] && data=(--data-binary "$5" -H 'Content-Type: application/json')
  CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X "$3" -H "Authorization: Bearer $2" "${data[@]}" "$1$4")
  BODY=$(cat "$WORK/resp")
}
jf() { echo "$BODY" | jq -r "$1" 2>/dev/null; }   # FILTER on BODY

# Polls the job through the test's own `cm` (a call to its cluster manager).
wait_job() {   # ID SECONDS: until the job is no longer queued/running; sets STATE, BODY
  local end=$((SECONDS + $2))
  STATE=
  while [ $SECONDS -lt $end ]; do
    cm GET "/api/v1/jobs/$1"
    STATE=$(jf .state)
    case $STATE in succeeded | failed | cancelled) return 0 ;; esac
    sleep 0.5
  done
  return 1
}
