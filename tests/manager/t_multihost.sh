#!/usr/bin/env bash
# t_multihost: a cluster on several hosts, backed up and restored onto
# other hosts. Hosts are Linux network namespaces (strata-mh-*), each with
# its own address in 198.18.0.0/15 on a veth pair joined by a bridge this
# test makes (the source's hosts in 198.18.10.0/24, the restore's in
# 198.18.20.0/24), its own node manager (its own process, address and data
# directories) and nothing shared with the other hosts but the pool, which
# is S3 (radosgw from tests/run.sh, on loopback, reached through a socat
# relay on the bridge's address: the test's traffic goes to loopback and to
# the test hosts only). Each host is also a mount namespace of its own
# (one per host, held by a process of the test and entered with nsenter):
# private tmpfs over /tmp, /var/tmp, /dev/shm (and over the test's work
# directory when it is not under /tmp), with only the host's own directory
# hosts/hN bind-mounted back, and the strata binary's directory read-only.
# Every process "on" a host (node manager, cluster manager, initdb,
# postgres, pg_basebackup, archive_command) runs in that view: another
# host's directories are not there. Each host has its own copies of the
# tokens and the S3 credentials; sanitizer logs go to hosts/hN/asan and are
# copied to the run's log directory at the end.
#
#   h0 198.18.10.10  the cluster manager
#   h1 198.18.10.11  metadata set (meta-1..3), compute-1, node manager
#   h2 198.18.10.12  shard1 (shard1-1..3), node manager
#   h3 198.18.10.13  shard2 (shard2-1..3), node manager
#   h4..h6 198.18.20.14-.16  node managers offering a data_root and ports: the restore
#
# The source's pg_hba.conf admits 198.18.10.0/24 only: the restored
# primaries (and the standbys copied from them) reach their new hosts'
# replication and FDW connections by the cluster manager's restore_hba
# lines, which a restore puts first in their pg_hba.conf.
#
# Workload (2PC transfers) during a backup job through the node managers of
# h1-h3, then a restore job into a new cluster placed on h4-h6 ("hosts"),
# each node restored/built/initialised by its host's node manager; the new
# cluster passes check-consistency and its compute node (on another host
# than the source's) answers the bank's query as the source did. Failure
# cases: a backup of a cluster with a host that has no node manager, and
# a restore placed on a host without one, both refused naming the host.
# Checked: from a host, the other hosts' directories are neither visible
# nor writable (a write there lands in the host's own tmpfs only).
# Every namespace, veth, bridge and process the test made is removed (trap);
# a mount namespace ends with its last process.
#
# Needs root (ip netns; CI runs the suite as root, tests/run.sh runs this
# test as root and the servers as STRATA_TEST_USER); skipped otherwise.
# STRATA_BIN, STRATA_TEST_WORK, STRATA_S3_* (tests/run.sh sets them).
# Ports: 32000-32999 only.
set -u
PATH=$PATH:/usr/sbin:/sbin
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-multihost.XXXXXX)}
USER_PG=${STRATA_TEST_USER:-strata}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../s3-lib.sh
. "$HERE/../s3-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  ok "t_multihost skipped: network namespaces need root (CI runs tests/run.sh as root)"
  exit 0
fi
for tool in ip socat curl jq runuser setpriv; do
  command -v $tool >/dev/null || { notok "setup" "$tool is not installed"; exit 1; }
done
s3_available || { notok "setup" "no S3 store: STRATA_S3_ENDPOINT, STRATA_S3_CREDENTIALS_FILE and STRATA_TEST_S3_BUCKET must be set (tests/run.sh does)"; exit 1; }
PGBIN=
for d in "${PG_BIN:-}" /usr/lib/postgresql/15/bin; do [ -n "$d" ] && [ -x "$d/initdb" ] && { PGBIN=$d; break; }; done
[ -n "$PGBIN" ] || { notok "setup" "PostgreSQL 15 binaries not found"; exit 1; }

