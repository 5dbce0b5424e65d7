# shellcheck shell=bash
# pg-lib.sh: helpers to run throw-away PostgreSQL 15 instances for strata's
# tests, demo and benchmark. Source it; it defines functions and a few
# globals and changes no shell option of the caller.
#
#   pg_lib_init WORKDIR     where instances live (WORKDIR/NAME/{data,postgres.log}),
#                           the shared socket dir (WORKDIR/sock) and the list of
#                           started instances; installs an EXIT trap that stops
#                           them all (pg_lib_on_exit, a caller's hook runs first)
#   pg_new_primary NAME PORT [KEY=VALUE]...   initdb + start, archiving into
#                           $POOL as node ${PG_NODE:-NAME} with $STRATA_BIN
#   pg_new_standby NAME PORT PRIMARY_PORT [KEY=VALUE]...
#   pg_register DIR         adopt an instance started by someone else (strata
#                           restore --start) so that pg_stop_all stops it
#   pg_stop DIR             fast shutdown by pid, SIGKILL after a timeout
#   pg_stop_all             every instance this script started or adopted
#   psql_at PORT SQL [DB]   one SQL string, unaligned tuples-only output
#   wait_for PORT SQL [TIMEOUT]    until SQL returns 't'
#   wait_archived PORT [TIMEOUT]   switch WAL and wait until archived
#   free_port BASE          first free TCP port on 127.0.0.1 >= BASE
#
# Processes are only ever stopped by pid, never by name.

pg_bin() {
  local d
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/postgres" ]; then
    echo "$PG_BIN"; return 0
  fi
  for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null)"; do
    if [ -n "$d" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  echo "pg-lib: PostgreSQL 15 binaries not found" >&2
  return 1
}
PG_BIN=$(pg_bin) || return 1 2>/dev/null || exit 1
export PG_BIN

PG_LIB_WORK=${PG_LIB_WORK:-}
PG_LIB_SOCK=${PG_LIB_SOCK:-}
PG_STOP_TIMEOUT=${PG_STOP_TIMEOUT:-60}
PG_ARCHIVE_TIMEOUT=${PG_ARCHIVE_TIMEOUT:-1}
PG_WAL_SEGSIZE=${PG_WAL_SEGSIZE:-}

_pg_log() { echo "# pg-lib: $*" >&2; }

pg_lib_init() {
  PG_LIB_WORK=$1
  mkdir -p "$PG_LIB_WORK" || return 1
  PG_LIB_WORK=$(cd "$PG_LIB_WORK" && pwd)
  PG_LIB_SOCK=$PG_LIB_WORK/sock
  mkdir -p "$PG_LIB_SOCK"
  chmod 700 "$PG_LIB_SOCK"
  : >>"$PG_LIB_WORK/.pg-instances"
  : >>"$PG_LIB_WORK/.pg-ports"
  : >>"$PG_LIB_WORK/.pg-pids"
  export PG_LIB_WORK PG_LIB_SOCK
  trap 'pg_lib_on_exit' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Runs on EXIT: the caller's pg_lib_cleanup_hook (if defined), other
# background processes registered with bg_register, then every instance,
# then pg_lib_after_stop_hook (if defined: what must wait for the
# instances, such as removing the pool they archive into).
pg_lib_on_exit() {
  local rc=$?
  if declare -F pg_lib_cleanup_hook >/dev/null; then pg_lib_cleanup_hook || true; fi
  bg_stop_all
  pg_stop_all
  if declare -F pg_lib_after_stop_hook >/dev/null; then pg_lib_after_stop_hook || true; fi
  exit "$rc"
}

# ---- ports -----------------------------------------------------------------

_port_in_use() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    # any TCP socket on that local port, not only listeners: a client's
    # ephemeral port makes PostgreSQL's bind() fail just the same (TIME_WAIT
    # does not: PostgreSQL binds with SO_REUSEADDR)
    [ -n "$(ss -Htan exclude time-wait "sport = :$p" 2>/dev/null)" ] && return 0
  fi
  # something answers on it?
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  # a socket file of ours with that port?
  [ -n "$PG_LIB_SOCK" ] && [ -e "$PG_LIB_SOCK/.s.PGSQL.$p" ] && return 0
  return 1
}

free_port() {
  local p=${1:-21000} limit=$(( ${1:-21000} + 200 ))
  while [ "$p" -lt "$limit" ]; do
    if ! { [ -n "$PG_LIB_WORK" ] && grep -qx "$p" "$PG_LIB_WORK/.pg-ports" 2>/dev/null; } \
       && ! _port_in_use "$p"; then
      [ -n "$PG_LIB_WORK" ] && echo "$p" >>"$PG_LIB_WORK/.pg-ports"
      echo "$p"
      return 0
    fi
    p=$((p + 1))
  done
  echo "pg-lib: no free port in [$1, $limit)" >&2
  return 1
}

# ---- instance bookkeeping --------------------------------------------------

pg_datadir() { echo "$PG_LIB_WORK/$1/data"; }

