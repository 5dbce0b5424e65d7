#!/usr/bin/env bash
# scripts/cluster.sh: a throw-away sharded PostgreSQL 15 cluster on this host,
# the shape strata protects (DESIGN §1), for tests, the demo and experiments.
#
#   cluster.sh create DIR [--shards N] [--base-port P] [--name NAME] [--strata BIN]
#                         [--pool POOL] [--wal-segsize MB] [--set KEY=VALUE]...
#   cluster.sh destroy DIR
#
# create builds under DIR (which must not exist or be empty):
#   metadata cluster  meta-1 (primary, database "strata"), meta-2, meta-3 (standbys)
#   shard k (1..N)    shardK-1 (primary, database "bank"), shardK-2, shardK-3
#   compute-1         database "bank": public.accounts partitioned by range of
#                     id, partition k-1 a postgres_fdw foreign table on shard k's
#                     public.accounts, ids [(k-1)*1000000, k*1000000)
# Ports: meta P..P+2, compute P+3, shard k P+10k..P+10k+2 (default P = 26100).
# Every instance listens on 127.0.0.1 and on a unix socket in DIR/sock, trusts
# local connections, and has data checksums. With --pool, primaries archive
# with archive_command 'BIN wal-push --pool POOL --node NAME/SET %p', SET being
# the replica set (meta, shardK), not the instance: the archive of a replica
# set must survive a failover, and its members share one system identifier.
# The pool is created (strata pool-init) if it does not exist yet.
# Then DIR/topology.json is written and registered (strata cluster register);
# DIR/cluster.env holds shell variables describing the cluster (META_CONN, ...).
# fsync is off (throw-away clusters); --set fsync=on turns it back on. --set
# lines are appended to every instance's postgresql.conf (later ones win).
#
# destroy stops the instances of DIR only, by pid (postmaster.pid and the pids
# recorded in DIR/pids, each checked to be a postgres of DIR): SIGINT (fast
# shutdown), SIGKILL after PG_STOP_TIMEOUT seconds (default 30); then removes DIR.
#
# Run as an unprivileged user (PostgreSQL refuses root), e.g.
#   runuser -u strata -- scripts/cluster.sh create /tmp/c1 --strata /tmp/bin/strata
set -u

PG_STOP_TIMEOUT=${PG_STOP_TIMEOUT:-30}