RUN=$(head -c 2 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS=strata-mh-$RUN          # namespaces $NS-h0 .. $NS-h6
BR=mh${RUN}br              # interface names: at most 15 characters
NET=198.18.10              # the source's hosts and the cluster manager
TNET=198.18.20             # the hosts restored onto
GW=$NET.1                  # the bridge: 198.18.0.0/15 on one link
S3_RELAY_PORT=32120
PG_PORT_BASE=32010         # on every source host: PG_PORT_BASE + 1, + 2, ...
NM_PORT=32100
CM_PORT=32110
RESTORE_PORTS=32200-32299
H=$WORK/hosts
chmod 755 "$WORK"
mkdir -p "$H"
SOCAT_PID= CM_PID=
NM_PIDS=()
HOLD_PIDS=()               # per host: the process holding its mount namespace
BINDIR=$(cd "$(dirname "$BIN")" && pwd)
ASAN_DIR=
case ":${ASAN_OPTIONS:-}:" in *:log_path=*) ASAN_DIR=$(echo "$ASAN_OPTIONS" | sed 's|.*log_path=\([^:]*\).*|\1|'); ASAN_DIR=$(dirname "$ASAN_DIR") ;; esac
MADE_NS=()
MADE_VETH=()
MADE_BR=

addr() { if [ "$1" -le 3 ]; then echo "$NET.$((10 + $1))"; else echo "$TNET.$((10 + $1))"; fi; }   # host index -> address
as_user() { runuser -u "$USER_PG" -- "$@"; }
net_in() { local n=$1; shift; ip netns exec "$NS-h$n" "$@"; }
# On host N: its network namespace and its mount namespace (those of the
# process holding them); nsenter execs, so $! of a daemon is its own pid.
in_host() { local n=$1; shift; nsenter -t "${HOLD_PIDS[$n]}" -m -n -- "$@"; }
# A daemon on host N as the PostgreSQL user, by exec all the way down
# (nsenter, setpriv, env): $! is the daemon's own pid.
daemon_in_host() {   # N LOG COMMAND...
  local n=$1 log=$2; shift 2
  host_env "$n"
  nsenter -t "${HOLD_PIDS[$n]}" -m -n -- setpriv --reuid="$USER_PG" --regid="$USER_PG" --init-groups \
    env "${HENV[@]}" "$@" >>"$log" 2>&1 &
}
# The test's own S3 environment (pool-init), and host N's (HENV): its copy of
# the credentials, its own sanitizer log directory.
S3_ENV=(STRATA_S3_ENDPOINT="http://$GW:$S3_RELAY_PORT" STRATA_S3_CREDENTIALS_FILE="$STRATA_S3_CREDENTIALS_FILE"
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}")
relog() { echo "$1" | sed "s|log_path=[^:]*|log_path=$2|"; }   # OPTIONS PATH
host_env() {   # N: sets HENV
  local d=$H/h$1/asan
  HENV=(STRATA_S3_ENDPOINT="http://$GW:$S3_RELAY_PORT" STRATA_S3_CREDENTIALS_FILE="$H/h$1/s3.credentials"
        ASAN_OPTIONS="$(relog "${ASAN_OPTIONS:-}" "$d/asan")" UBSAN_OPTIONS="$(relog "${UBSAN_OPTIONS:-}" "$d/ubsan")"
        LSAN_OPTIONS="$(relog "${LSAN_OPTIONS:-}" "$d/lsan")")
}

