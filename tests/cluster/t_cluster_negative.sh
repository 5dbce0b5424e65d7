#!/usr/bin/env bash
# t_cluster_negative: what must fail, fails (DESIGN §3, §4, §5).
#
# - Negative control: under a 2PC workload, restoring each replica set on its
#   own (strata restore --node, plain recovery_target_time T, no resolution)
#   and registering the pieces as cluster c1neg yields a cluster that
#   check-consistency rejects (exit 1, VIOLATION lines: prepared transactions
#   left at least). Another T is tried, up to 3 attempts, if one happens not to.
# - CP barrier: with shard2's primary frozen (SIGSTOP), `cp create
#   --timeout-ms 1000` fails within 5 s naming shard2 and records no CP; once
#   it is thawed, distributed commits resume (the commit log grows within 10 s).
# - Bad input to a cluster restore: an unknown cluster, an unknown shard, a
#   time before the first backup's end CP ("recoverable window"), a base port
#   overlapping the running source ("in use"), a non-empty directory ("not
#   empty"): each a clear error, non-zero exit, no postgres left running.
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/cluster/t_cluster_negative.sh
# STRATA_BIN             the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK       a directory for the clusters (default: a new one in /tmp)
# STRATA_TEST_BASE_PORT  first port to try (default 24000; a block of 50 ports:
#                        source P..P+22, restored instances P+30..P+39)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-cluster-negative.XXXXXX)}
PGBIN=/usr/lib/postgresql/15/bin
DIR=$WORK/cluster
POOL=$WORK/pool
NDIR=$WORK/neg
BDIR=$WORK/bad
WL_PID=
FROZEN=

# shellcheck source=lib.sh
. "$HERE/lib.sh"

stop_workload() {
  if [ -n "$WL_PID" ] && kill -0 "$WL_PID" 2>/dev/null; then
    kill -INT "$WL_PID" 2>/dev/null
    wait "$WL_PID" 2>/dev/null
  fi
  WL_PID=
}
cleanup() {
  # shellcheck disable=SC2086
  [ -n "$FROZEN" ] && kill -CONT $FROZEN 2>/dev/null
  stop_workload
  stop_under "$NDIR"
  stop_under "$BDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
decisions() { psql_at "$META_PORT" strata "SELECT count(*) FROM strata.commit_log"; }

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base "${STRATA_TEST_BASE_PORT:-24000}" 25000 50 $(seq_offsets 40)) || { notok "setup" "no free block of ports in 24000-24999"; exit 1; }
NBASE=$((BASE + 30))
mkdir -p "$WORK"

# ---- the source cluster, under load ----------------------------------------------------
t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 2 --base-port "$BASE" --name c1 --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create c1 (ports from $BASE) in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
# shellcheck disable=SC1091
. "$DIR/cluster.env"

if ! "$BIN" workload --meta-conn "$META" --cluster c1 --init --accounts 50 --duration 0 --quiet 2>"$WORK/init.log"; then
  notok "workload --init" "$(short "$WORK/init.log")"
  exit 1
fi
"$BIN" workload --meta-conn "$META" --cluster c1 --clients 3 --resolve-after 4 --duration 600 \
  --output json >"$WORK/wl.json" 2>"$WORK/wl.log" &
WL_PID=$!
sleep 1
BEFORE_BACKUP=$(psql_at "$META_PORT" strata "SELECT clock_timestamp()")
sleep 1
t0=$SECONDS
if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 1 >"$WORK/backup.out" 2>"$WORK/backup.log"; then
  ok "cluster backup under load: $(cat "$WORK/backup.out") in $((SECONDS - t0))s"
else
  notok "cluster backup" "$(short "$WORK/backup.log")"
  exit 1
fi

# ---- CP barrier: a frozen shard primary fails the CP in bounded time ---------------------------
pm=$(head -n 1 "$DIR/shard2-1/data/postmaster.pid")
FROZEN="$pm $(pgrep -P "$pm" | paste -sd' ')"
# shellcheck disable=SC2086
kill -STOP $FROZEN
t0=$(now)
timeout 60 "$BIN" cp create --meta-conn "$META" --cluster c1 --pool "$POOL" --name cp_frozen --timeout-ms 1000 \
  >"$WORK/cpfrozen.out" 2>&1
rc=$?
el=$(secs "$t0" "$(now)")
# shellcheck disable=SC2086
kill -CONT $FROZEN
FROZEN=
if [ "$rc" != 0 ] && awk -v e="$el" 'BEGIN { exit !(e <= 5) }' && grep -q shard2 "$WORK/cpfrozen.out"; then
  ok "cp create with shard2's primary frozen: exit $rc after ${el}s naming shard2"
else
  notok "cp create with shard2's primary frozen (cp create --timeout-ms 1000)" \
    "exit $rc after ${el}s (want non-zero within 5 s, naming shard2): $(short "$WORK/cpfrozen.out")"