_pm_pid() {   # DIR -> pid in postmaster.pid (empty if none)
  [ -f "$1/postmaster.pid" ] && head -n 1 "$1/postmaster.pid" 2>/dev/null | tr -dc 0-9
}

_pid_is_postgres_of() {   # PID DIR: is PID a live postgres serving DIR?
  local pid=$1 dir=$2 exe
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$exe" in */postgres|*/postgres\ \(deleted\)|*/postmaster) ;; *) return 1 ;; esac
  # its cwd is its data directory
  [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$dir" 2>/dev/null)" ]
}

# pg_register DIR: record DIR (and its postmaster's pid) for pg_stop_all.
pg_register() {
  local dir pid
  dir=$(readlink -f "$1" 2>/dev/null || echo "$1")
  pid=$(_pm_pid "$dir")
  [ -n "$PG_LIB_WORK" ] || return 0
  grep -q "^$dir " "$PG_LIB_WORK/.pg-instances" 2>/dev/null && \
    sed -i "\\|^$dir |d" "$PG_LIB_WORK/.pg-instances"
  echo "$dir ${pid:-0}" >>"$PG_LIB_WORK/.pg-instances"
}

# pg_is_running DIR: a live postmaster serves DIR.
pg_is_running() {
  local dir pid
  dir=$(readlink -f "$1" 2>/dev/null || echo "$1")
  pid=$(_pm_pid "$dir")
  _pid_is_postgres_of "$pid" "$dir"
}

# pg_stop DIR [TIMEOUT]: fast shutdown (SIGINT) by pid, SIGKILL if it does
# not stop in time (the postmaster's children too, by pid).
pg_stop() {
  local dir pid children i timeout=${2:-$PG_STOP_TIMEOUT}
  dir=$(readlink -f "$1" 2>/dev/null || echo "$1")
  pid=$(_pm_pid "$dir")
  if [ -z "$pid" ] && [ -n "$PG_LIB_WORK" ]; then
    pid=$(awk -v d="$dir" '$1==d {print $2}' "$PG_LIB_WORK/.pg-instances" 2>/dev/null | tail -n 1)
  fi
  if ! _pid_is_postgres_of "$pid" "$dir"; then
    return 0
  fi
  kill -INT "$pid" 2>/dev/null
  for ((i = 0; i < timeout * 10; i++)); do
    _pid_is_postgres_of "$pid" "$dir" || return 0
    sleep 0.1
  done
  _pg_log "$dir: postmaster $pid did not stop in ${timeout}s, SIGKILL"
  children=$(pgrep -P "$pid" 2>/dev/null)
  kill -KILL "$pid" 2>/dev/null
  for i in $children; do kill -KILL "$i" 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    [ -d "/proc/$pid" ] || break
    sleep 0.1
  done
  return 0
}

# pg_stop_all: every registered instance, plus any postmaster.pid found
# under the work dir (instances that strata started and nobody registered).
pg_stop_all() {
  local dir pid f
  [ -n "$PG_LIB_WORK" ] || return 0
  if [ -f "$PG_LIB_WORK/.pg-instances" ]; then
    while read -r dir pid; do
      [ -n "$dir" ] && pg_stop "$dir"
    done < <(tac "$PG_LIB_WORK/.pg-instances")
  fi
  while IFS= read -r f; do
    pg_stop "$(dirname "$f")"
  done < <(find "$PG_LIB_WORK" -maxdepth 4 -name postmaster.pid 2>/dev/null)
  return 0
}

# ---- other background processes (pgbench, strata backup) -------------------

# bg_register PID: stop it (SIGTERM, then SIGKILL) at exit if still running.
bg_register() {
  [ -n "$PG_LIB_WORK" ] && echo "$1" >>"$PG_LIB_WORK/.pg-pids"
}