# The file system view of a host, made inside its new mount namespace
# (private propagation: none of these mounts reaches the test's view or
# another host's). The host's own directory and the binary's directory are
# opened before the tmpfs hide them, and bound back from those descriptors.
HOST_VIEW='set -e
own=$1 bindir=$2 work=$3
exec 3<"$own" 4<"$bindir"
mount -t tmpfs -o size=64m,mode=1777 strata-mh-tmp /tmp
mount -t tmpfs -o size=64m,mode=1777 strata-mh-tmp /var/tmp
mount -t tmpfs -o size=256m,mode=1777 strata-mh-shm /dev/shm
case $work/ in /tmp/*) ;; *) mkdir -p "$work" && mount -t tmpfs -o size=16m,mode=755 strata-mh-work "$work" ;; esac
mkdir -p "$own" "$bindir"
mount -c --bind /proc/self/fd/3 "$own"
mount -c --bind /proc/self/fd/4 "$bindir"
mount -o remount,bind,ro "$bindir"
exec 3<&- 4<&-
echo ready
exec sleep infinity'
# (exec all the way down, no shell function before the &: $! is the holder itself)
make_host_view() {   # N: the process holding host N's mount namespace, in its network namespace
  local i=$1 k
  ip netns exec "$NS-h$i" unshare -m --propagation private bash -c "$HOST_VIEW" host-view "$H/h$i" "$BINDIR" "$WORK" \
    >"$WORK/view-h$i.log" 2>&1 </dev/null &
  HOLD_PIDS[$i]=$!
  for ((k = 0; k < 100; k++)); do
    grep -q '^ready$' "$WORK/view-h$i.log" && return 0
    alive "${HOLD_PIDS[$i]}" || break
    sleep 0.1
  done
  echo "host h$i's mount namespace: $(tr '\n' ' ' <"$WORK/view-h$i.log")" >&2
  return 1
}

# ---- cleanup: by pid, and exactly the namespaces, veths and bridge made here ----
postmasters_under() {   # DIR: pids of running postgres with a data directory under DIR
  local f pid
  while read -r f; do
    pid=$(head -n 1 "$f" 2>/dev/null)
    [ -n "$pid" ] && alive "$pid" && echo "$pid"
  done < <(find "$1" -name postmaster.pid 2>/dev/null)
}
stop_postgres() {
  local pids pid i left
  pids=$(postmasters_under "$H")
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -INT "$pid" 2>/dev/null; done
  for ((i = 0; i < 300; i++)); do
    left=0
    for pid in $pids; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
}
cleanup() {
  local i n
  stop_pid CM_PID
  for i in "${!NM_PIDS[@]}"; do
    n=${NM_PIDS[$i]}
    [ -n "$n" ] && { kill -TERM "$n" 2>/dev/null; wait "$n" 2>/dev/null; }
  done
  [ -n "${WL_PID:-}" ] && { kill -TERM "$WL_PID" 2>/dev/null; wait "$WL_PID" 2>/dev/null; }
  stop_postgres
  for i in "${!HOLD_PIDS[@]}"; do
    n=${HOLD_PIDS[$i]}
    [ -n "$n" ] && { kill -TERM "$n" 2>/dev/null; wait "$n" 2>/dev/null; }
  done
  collect_sanitizer_logs
  stop_pid SOCAT_PID
  for n in "${MADE_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  for n in "${MADE_VETH[@]}"; do ip link del "$n" 2>/dev/null; done
  [ -n "$MADE_BR" ] && ip link del "$MADE_BR" 2>/dev/null
  [ -n "${S3_PREFIX:-}" ] && s3_pool_clean >/dev/null 2>&1
}
collect_sanitizer_logs() {   # the hosts' sanitizer logs, where tests/run.sh looks for them
  local f d
  [ -n "$ASAN_DIR" ] && [ -d "$ASAN_DIR" ] || return 0
  for d in "$H"/h*/asan; do
    for f in "$d"/*; do
      [ -f "$f" ] && cp "$f" "$ASAN_DIR/multihost-$(basename "$(dirname "$d")")-$(basename "$f")"
    done
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the hosts ----------------------------------------------------------------------------
make_network() {
  ip link add "$BR" type bridge || return 1
  MADE_BR=$BR
  ip addr add "$GW/15" dev "$BR" && ip link set "$BR" up || return 1
  local i
  for i in 0 1 2 3 4 5 6; do
    ip netns add "$NS-h$i" || return 1
    MADE_NS+=("$NS-h$i")
    ip link add "mh${RUN}v$i" type veth peer name "mh${RUN}p$i" || return 1
    MADE_VETH+=("mh${RUN}v$i")
    ip link set "mh${RUN}v$i" master "$BR" && ip link set "mh${RUN}v$i" up || return 1
    ip link set "mh${RUN}p$i" netns "$NS-h$i" || return 1
    net_in $i ip link set lo up || return 1
    net_in $i ip link set "mh${RUN}p$i" name eth0 || return 1
    net_in $i ip addr add "$(addr $i)/15" dev eth0 && net_in $i ip link set eth0 up || return 1
    mkdir -p "$H/h$i/data" "$H/h$i/sock" "$H/h$i/asan" || return 1
    (umask 077 && cp "$STRATA_S3_CREDENTIALS_FILE" "$H/h$i/s3.credentials") || return 1
    chown -R "$USER_PG:" "$H/h$i" && chmod 700 "$H/h$i" || return 1
    make_host_view $i || return 1
  done
}
t0=$SECONDS
if make_network 2>"$WORK/net.log"; then
  ok "7 hosts: network namespaces $NS-h0..h6 at $(addr 0)-$(addr 6) on bridge $BR ($GW), each with a mount namespace of its own"
else
  notok "network" "$(tr '\n' ' ' <"$WORK/net.log")"
  exit 1
fi
in_host 5 timeout 10 socat "TCP-LISTEN:32998,bind=$(addr 5)" SYSTEM:"echo from-h5" 2>/dev/null &
probe=$!
sleep 0.3
answer=$(in_host 1 timeout 5 socat - "TCP:$(addr 5):32998" 2>/dev/null)
wait "$probe" 2>/dev/null
if [ "$answer" = from-h5 ]; then
  ok "host h1 reaches host h5 over the bridge (TCP)"
else
  notok "network" "h1 cannot reach $(addr 5)"
  exit 1
fi

# The S3 store: radosgw listens on loopback; a relay on the bridge's address
# is how the hosts reach it (as they would reach an S3 endpoint on the network).
S3_HOSTPORT=${STRATA_S3_ENDPOINT#*://}
socat "TCP-LISTEN:$S3_RELAY_PORT,bind=$GW,reuseaddr,fork" "TCP:$S3_HOSTPORT" 2>"$WORK/socat.log" &
SOCAT_PID=$!
STRATA_S3_ENDPOINT_LOOPBACK=$STRATA_S3_ENDPOINT
s3_pool_setup "$WORK" t_multihost
export STRATA_S3_ENDPOINT="http://$GW:$S3_RELAY_PORT"
sleep 0.3
if as_user env "${S3_ENV[@]}" "$BIN" pool-init --pool "$POOL" --quiet 2>"$WORK/pool-init.log"; then
  ok "pool $POOL created through the relay $GW:$S3_RELAY_PORT -> $STRATA_S3_ENDPOINT_LOOPBACK"
else
  notok "pool-init" "$(tr '\n' ' ' <"$WORK/pool-init.log")"
  exit 1
fi

# ---- the source cluster c1 on h1-h3 ---------------------------------------------------------
conf() {   # HOST DATADIR PORT SET (SET empty: no archiving)
  cat >>"$2/postgresql.conf" <<EOF
listen_addresses = '$(addr $1)'
port = $3
unix_socket_directories = '$H/h$1/sock'
shared_buffers = 16MB
max_connections = 40
max_prepared_transactions = 64
fsync = off
wal_level = replica
max_wal_senders = 10
wal_keep_size = 128MB
hot_standby = on
log_min_messages = warning
EOF
  if [ -n "$4" ]; then
    printf "archive_mode = on\narchive_command = '%s wal-push --pool %s --node c1/%s %%p'\narchive_timeout = 2\n" \
      "$BIN" "$POOL" "$4" >>"$2/postgresql.conf"
  fi
  printf 'host all all %s.0/24 trust\nhost replication all %s.0/24 trust\n' "$NET" "$NET" >>"$2/pg_hba.conf"
}
pg_start() {   # HOST DATADIR: pg_ctl start inside the host's namespace, as the PostgreSQL user
  host_env "$1"
  in_host "$1" runuser -u "$USER_PG" -- env "${HENV[@]}" "$PGBIN/pg_ctl" -D "$2" -l "$2.log" -w -t 60 start \
    >"$2.pg_ctl.log" 2>&1
}
initdb_on() {   # HOST DATADIR INITDB-OPTIONS...: initdb inside the host's namespaces, as the PostgreSQL user
  local h=$1 d=$2; shift 2
  in_host "$h" runuser -u "$USER_PG" -- "$PGBIN/initdb" -D "$d" --data-checksums -A trust -E UTF8 --no-locale -N "$@" \
    >"$d.initdb.log" 2>&1
}
psql_on() {   # HOST PORT DB SQL
  as_user "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$(addr $1)" -p "$2" -d "$3" -c "$4"
}
build_set() {   # HOST SET PREFIX DB: primary PREFIX-1 and standbys PREFIX-2, -3 on HOST
  local h=$1 set=$2 p=$3 db=$4 d=$H/h$1/data/c1 i
  mkdir -p "$d" && chown "$USER_PG:" "$d"
  initdb_on "$h" "$d/$p-1" --wal-segsize=1 || return 1
  conf "$h" "$d/$p-1" $((PG_PORT_BASE + 1)) "$set"
  pg_start "$h" "$d/$p-1" || return 1
  psql_on "$h" $((PG_PORT_BASE + 1)) postgres "CREATE DATABASE $db" || return 1
  for i in 2 3; do
    in_host "$h" runuser -u "$USER_PG" -- "$PGBIN/pg_basebackup" -h "$(addr $h)" -p $((PG_PORT_BASE + 1)) \
      -D "$d/$p-$i" -R -X stream -c fast -N >"$d/$p-$i.basebackup.log" 2>&1 || return 1
    echo "port = $((PG_PORT_BASE + i))" >>"$d/$p-$i/postgresql.conf"
    pg_start "$h" "$d/$p-$i" || return 1
  done
}
build_compute() {   # HOST
  local h=$1 d=$H/h$1/data/c1 port=$((PG_PORT_BASE + 4)) k sql
  initdb_on "$h" "$d/compute-1" || return 1
  conf "$h" "$d/compute-1" "$port" ""
  pg_start "$h" "$d/compute-1" || return 1
  psql_on "$h" "$port" postgres "CREATE DATABASE bank" || return 1
  sql="CREATE EXTENSION postgres_fdw;
CREATE TABLE public.accounts (id bigint NOT NULL, balance bigint NOT NULL) PARTITION BY RANGE (id);"
  for k in 1 2; do
    sql="$sql
CREATE SERVER shard$k FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$(addr $((k + 1)))', port '$((PG_PORT_BASE + 1))', dbname 'bank');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$k;
CREATE FOREIGN TABLE public.accounts_shard$k PARTITION OF public.accounts
  FOR VALUES FROM ($(((k - 1) * 1000000))) TO ($((k * 1000000))) SERVER shard$k OPTIONS (schema_name 'public', table_name 'accounts');"
  done
  psql_on "$h" "$port" bank "$sql"
}
node_json() {   # HOST NAME PORT ROLE
  printf '{"name": "%s", "host": "%s", "port": %d, "role": "%s", "data_dir": "%s"}' "$2" "$(addr $1)" "$3" "$4" \
    "$H/h$1/data/c1/$2"
}
set_json() {   # HOST PREFIX
  printf '[%s, %s, %s]' "$(node_json "$1" "$2-1" $((PG_PORT_BASE + 1)) primary)" \
    "$(node_json "$1" "$2-2" $((PG_PORT_BASE + 2)) standby)" "$(node_json "$1" "$2-3" $((PG_PORT_BASE + 3)) standby)"
}

t1=$SECONDS
( build_set 1 meta meta strata ) 2>"$WORK/build-meta.log" & b1=$!
( build_set 2 shard1 shard1 bank ) 2>"$WORK/build-shard1.log" & b2=$!
( build_set 3 shard2 shard2 bank ) 2>"$WORK/build-shard2.log" & b3=$!
built=1
wait $b1 || built=0; wait $b2 || built=0; wait $b3 || built=0
[ "$built" = 1 ] && { build_compute 1 2>"$WORK/build-compute.log" || built=0; }
cat >"$WORK/topology.json" <<EOF
{"name": "c1", "database": "bank",
 "meta": $(set_json 1 meta),
 "shards": [{"name": "shard1", "nodes": $(set_json 2 shard1)}, {"name": "shard2", "nodes": $(set_json 3 shard2)}],
 "compute": [$(node_json 1 compute-1 $((PG_PORT_BASE + 4)) compute)]}
EOF
META="host=$(addr 1) port=$((PG_PORT_BASE + 1)) dbname=strata"
if [ "$built" = 1 ] && as_user "$BIN" cluster register --meta-conn "$META" --topology "$WORK/topology.json" --quiet \
     2>"$WORK/register.log" &&
   as_user "$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log"; then
  ok "cluster c1: metadata and compute-1 on h1, shard1 on h2, shard2 on h3 (3 instances a set), registered, bank created in $((SECONDS - t1))s"
else
  notok "cluster c1" "$(cat "$WORK"/build-*.log "$WORK/register.log" "$WORK/init.log" 2>/dev/null | tail -n 8 | tr '\n' ' ')"
  exit 1
fi
BANK_SQL="SELECT count(*) || ' ' || sum(balance) FROM public.accounts"
SRC_ANSWER=$(psql_on 1 $((PG_PORT_BASE + 4)) bank "$BANK_SQL")

# ---- node managers on h1..h6, the cluster manager on h0 --------------------------------------
NTOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# each host its own copy: h1-h6 the node token, h0 (the cluster manager) both
for i in 0 1 2 3 4 5 6; do
  (umask 077 && echo "$NTOKEN" >"$H/h$i/node.token") && chown "$USER_PG:" "$H/h$i/node.token"
done
(umask 077 && echo "$TOKEN" >"$H/h0/token") && chown "$USER_PG:" "$H/h0/token"
start_nm() {   # HOST
  local i=$1
  cat >"$H/h$i/nm.json" <<EOF
{"listen": "$(addr $i):$NM_PORT", "token_file": "$H/h$i/node.token", "pool": "$POOL"}
EOF
  daemon_in_host "$i" "$H/h$i/nm.log" "$BIN" node-manager --config "$H/h$i/nm.json"
  NM_PIDS[$i]=$!
}
for i in 1 2 3 4 5 6; do start_nm $i; done
up=0
for i in 1 2 3 4 5 6; do wait_http "http://$(addr $i):$NM_PORT/api/v1/tasks" "${NM_PIDS[$i]}" && up=$((up + 1)); done
[ "$up" = 6 ] && ok "6 node managers, one per host h1-h6, each in its namespace on port $NM_PORT" ||
  { notok "node managers" "$up of 6 answer: $(tail -n 3 "$H"/h*/nm.log | tr '\n' ' ')"; exit 1; }