die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "# cluster.sh: $*" >&2; }
usage() {
  sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

pg_bindir() {
  local d
  for d in "${PG_BIN:-}" /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null)"; do
    if [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

port_in_use() {   # PORT: does something listen on 127.0.0.1:PORT?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---- stopping, by pid only --------------------------------------------------

# Is PID a live postgres whose command line names a data directory under DIR?
is_our_postgres() {   # PID DIR
  local pid=$1 dir=$2 cmd
  [ -r "/proc/$pid/cmdline" ] || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  [ "$(stat -c %u "/proc/$pid")" = "$(id -u)" ] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  case $cmd in *postgres*"$dir/"*) return 0 ;; esac
  return 1
}

cluster_pids() {   # DIR: postmaster pids of the cluster's instances, deduplicated
  local dir=$1 f pid
  {
    for f in "$dir"/*/data/postmaster.pid; do
      [ -f "$f" ] && head -n 1 "$f"
    done
    [ -f "$dir/pids" ] && awk '{print $2}' "$dir/pids"
  } | sort -u | while read -r pid; do
    [ -n "$pid" ] && is_our_postgres "$pid" "$dir" && echo "$pid"
  done
}

stop_cluster() {   # DIR
  local dir=$1 pids p i alive kids
  pids=$(cluster_pids "$dir" | paste -sd' ')
  [ -n "$pids" ] || return 0
  for p in $pids; do kill -INT "$p" 2>/dev/null; done
  for ((i = 0; i < PG_STOP_TIMEOUT * 5; i++)); do
    alive=
    for p in $pids; do is_our_postgres "$p" "$dir" && alive="$alive $p"; done
    [ -z "$alive" ] && return 0
    sleep 0.2
  done
  say "instances did not stop within ${PG_STOP_TIMEOUT}s: SIGKILL to$alive"
  for p in $alive; do
    # the postmaster's children would notice its death only later
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null | paste -sd' ')
    kill -KILL "$p" $kids 2>/dev/null
  done
  sleep 0.5
}

cmd_destroy() {
  [ "$#" -eq 1 ] || usage
  local dir=$1
  [ -d "$dir" ] || die "destroy: $dir does not exist"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/.strata-cluster" ] || die "destroy: $dir was not made by cluster.sh create (no .strata-cluster): not touching it"
  stop_cluster "$dir"
  local left
  left=$(cluster_pids "$dir" | paste -sd' ')
  [ -z "$left" ] || die "destroy: postgres processes of $dir still running: $left"
  rm -rf "$dir"
  say "destroyed $dir"
}

# ---- create ------------------------------------------------------------------

psql_at() {   # PORT DB SQL
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/sock" -p "$1" -d "$2" -At -c "$3"
}

write_conf() {   # DATADIR PORT
  local conf=$1/postgresql.conf
  {
    echo ""
    echo "# ---- cluster.sh"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $2"
    echo "unix_socket_directories = '$DIR/sock'"
    echo "shared_buffers = 16MB"
    echo "max_connections = 40"
    echo "max_prepared_transactions = 64"
    echo "fsync = off"
    echo "wal_level = replica"
    echo "max_wal_senders = 10"
    echo "wal_keep_size = 128MB"
    echo "hot_standby = on"
    echo "log_line_prefix = '%m [%p] %q%a '"
    echo "log_min_messages = warning"
    echo "dynamic_shared_memory_type = posix"
    if [ -n "$POOL" ]; then
      echo "archive_mode = on"
      echo "archive_command = '$STRATA wal-push --pool $POOL --node $NAME/$3 %p'"
      # A consistency point is restorable once the segment holding it is
      # archived: archive_timeout bounds that lag on a quiet primary.
      echo "archive_timeout = 5"
    fi
    local kv
    for kv in "${SETS[@]}"; do
      echo "${kv%%=*} = ${kv#*=}"
    done
  } >>"$conf"
}

start_instance() {   # NODE
  local node=$1 data=$DIR/$1/data
  if ! "$PGBIN/pg_ctl" -D "$data" -l "$DIR/$node/postgres.log" -w -t 60 start >"$DIR/$node/pg_ctl.log" 2>&1; then
    echo "cluster.sh: $node did not start; $DIR/$node/postgres.log says:" >&2
    tail -n 20 "$DIR/$node/postgres.log" >&2
    return 1
  fi
  echo "$node $(head -n 1 "$data/postmaster.pid") $data" >>"$DIR/pids"
}

new_primary() {   # NODE PORT SET DB
  local node=$1 port=$2 set=$3 db=$4
  mkdir -p "$DIR/$node"
  # -N: no fsync of the new files, this is a throw-away cluster
  if ! "$PGBIN/initdb" -D "$DIR/$node/data" --data-checksums -A trust -E UTF8 --no-locale -N \
    ${WALSEG:+--wal-segsize=$WALSEG} >"$DIR/$node/initdb.log" 2>&1; then
    echo "cluster.sh: initdb of $node failed:" >&2
    tail -n 20 "$DIR/$node/initdb.log" >&2
    return 1
  fi
  write_conf "$DIR/$node/data" "$port" "$set" || return 1
  start_instance "$node" || return 1
  psql_at "$port" postgres "CREATE DATABASE $db" || { echo "cluster.sh: CREATE DATABASE $db on $node failed" >&2; return 1; }
}

new_standby() {   # NODE PORT PRIMARY_NODE PRIMARY_PORT
  local node=$1 port=$2 primary=$3 pport=$4
  mkdir -p "$DIR/$node"
  if ! "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -D "$DIR/$node/data" -R -X stream -c fast -N \
    >"$DIR/$node/basebackup.log" 2>&1; then
    echo "cluster.sh: pg_basebackup of $node from $primary failed:" >&2
    tail -n 20 "$DIR/$node/basebackup.log" >&2
    return 1
  fi
  # the copied postgresql.conf names the primary's port: the last line wins
  echo "port = $port" >>"$DIR/$node/data/postgresql.conf"
  start_instance "$node"
}

wait_streaming() {   # PRIMARY_PORT COUNT NAME
  local i n
  for ((i = 0; i < 300; i++)); do
    n=$(psql_at "$1" postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)
    [ "${n:-0}" -ge "$2" ] && return 0
    sleep 0.2
  done
  echo "cluster.sh: $3: only ${n:-0} of $2 standbys streaming after 60s" >&2
  return 1
}

# One replica set: primary, two standbys, streaming.
build_set() {   # SET PORT DB NODE_PREFIX
  local set=$1 port=$2 db=$3 prefix=$4
  new_primary "$prefix-1" "$port" "$set" "$db" || return 1
  new_standby "$prefix-2" $((port + 1)) "$prefix-1" "$port" || return 1
  new_standby "$prefix-3" $((port + 2)) "$prefix-1" "$port" || return 1
  wait_streaming "$port" 2 "$set"
}

build_compute() {   # PORT
  local port=$1 k sql
  mkdir -p "$DIR/compute-1"
  if ! "$PGBIN/initdb" -D "$DIR/compute-1/data" --data-checksums -A trust -E UTF8 --no-locale -N \
    >"$DIR/compute-1/initdb.log" 2>&1; then
    echo "cluster.sh: initdb of compute-1 failed" >&2
    return 1
  fi
  # a compute node is stateless: never archived, no 2PC of its own
  local savepool=$POOL
  POOL=
  write_conf "$DIR/compute-1/data" "$port" compute
  POOL=$savepool
  start_instance compute-1 || return 1
  psql_at "$port" postgres "CREATE DATABASE bank" || return 1
  sql="CREATE EXTENSION postgres_fdw;
CREATE TABLE public.accounts (id bigint NOT NULL, balance bigint NOT NULL) PARTITION BY RANGE (id);"
  for ((k = 1; k <= SHARDS; k++)); do
    sql="$sql
CREATE SERVER shard$k FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$((BASE + 10 * k))', dbname 'bank');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$k;
CREATE FOREIGN TABLE public.accounts_shard$k PARTITION OF public.accounts
  FOR VALUES FROM ($(((k - 1) * 1000000))) TO ($((k * 1000000))) SERVER shard$k OPTIONS (schema_name 'public', table_name 'accounts');"
  done
  psql_at "$port" bank "$sql" || { echo "cluster.sh: postgres_fdw setup on compute-1 failed" >&2; return 1; }
}

node_json() {   # NODE PORT ROLE
  printf '{"name": "%s", "host": "127.0.0.1", "port": %d, "role": "%s", "data_dir": "%s"}' \
    "$1" "$2" "$3" "$DIR/$1/data"
}

set_json() {   # PREFIX PORT
  printf '[%s, %s, %s]' "$(node_json "$1-1" "$2" primary)" "$(node_json "$1-2" $(($2 + 1)) standby)" \
    "$(node_json "$1-3" $(($2 + 2)) standby)"
}

write_topology() {
  local k shards=""
  for ((k = 1; k <= SHARDS; k++)); do
    [ -n "$shards" ] && shards="$shards,"
    shards="$shards
    {\"name\": \"shard$k\", \"nodes\": $(set_json "shard$k" $((BASE + 10 * k)))}"
  done
  cat >"$DIR/topology.json" <<EOF
{
  "name": "$NAME",
  "database": "bank",
  "meta_database": "strata",
  "meta": $(set_json meta "$BASE"),
  "shards": [$shards
  ],
  "compute": [$(node_json compute-1 $((BASE + 3)) compute)]
}
EOF
}

CREATE_FAILED_CLEANUP=1
on_create_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$CREATE_FAILED_CLEANUP" = 1 ] && [ -f "$DIR/.strata-cluster" ]; then
    say "create failed: stopping what was started and removing $DIR (logs are gone; use --keep-on-error to keep them)"
    stop_cluster "$DIR"
    rm -rf "$DIR"
  elif [ "$rc" -ne 0 ] && [ -f "$DIR/.strata-cluster" ]; then
    say "create failed: $DIR kept (--keep-on-error); cluster.sh destroy $DIR stops it"
  fi
  exit "$rc"
}

cmd_create() {
  [ "$#" -ge 1 ] || usage
  DIR=$1
  shift
  SHARDS=2 BASE=26100 NAME=c1 STRATA='' POOL='' WALSEG='' SETS=()
  while [ "$#" -gt 0 ]; do
    case $1 in
      --shards) SHARDS=${2:?--shards needs a value}; shift 2 ;;
      --base-port) BASE=${2:?--base-port needs a value}; shift 2 ;;
      --name) NAME=${2:?--name needs a value}; shift 2 ;;
      --strata) STRATA=${2:?--strata needs a value}; shift 2 ;;
      --pool) POOL=${2:?--pool needs a value}; shift 2 ;;
      --wal-segsize) WALSEG=${2:?--wal-segsize needs a value}; shift 2 ;;
      --set) case ${2:-} in *=*) SETS+=("$2") ;; *) die "--set needs KEY=VALUE" ;; esac; shift 2 ;;
      --keep-on-error) CREATE_FAILED_CLEANUP=0; shift ;;
      -h|--help) usage ;;
      *) echo "cluster.sh: unknown option $1" >&2; usage ;;
    esac
  done
  case $SHARDS in ''|*[!0-9]*) die "--shards '$SHARDS' is not a number" ;; esac
  [ "$SHARDS" -ge 1 ] && [ "$SHARDS" -le 50 ] || die "--shards $SHARDS: 1 to 50"
  case $BASE in ''|*[!0-9]*) die "--base-port '$BASE' is not a number" ;; esac
  [ "$BASE" -ge 1024 ] && [ $((BASE + 10 * SHARDS + 2)) -le 65535 ] || die "--base-port $BASE: ports out of range"
  case $NAME in ''|*[!A-Za-z0-9_.-]*|[.-]*) die "--name '$NAME': letters, digits, _ - . only" ;; esac
  [ "$(id -u)" -ne 0 ] || die "PostgreSQL refuses to run as root: run as an unprivileged user (runuser -u strata -- $0 ...)"
  PGBIN=$(pg_bindir) || die "PostgreSQL 15 binaries not found (set PG_BIN)"
  if [ -z "$STRATA" ]; then
    local here
    here=$(cd "$(dirname "$0")/.." && pwd)
    if [ -x "$here/build/strata" ]; then STRATA=$here/build/strata
    else STRATA=$(command -v strata) || die "no strata binary: give --strata BIN"; fi
  fi
  [ -x "$STRATA" ] || die "--strata $STRATA is not an executable"
  STRATA=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    die "$DIR exists and is not empty"
  fi
  mkdir -p "$DIR" || die "cannot create $DIR"
  DIR=$(cd "$DIR" && pwd)
  case $DIR in *[[:space:]\'\"\\]*) die "$DIR: no spaces or quotes in the directory, please" ;; esac
  local ports=() p k
  for p in 0 1 2 3; do ports+=($((BASE + p))); done
  for ((k = 1; k <= SHARDS; k++)); do for p in 0 1 2; do ports+=($((BASE + 10 * k + p))); done; done
  for p in "${ports[@]}"; do port_in_use "$p" && die "port $p on 127.0.0.1 is in use (choose --base-port)"; done
  case $POOL in
    s3://*)   # an S3 pool (docs/cli.md): its STRATA_S3_* environment is the instances' too
      case $POOL in *[[:space:]\'\"\\\&\;\?]*) die "--pool $POOL: no spaces, quotes or URL options, please (use STRATA_S3_*)" ;; esac
      if ! "$STRATA" info --pool "$POOL" --quiet >/dev/null 2>&1; then
        "$STRATA" pool-init --pool "$POOL" --quiet || die "strata pool-init --pool $POOL failed"
      fi ;;
    ?*)
      mkdir -p "$(dirname "$POOL")"
      POOL=$(cd "$(dirname "$POOL")" && pwd)/$(basename "$POOL")
      case $POOL in *[[:space:]\'\"\\]*) die "--pool $POOL: no spaces or quotes, please" ;; esac
      if [ ! -f "$POOL/strata-pool.json" ]; then
        "$STRATA" pool-init --pool "$POOL" --quiet || die "strata pool-init --pool $POOL failed"
      fi ;;
  esac

  echo "$NAME" >"$DIR/.strata-cluster"
  : >"$DIR/pids"
  mkdir -p "$DIR/sock" && chmod 700 "$DIR/sock"
  trap on_create_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local t0=$SECONDS
  say "creating cluster $NAME in $DIR: metadata + $SHARDS shard(s) x 3 instances + 1 compute node, ports from $BASE"

  # Replica sets are independent: build them side by side.
  local jobs=() names=() j rc=0
  build_set meta "$BASE" strata meta & jobs+=($!); names+=(meta)
  for ((k = 1; k <= SHARDS; k++)); do
    build_set "shard$k" $((BASE + 10 * k)) bank "shard$k" & jobs+=($!); names+=("shard$k")
  done
  build_compute $((BASE + 3)) & jobs+=($!); names+=(compute)
  for j in "${!jobs[@]}"; do
    wait "${jobs[$j]}" || { echo "cluster.sh: building ${names[$j]} failed" >&2; rc=1; }
  done
  [ "$rc" -eq 0 ] || exit 1

  write_topology
  local meta_conn="host=127.0.0.1 port=$BASE dbname=strata"
  "$STRATA" cluster register --meta-conn "$meta_conn" --topology "$DIR/topology.json" --quiet ||
    die "strata cluster register failed"
  cat >"$DIR/cluster.env" <<EOF
CLUSTER_NAME=$NAME
CLUSTER_DIR=$DIR
CLUSTER_SHARDS=$SHARDS
META_CONN='$meta_conn'
META_PORT=$BASE
COMPUTE_PORT=$((BASE + 3))
SOCK_DIR=$DIR/sock
POOL=$POOL
PG_BIN=$PGBIN
EOF
  trap - EXIT INT TERM
  say "cluster $NAME ready in $((SECONDS - t0))s; meta-conn: $meta_conn; compute: port $((BASE + 3)) db bank"
  echo "$meta_conn"
}

case ${1:-} in
  create) shift; cmd_create "$@" ;;
  destroy) shift; cmd_destroy "$@" ;;
  *) usage ;;
esac