bg_stop() {   # PID: TERM, wait up to 10 s, KILL
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    # a zombie child of ours counts as stopped
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

bg_stop_all() {
  local pid
  [ -n "$PG_LIB_WORK" ] && [ -f "$PG_LIB_WORK/.pg-pids" ] || return 0
  while read -r pid; do bg_stop "$pid"; done <"$PG_LIB_WORK/.pg-pids"
  : >"$PG_LIB_WORK/.pg-pids"
}

# ---- creating instances ----------------------------------------------------

_pg_start() {   # NAME: start the instance in $PG_LIB_WORK/NAME and register it
  local inst=$PG_LIB_WORK/$1 pid
  if ! "$PG_BIN/pg_ctl" -D "$inst/data" -l "$inst/postgres.log" -w -t 120 start >"$inst/pg_ctl.out" 2>&1; then
    _pg_log "$1: pg_ctl start failed:"; sed 's/^/#   /' "$inst/pg_ctl.out" >&2
    tail -n 20 "$inst/postgres.log" 2>/dev/null | sed 's/^/#   /' >&2
    pg_register "$inst/data"
    return 1
  fi
  pg_register "$inst/data"
  pid=$(_pm_pid "$inst/data")
  echo "$pid" >"$inst/postmaster.pid.at-start"
  return 0
}

# pg_new_primary NAME PORT [KEY=VALUE]...
# Needs STRATA_BIN and POOL (archiving into node ${PG_NODE:-NAME}); with
# PG_NO_ARCHIVE=1 archive_mode is off.
pg_new_primary() {
  local name=$1 port=$2 inst kv node=${PG_NODE:-$1}
  shift 2
  [ -n "$PG_LIB_WORK" ] || { _pg_log "pg_lib_init first"; return 1; }
  inst=$PG_LIB_WORK/$name
  mkdir -p "$inst"
  local initdb_args=(-D "$inst/data" --data-checksums --auth=trust --encoding=UTF8 --locale=C --no-sync)
  [ -n "$PG_WAL_SEGSIZE" ] && initdb_args+=(--wal-segsize="$PG_WAL_SEGSIZE")
  if ! "$PG_BIN/initdb" "${initdb_args[@]}" >"$inst/initdb.out" 2>&1; then
    _pg_log "$name: initdb failed"; sed 's/^/#   /' "$inst/initdb.out" >&2; return 1
  fi
  {
    echo
    echo "# --- pg-lib.sh"
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$PG_LIB_SOCK'"
    echo "shared_buffers = 16MB"
    echo "max_connections = 30"
    echo "wal_level = replica"
    echo "max_wal_senders = 10"
    echo "wal_keep_size = 256MB"
    echo "hot_standby = on"
    echo "fsync = off"
    echo "full_page_writes = on"
    echo "timezone = 'UTC'"
    echo "log_timezone = 'UTC'"
    echo "log_line_prefix = '%m [%p] '"
    echo "logging_collector = off"
    if [ "${PG_NO_ARCHIVE:-0}" = 1 ]; then
      echo "archive_mode = off"
    else
      echo "archive_mode = on"
      echo "archive_command = '$STRATA_BIN wal-push --pool $POOL --node $node %p'"
      echo "archive_timeout = $PG_ARCHIVE_TIMEOUT"
    fi
    for kv in "$@"; do echo "$kv"; done
  } >>"$inst/data/postgresql.conf"
  _pg_start "$name"
}

# pg_new_standby NAME PORT PRIMARY_PORT [KEY=VALUE]...
pg_new_standby() {
  local name=$1 port=$2 pport=$3 inst kv
  shift 3
  inst=$PG_LIB_WORK/$name
  mkdir -p "$inst"
  if ! "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -D "$inst/data" -R -X stream \
        -c fast --no-sync >"$inst/basebackup.out" 2>&1; then
    _pg_log "$name: pg_basebackup failed"; sed 's/^/#   /' "$inst/basebackup.out" >&2; return 1
  fi
  {
    echo
    echo "# --- pg-lib.sh standby"
    echo "port = $port"
    for kv in "$@"; do echo "$kv"; done
  } >>"$inst/data/postgresql.conf"
  _pg_start "$name" || return 1
  wait_for "$port" "select status = 'streaming' from pg_stat_wal_receiver" 120 || {
    _pg_log "$name: not streaming"; tail -n 20 "$inst/postgres.log" | sed 's/^/#   /' >&2; return 1; }
}

# ---- SQL -------------------------------------------------------------------

# psql_at PORT SQL [DB]: runs SQL, prints unaligned tuples-only rows.
psql_at() {
  "$PG_BIN/psql" -X -h 127.0.0.1 -p "$1" -d "${3:-postgres}" -Atq -v ON_ERROR_STOP=1 -c "$2"
}

# wait_for PORT SQL [TIMEOUT_SEC]: until SQL prints 't'.
wait_for() {
  local port=$1 sql=$2 timeout=${3:-60} i out
  for ((i = 0; i < timeout * 5; i++)); do
    out=$(psql_at "$port" "$sql" 2>/dev/null)
    [ "$out" = t ] && return 0
    sleep 0.2
  done
  _pg_log "wait_for timed out after ${timeout}s on port $port: $sql (last: $out)"
  return 1
}

# wait_replay STANDBY_PORT PRIMARY_PORT [TIMEOUT]: the standby replayed
# everything the primary had written when this was called.
wait_replay() {
  local lsn
  lsn=$(psql_at "$2" "select pg_current_wal_lsn()") || return 1
  wait_for "$1" "select pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" "${3:-120}"
}

# wait_archived PORT [TIMEOUT]: switch to a new segment and wait until the
# one holding everything written so far has been archived.
wait_archived() {
  local port=$1 timeout=${2:-120} seg
  # pg_switch_wal() returns the end of the segment it completed, or, when
  # nothing was written since the last switch, the start of the current
  # one: either way pg_walfile_name() of it names the last full segment.
  # Archived = no .ready status file left for it or anything before it
  # (pg_stat_archiver.last_archived_wal can name a .backup file instead).
  seg=$(psql_at "$port" "select pg_walfile_name(pg_switch_wal())") || return 1
  wait_for "$port" "select not exists (select 1 from pg_ls_archive_statusdir()
                     where name like '%.ready' and left(name, 24) <= '$seg')" "$timeout"
}