nm_entry() {   # HOST [resource]
  if [ -n "${2:-}" ]; then
    printf '"%s": {"url": "http://%s:%d", "data_root": "%s", "ports": "%s"}' "$(addr $1)" "$(addr $1)" "$NM_PORT" \
      "$H/h$1/data" "$RESTORE_PORTS"
  else
    printf '"%s": "http://%s:%d"' "$(addr $1)" "$(addr $1)" "$NM_PORT"
  fi
}
cat >"$H/h0/manager.json" <<EOF
{"listen": "$(addr 0):$CM_PORT", "token_file": "$H/h0/token", "meta_conn": "$META", "pool": "$POOL",
 "node_managers": {$(nm_entry 1), $(nm_entry 2), $(nm_entry 3), $(nm_entry 4 r), $(nm_entry 5 r), $(nm_entry 6 r)},
 "node_token_file": "$H/h0/node.token",
 "restore_hba": ["host all all $NET.0/24 trust", "host all all $TNET.0/24 trust", "host replication all $TNET.0/24 trust"]}
EOF
daemon_in_host 0 "$H/h0/manager.log" "$BIN" cluster-manager --config "$H/h0/manager.json"
CM_PID=$!
CM=http://$(addr 0):$CM_PORT
cm() { call "$CM" "$TOKEN" "$@"; }
jfc() { echo "$BODY" | jq -c "$1" 2>/dev/null; }
if wait_http "$CM/metrics" "$CM_PID"; then
  ok "cluster manager on h0 ($CM) with the 6 node managers, h4-h6 offering $RESTORE_PORTS under their data roots"