fi
"$BIN" cp list --pool "$POOL" --cluster c1 >"$WORK/cplist.out" 2>&1
grep -q cp_frozen "$WORK/cplist.out" && notok "failed CP" "cp_frozen is listed: $(short "$WORK/cplist.out")" ||
  ok "the failed CP is not recorded"
a=$(decisions)
t0=$(now)
grew=0
for ((i = 0; i < 50; i++)); do
  b=$(decisions)
  [ "${b:-0}" -gt "${a:-0}" ] && { grew=1; break; }
  sleep 0.2
done
[ "$grew" = 1 ] && ok "after the thaw distributed commits resume: commit log $a -> $b in $(secs "$t0" "$(now)")s" ||
  notok "commits after the thaw" "commit log stuck at $a for 10 s"
"$BIN" cp create --meta-conn "$META" --cluster c1 --pool "$POOL" --name cp_thawed >"$WORK/cpthawed.out" 2>&1 &&
  ok "a CP succeeds again after the thaw" || notok "cp after thaw" "$(short "$WORK/cpthawed.out")"

# ---- negative control: per-shard recovery_target_time, no resolution ---------------------------
neg_attempt() {   # N: 0 when the checker reports a violation
  local n=$1 d=$NDIR/a$1 T set i=0 port rc p
  mkdir -p "$d/sock"
  T=$(psql_at "$META_PORT" strata "SELECT clock_timestamp()")
  # WAL past T on every set must reach the pool
  sleep 3
  for p in "$META_PORT" $((BASE + 10)) $((BASE + 20)); do psql_at "$p" postgres "SELECT pg_switch_wal()" >/dev/null; done
  sleep 2
  for set in meta shard1 shard2; do
    port=$((NBASE + i))
    i=$((i + 1))
    if ! "$BIN" restore --pool "$POOL" --node "c1/$set" --target-dir "$d/$set" --time "$T" --start --port "$port" \
      --set "unix_socket_directories=$d/sock" >"$d/$set.out" 2>&1; then
      notok "negative control attempt $n: restore --node c1/$set --time '$T'" "$(short "$d/$set.out")"
      return 2
    fi
  done
  cat >"$d/topology.json" <<EOF
{
  "name": "c1neg", "database": "bank", "meta_database": "strata", "origin": "c1",
  "meta": [{"name": "meta-1", "host": "127.0.0.1", "port": $NBASE, "role": "primary", "data_dir": "$d/meta"}],
  "shards": [
    {"name": "shard1", "nodes": [{"name": "shard1-1", "host": "127.0.0.1", "port": $((NBASE + 1)), "role": "primary", "data_dir": "$d/shard1"}]},
    {"name": "shard2", "nodes": [{"name": "shard2-1", "host": "127.0.0.1", "port": $((NBASE + 2)), "role": "primary", "data_dir": "$d/shard2"}]}
  ]
}
EOF
  local rmeta="host=127.0.0.1 port=$NBASE dbname=strata"
  if ! "$BIN" cluster register --meta-conn "$rmeta" --topology "$d/topology.json" --quiet >"$d/register.out" 2>&1; then
    notok "negative control attempt $n: cluster register c1neg" "$(short "$d/register.out")"
    return 2
  fi
  "$BIN" check-consistency --meta-conn "$rmeta" --cluster c1neg --max-report 3 >"$d/check.out" 2>"$d/check.err"
  rc=$?
  if [ "$rc" = 1 ] && grep -q '^VIOLATION ' "$d/check.out"; then
    ok "negative control (attempt $n, T = $T): per-shard time recovery is caught: exit 1, $(short "$d/check.err" | sed 's/^strata: error: //')"
    grep -q '^VIOLATION prepared: ' "$d/check.out" && ok "negative control: prepared transactions left in doubt are reported" ||
      notok "negative control" "no 'VIOLATION prepared' line: $(short "$d/check.out")"
    return 0
  fi
  echo "# negative control attempt $n (T = $T): check exit $rc, no violation: $(tail -n 1 "$d/check.out")"
  return 1
}
caught=1
for n in 1 2 3; do
  neg_attempt "$n"
  caught=$?
  stop_under "$NDIR"
  [ "$caught" = 1 ] || break
  sleep 1
done
[ "$caught" = 1 ] && notok "negative control" "3 attempts, the checker reported no violation on any"
left=$(procs_under "$NDIR")
[ -z "$left" ] && ok "negative control: restored instances stopped" || notok "negative control: stop" "still running:$left"
stop_workload

# ---- a cluster backup whose end CP fails leaves nothing behind ------------------------------
# A session holds the commit log in ACCESS EXCLUSIVE mode, so the end CP's
# barrier times out after shard1's node backup completed: the node backup
# must go with the failed cluster backup (it would pin shard1's WAL and be
# part of nothing restorable).
nodes_before=$(ls "$POOL/nodes/c1/shard1/backups" | paste -sd' ')
cbs_before=$(ls "$POOL/clusters/c1/backups" | paste -sd' ')
psql_at "$META_PORT" strata "SET application_name = 'strata_test_lock'; BEGIN;
  LOCK TABLE strata.commit_log IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300)" >/dev/null 2>&1 &