else
  notok "cluster manager" "$(tail -n 5 "$H/h0/manager.log" | tr '\n' ' ')"
  exit 1
fi

# ---- backup under load, through the node managers of h1-h3 ----------------------------------
setpriv --reuid="$USER_PG" --regid="$USER_PG" --init-groups "$BIN" workload --meta-conn "$META" --cluster c1 \
  --duration 10 --quiet >"$WORK/workload.log" 2>&1 &
WL_PID=$!
t1=$SECONDS
cm POST /api/v1/clusters/c1/backups '{}'
JOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$JOB" 900 && [ "$STATE" = succeeded ]; then
  ok "backup job $JOB succeeded in $((SECONDS - t1))s under 2PC load: $(jfc .result)"
else
  notok "backup job" "$CODE state $STATE: $(jf .reason) $BODY"
  exit 1
fi
wait "$WL_PID" 2>/dev/null
WL_PID=
nm_backups=0
for i in 1 2 3; do
  n=$(curl -s -H "Authorization: Bearer $NTOKEN" "http://$(addr $i):$NM_PORT/api/v1/tasks" |
      jq '[.tasks[] | select(.kind == "backup" and .state == "succeeded")] | length')
  [ "${n:-0}" -ge 1 ] && nm_backups=$((nm_backups + 1))
done
[ "$nm_backups" = 3 ] && ok "each of h1, h2, h3's node managers ran its set's node backup" ||
  notok "node backups" "$nm_backups of 3 source hosts' node managers ran a backup task"
SRC_ANSWER=$(psql_on 1 $((PG_PORT_BASE + 4)) bank "$BANK_SQL")
cm POST /api/v1/clusters/c1/cps '{}'

# ---- restore onto h4-h6 ------------------------------------------------------------------
t1=$SECONDS
cm POST /api/v1/clusters/c1/restores "{\"to\": \"c2\", \"latest\": true, \"hosts\": \"$(addr 4),$(addr 5),$(addr 6)\"}"
RJOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$RJOB" 900 && [ "$STATE" = succeeded ]; then
  ok "restore job $RJOB (c1 -> c2 on h4-h6) succeeded in $((SECONDS - t1))s at CP $(jf .result.cp)"
else
  notok "restore job" "$CODE state $STATE: $(jf .reason) $(tail -n 5 "$H/h0/manager.log" | tr '\n' ' ')"
  exit 1
fi
TOPO=$(jfc .result.topology)
hosts_of() { echo "$TOPO" | jq -r "$1" | sort -u | tr '\n' ' '; }
all_hosts=$(hosts_of '[(.meta[]), (.shards[].nodes[]), (.compute[])] | .[].host')
set_spread=$(echo "$TOPO" | jq '[(.meta), (.shards[].nodes)] | map([.[].host] | unique | length) | min')
if [ "$all_hosts" = "$(addr 4) $(addr 5) $(addr 6) " ] && [ "$set_spread" = 3 ]; then
  ok "c2's nodes are on h4-h6 only, every replica set on three hosts: $(echo "$TOPO" | jq -c '[(.meta[]), (.shards[].nodes[]), (.compute[])] | map(.name + "@" + .host + ":" + (.port | tostring))')"