LOCK_PID=$!
for ((i = 0; i < 100; i++)); do
  [ "$(psql_at "$META_PORT" strata "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE a.application_name = 'strata_test_lock' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
  sleep 0.1
done
timeout 300 "$BIN" backup --cluster c1 --shard shard1 --meta-conn "$META" --pool "$POOL" --jobs 1 --cp-timeout-ms 1000 \
  >"$WORK/failbackup.out" 2>"$WORK/failbackup.log"
rc=$?
psql_at "$META_PORT" strata "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE application_name = 'strata_test_lock'" >/dev/null
wait "$LOCK_PID" 2>/dev/null
nodes_after=$(ls "$POOL/nodes/c1/shard1/backups" | paste -sd' ')
cbs_after=$(ls "$POOL/clusters/c1/backups" | paste -sd' ')
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qi "consistency point\|barrier\|lock" "$WORK/failbackup.log"; then
  ok "cluster backup of shard1 with the commit log locked: exit $rc: $(grep -i 'failed' "$WORK/failbackup.log" | tail -n 1 | cut -c1-200)"
else
  notok "cluster backup with the commit log locked" "exit $rc: $(short "$WORK/failbackup.log")"
fi
[ "$nodes_after" = "$nodes_before" ] && [ "$cbs_after" = "$cbs_before" ] &&
  ok "the failed cluster backup left no node backup and no cluster backup directory in the pool" ||
  notok "pool after the failed cluster backup" "node backups '$nodes_before' -> '$nodes_after'; cluster backups '$cbs_before' -> '$cbs_after'"

# ---- bad input to a cluster restore --------------------------------------------------------------
bad() {   # LABEL EXPECTED_TEXT ARGS...: non-zero exit, a message with the text, nothing running
  local label=$1 want=$2 rc left
  shift 2
  timeout 300 "$BIN" restore "$@" >"$WORK/bad_$label.out" 2>&1
  rc=$?
  left=$(procs_under "$BDIR")
  if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qi -- "$want" "$WORK/bad_$label.out" && [ -z "$left" ] &&
    ! grep -qF '(null)' "$WORK/bad_$label.out"; then
    ok "bad input ($label): exit $rc: $(short "$WORK/bad_$label.out")"
  else
    notok "bad input ($label): strata restore $*" \
      "exit $rc (want non-zero, a message with '$want' and no '(null)', nothing running; running:${left:- none}): $(short "$WORK/bad_$label.out")"
    stop_under "$BDIR"
  fi
}
common=(--pool "$POOL" --dir "$BDIR" --base-port "$NBASE")
bad "unknown cluster" nosuch --cluster nosuch --to c1x "${common[@]}" --latest
bad "unknown shard" nosuch --cluster c1 --shard nosuch --latest --meta-conn "$META" "${common[@]}"
bad "time before the first backup" "recoverable window" --cluster c1 --to c1x "${common[@]}" --time "$BEFORE_BACKUP"
bad "base port of the running source" "in use" --cluster c1 --to c1x --pool "$POOL" --dir "$BDIR" --base-port "$BASE" --latest
mkdir -p "$BDIR/shard2/shard2-1"
echo "precious" >"$BDIR/shard2/shard2-1/PG_VERSION"
bad "a node directory under --dir not empty" "not empty" --cluster c1 --to c1x "${common[@]}" --latest
[ "$(cat "$BDIR/shard2/shard2-1/PG_VERSION" 2>/dev/null)" = precious ] && ok "bad input: the non-empty directory is untouched" ||
  notok "bad input: non-empty directory" "its file was changed or removed"
rm -rf "$BDIR"
mkdir -p "$BDIR"
echo "precious" >"$BDIR/notes.txt"
bad "--dir not empty" "not empty" --cluster c1 --to c1x "${common[@]}" --latest
stop_under "$BDIR"
[ "$(cat "$BDIR/notes.txt" 2>/dev/null)" = precious ] || notok "bad input: non-empty --dir" "its file was changed or removed"
rm -rf "$BDIR"
busy=""
for ((p = NBASE; p < NBASE + 10; p++)); do port_free "$p" || busy="$busy $p"; done
[ -z "$busy" ] && ok "bad input: no restored instance listens on ports $NBASE..$((NBASE + 9))" ||
  notok "bad input: ports" "in use after the failed restores:$busy"

# ---- the end ----------------------------------------------------------------------------------
bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>"$WORK/destroy.log" || notok "destroy" "$(short "$WORK/destroy.log")"
left=$(procs_under "$WORK")
[ -z "$left" ] && ok "nothing left running" || notok "leftovers" "still running:$left"
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