else
  notok "placement" "hosts '$all_hosts', smallest set spread $set_spread: $TOPO"
fi
tasks_ok=0
for i in 4 5 6; do
  kinds=$(curl -s -H "Authorization: Bearer $NTOKEN" "http://$(addr $i):$NM_PORT/api/v1/tasks" |
          jq -r '[.tasks[] | select(.state == "succeeded") | .kind] | unique | join(",")')
  case ",$kinds," in *,restore,*) tasks_ok=$((tasks_ok + 1)) ;; esac
  echo "# h$i node manager ran: $kinds"
done
[ "$tasks_ok" = 3 ] && ok "h4, h5 and h6's node managers each restored a primary (and built standbys)" ||
  notok "restore tasks" "$tasks_ok of 3 target hosts ran a restore task"
# ---- each host sees its own directory only --------------------------------------------
# From host A: the parent of the hosts' directories holds A's alone; B's
# data (a restored node's PG_VERSION, the source's on h2) is not there, not
# even for root; B's directory cannot be made by A's PostgreSQL user; what
# root on A writes at B's path lands in A's tmpfs, not in B's directory as
# the test or B sees it; the strata binary is read-only on A.
isolation() {   # A B: prints what is wrong, nothing when A and B are apart
  local a=$1 b=$2 seen theirs probe=$H/h$2/probe-from-h$1
  theirs=$(find "$H/h$b/data" -name PG_VERSION 2>/dev/null | head -n 1)
  [ -n "$theirs" ] || { echo "h$b has no data directory to look for"; return; }
  seen=$(in_host "$a" ls -A "$H" 2>&1 | tr '\n' ' ')
  [ "$seen" = "h$a " ] || echo "h$a sees '$seen' in $H;"
  in_host "$a" test -e "$theirs" && echo "h$a sees $theirs;"
  in_host "$a" runuser -u "$USER_PG" -- mkdir -p "$H/h$b" 2>/dev/null && echo "h$a's $USER_PG made $H/h$b;"
  in_host "$a" sh -c 'mkdir -p "$1" && echo x >"$2"' sh "$H/h$b" "$probe" || echo "root on h$a cannot write its own tmpfs;"
  [ -e "$probe" ] && echo "h$a's write reached $probe;"
  in_host "$b" test -e "$probe" && echo "h$b sees h$a's $probe;"
  in_host "$a" sh -c 'rm -f "$1" && rmdir "$2"' sh "$probe" "$H/h$b"   # A's tmpfs as it was (rmdir: empty only)
  in_host "$a" runuser -u "$USER_PG" -- test -r "$(find "$H/h$a/data" -name PG_VERSION | head -n 1)" ||
    echo "h$a cannot read its own data;"
  in_host "$a" touch "$BINDIR/probe-from-h$a" 2>/dev/null && { rm -f "$BINDIR/probe-from-h$a"; echo "h$a writes $BINDIR;"; }
}
iso=
for pair in "4 5" "5 6" "6 4" "4 2" "1 2" "2 3"; do
  read -r a b <<<"$pair"
  iso="$iso$(isolation "$a" "$b")"
done
if [ -z "$iso" ]; then
  ok "each host sees only its own directory: h4<->h5<->h6, h4->h2, h1->h2, h2->h3 (another host's data neither visible nor writable), $BINDIR read-only"
else
  notok "mount namespaces" "$iso"
fi
# The restored nodes' pg_hba.conf: restore_hba's lines first, then the source's
hba_bad=
while read -r dir; do
  first=$(grep -v '^[[:space:]]*\(#\|$\)' "$dir/pg_hba.conf" 2>/dev/null | head -n 1)
  [ "$first" = "host all all $NET.0/24 trust" ] && grep -q "^host all all $TNET.0/24 trust" "$dir/pg_hba.conf" ||
    hba_bad="$hba_bad $dir: '$first';"
done < <(echo "$TOPO" | jq -r '[(.meta[]), (.shards[].nodes[])] | .[] | .data_dir')
[ -z "$hba_bad" ] && ok "every restored primary and standby has restore_hba's lines first in its pg_hba.conf (the source's admit $NET.0/24 only)" ||
  notok "restored pg_hba.conf" "$hba_bad"
MHOST=$(echo "$TOPO" | jq -r '.meta[] | select(.role == "primary") | .host')
MPORT=$(echo "$TOPO" | jq -r '.meta[] | select(.role == "primary") | .port')
if as_user "$BIN" check-consistency --meta-conn "host=$MHOST port=$MPORT dbname=strata" --cluster c2 \
     >"$WORK/check.out" 2>&1; then
  ok "c2 passes check-consistency: $(tail -n 1 "$WORK/check.out")"
else
  notok "check-consistency of c2" "$(tail -n 5 "$WORK/check.out" | tr '\n' ' ')"
fi
CHOST=$(echo "$TOPO" | jq -r '.compute[0].host')
CPORT=$(echo "$TOPO" | jq -r '.compute[0].port')
CIDX=${CHOST##*.}; CIDX=$((CIDX - 10))
C2_ANSWER=$(psql_on "$CIDX" "$CPORT" bank "$BANK_SQL" 2>&1)
SRVS=$(psql_on "$CIDX" "$CPORT" bank "SELECT string_agg(srvname || '=' || array_to_string(srvoptions, ','), ' ' ORDER BY srvname) FROM pg_foreign_server" 2>&1)
if [ -n "$C2_ANSWER" ] && [ "$C2_ANSWER" = "$SRC_ANSWER" ] && [ "$CHOST" != "$(addr 1)" ] &&
   ! echo "$SRVS" | grep -q "host=$NET.1[123],"; then
  ok "c2's compute node on $CHOST answers the bank query as c1's did ($C2_ANSWER: count, total), its FDW servers on c2's hosts: $SRVS"
else
  notok "compute query on c2" "c2 '$C2_ANSWER', c1 '$SRC_ANSWER', compute on $CHOST, servers: $SRVS"
fi

# ---- refusals: a host without a node manager -------------------------------------------------
cm POST /api/v1/clusters/c1/restores "{\"to\": \"c3\", \"latest\": true, \"hosts\": \"$NET.99\"}"
FJOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$FJOB" 120 && [ "$STATE" = failed ] && jf .reason | grep -q "$NET.99"; then
  ok "a restore on a host that is not a node manager's resource fails naming it: $(jf .reason | cut -c1-160)"
elif [ "$CODE" = 400 ] && echo "$BODY" | grep -q "$NET.99"; then
  ok "a restore on a host that is not a node manager's resource is refused naming it: $(jf .error | cut -c1-160)"
else
  notok "restore on an unknown host" "$CODE $STATE $BODY"
fi
# A cluster with a host that has no node manager is backed up by nobody
# (c4: c1's topology with its replica sets on a host 198.18.10.98 that no
# node manager serves; its compute node stays on h1, whose schema is read first)
# (one host: each set's ports moved apart, a topology's host:port are unique)
jq --arg h "$NET.98" '.name = "c4" | .meta |= map(.host = $h) |
    .shards[0].nodes |= map(.host = $h | .port += 100) | .shards[1].nodes |= map(.host = $h | .port += 200)' \
  "$WORK/topology.json" >"$WORK/topology-c4.json"
as_user "$BIN" cluster register --meta-conn "$META" --topology "$WORK/topology-c4.json" --quiet 2>"$WORK/register-c4.log" ||
  echo "# registering c4: $(tr '\n' ' ' <"$WORK/register-c4.log")"
cm POST /api/v1/clusters/c4/backups '{}'
BJOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$BJOB" 120 && [ "$STATE" = failed ] && jf .reason | grep -q "host $NET.98 has no node manager"; then
  ok "a backup of a cluster with a host that has no node manager fails naming it: $(jf .reason | cut -c1-160)"
else
  notok "backup of a host without node manager" "$CODE $STATE $(jf .reason) $BODY"
fi

stop_pid CM_PID
leaks=$(grep -c "ERROR: LeakSanitizer\|ERROR: AddressSanitizer" "$H/h0/manager.log" "$H"/h*/nm.log 2>/dev/null | awk -F: '{s += $2} END {print s + 0}')
[ "$leaks" = 0 ] && ok "no sanitizer report from the cluster manager or the node managers so far" ||
  notok "sanitizers" "$leaks report(s) in the daemons' logs"
echo "# t_multihost: $((SECONDS - t0))s"
exit "${FAILED:-0}"
