#!/usr/bin/env bash
# t_restore_identity: restores that do what they say, into pool identities
# of their own (issues 9 and 10).
#
# A one-shard cluster c1, cluster backup B1, consistency point cpA, more
# data, cluster backup B2 (ends after cpA), more data after the last CP.
#   - `restore --node c1/shard1 --name cpA` without --backup places cpA by
#     the CP records and picks B1's shard1 backup (the newest, B2's, ends
#     after cpA: PostgreSQL would refuse it); the rows are those of cpA.
#   - `restore --shard shard1 --latest --output json` prints one JSON
#     document: target latest, no CP (it replays past the last one), the
#     LSN reached, the instance's address and data directory, its pool node;
#     it holds the rows written after the last CP, and it archives (its
#     timeline history and a segment reach its pool node).
#   - the same shard again, with a relative --dir: a pool node of its own
#     (…-2), which it archives into; the data directory is absolute.
#   - a shard restore that fails after claiming its pool node releases it.
#   - `restore --to c1r` where the pool already holds node c1r/shard1 (a
#     shard restored --to c1r): refused before anything starts.
#
# Runs as an unprivileged user (the harness runs it as `strata`).
# STRATA_BIN             the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK       a directory for the clusters (default: a new one in /tmp)
# STRATA_TEST_BASE_PORT  first port to try (default 27000; a block of 50 ports:
#                        source P..P+12, restored instances P+30..P+39)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-restore-identity.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RDIR=$WORK/restored

# shellcheck source=lib.sh
. "$HERE/lib.sh"

cleanup() {
  stop_under "$RDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base "${STRATA_TEST_BASE_PORT:-27000}" 28000 50 $(seq 0 12) $(seq 30 39)) ||
  { notok "setup" "no free block of ports in 27000-27999"; exit 1; }
mkdir -p "$WORK" "$RDIR"
cd "$WORK" || exit 1

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --name c1 --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create c1, one shard (ports from $BASE) in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
S1=$((BASE + 10))
sql() { psql_at "$S1" bank "$1"; }
sql "CREATE TABLE marker(id int PRIMARY KEY)" || { notok "marker table" "cannot create it on shard1"; exit 1; }
mark() { sql "INSERT INTO marker SELECT generate_series($1, $2)"; }

cluster_backup() {   # LABEL: its shard1 node backup id in $NB
  if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 1 --output json \
    >"$WORK/$1.json" 2>"$WORK/$1.log"; then
    NB=$(python3 -c 'import json,sys; print([n["backup"] for n in json.load(open(sys.argv[1]))["nodes"] if n["set"] == "shard1"][0])' "$WORK/$1.json")
    ok "cluster backup $1: $(jget "$WORK/$1.json" id) (shard1: $NB)"
  else
    notok "cluster backup $1" "$(short "$WORK/$1.log")"
    exit 1
  fi
}

mark 1 10
cluster_backup B1; NB1=$NB
mark 11 20
"$BIN" cp create --meta-conn "$META" --cluster c1 --pool "$POOL" --name cpA >"$WORK/cpA.out" 2>&1 ||
  { notok "cp create cpA" "$(short "$WORK/cpA.out")"; exit 1; }
mark 21 30
sleep 1.1   # node backup ids have a one-second resolution
cluster_backup B2; NB2=$NB
mark 31 40   # after the last CP (B2's end CP)
psql_at "$S1" postgres "SELECT pg_switch_wal()" >/dev/null
sleep 3
ids() { psql_at "$1" bank "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker" 2>&1; }

# ---- a single-node restore to a CP's restore point, without --backup ---------------------
P=$((BASE + 30))
"$BIN" restore --pool "$POOL" --node c1/shard1 --name cpA --target-dir "$RDIR/n1" --start --port "$P" \
  --set "unix_socket_directories=$RDIR" --output json >"$WORK/n1.json" 2>"$WORK/n1.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(jget "$WORK/n1.json" backup)" = "$NB1" ]; then
  ok "restore --node c1/shard1 --name cpA picks B1's backup $NB1, not the newest $NB2"
else
  notok "restore --name cpA" "exit $rc, backup '$(jget "$WORK/n1.json" backup)' (want $NB1): $(short "$WORK/n1.err")"
fi
grep -q "from consistency point cpA of cluster c1" "$WORK/n1.err" && ok "it says cpA was placed by the CP records" ||
  notok "restore --name cpA: log" "$(short "$WORK/n1.err")"
[ "$(ids "$P")" = "$(seq -s, 1 20)" ] && ok "restore --name cpA: rows 1..20" || notok "restore --name cpA: rows" "$(ids "$P")"
stop_under "$RDIR"; rm -rf "$RDIR/n1"

# ---- the shard alone to --latest: one JSON document saying what was done -----------------
shard_restore() {   # LABEL DIR PORT [ARGS...]
  local label=$1 dir=$2 port=$3
  shift 3
  "$BIN" restore --cluster c1 --shard shard1 --latest --meta-conn "$META" --pool "$POOL" --dir "$dir" \
    --base-port "$port" --output json "$@" >"$WORK/$label.json" 2>"$WORK/$label.err"
}
# archives NODE: its timeline history and a segment of the new timeline reach the pool
archives() {
  local i
  for ((i = 0; i < 100; i++)); do
    find "$POOL/nodes/$1" -name '00000002.history*' 2>/dev/null | grep -q . &&
      find "$POOL/nodes/$1" -name '00000002000000000000*' 2>/dev/null | grep -q . && return 0
    sleep 0.2
  done
  return 1
}
P=$((BASE + 31))
shard_restore s1 "$RDIR/s1" "$P"
rc=$?
if [ "$rc" = 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/s1.json" 2>/dev/null; then
  ok "restore --shard shard1 --latest --output json: exit 0, stdout is one JSON document"
else
  notok "restore --shard --latest" "exit $rc: $(short "$WORK/s1.json") $(short "$WORK/s1.err")"
fi
[ "$(jget "$WORK/s1.json" target)" = latest ] && [ "$(jget "$WORK/s1.json" cp)" = None ] &&
  [ -n "$(jget "$WORK/s1.json" reached_lsn)" ] && [ "$(jget "$WORK/s1.json" reached_lsn)" != "?" ] &&
  ok "it reports target latest, no CP, reached LSN $(jget "$WORK/s1.json" reached_lsn)" ||
  notok "partial --latest report" "target '$(jget "$WORK/s1.json" target)' cp '$(jget "$WORK/s1.json" cp)' reached '$(jget "$WORK/s1.json" reached_lsn)'"
[ "$(ids "$P")" = "$(seq -s, 1 40)" ] && ok "and it did replay past the last CP: rows 1..40" ||
  notok "partial --latest rows" "$(ids "$P")"
[ "$(jget "$WORK/s1.json" address)" = "127.0.0.1:$P" ] && [ "$(jget "$WORK/s1.json" data_dir)" = "$RDIR/s1/shard1/shard1-1" ] &&
  ok "the JSON gives the instance's address and data directory" ||
  notok "partial JSON address" "address '$(jget "$WORK/s1.json" address)' data_dir '$(jget "$WORK/s1.json" data_dir)'"
N1=$(jget "$WORK/s1.json" archive_node)
psql_at "$P" postgres "SELECT pg_switch_wal()" >/dev/null 2>&1
[ "$N1" = c1-restored-shard1/shard1 ] && archives "$N1" && ok "the restored shard archives into pool node $N1" ||
  notok "restored shard archiving" "node '$N1': $(find "$POOL/nodes/$N1" -type f 2>/dev/null | tr '\n' ' ' | cut -c1-400)"
stop_under "$RDIR"; rm -rf "$RDIR/s1"

# ---- the same shard again, with a relative --dir ------------------------------------------
P=$((BASE + 32))
shard_restore s2 restored/s2 "$P"
rc=$?
N2=$(jget "$WORK/s2.json" archive_node)
[ "$rc" = 0 ] && [ "$(jget "$WORK/s2.json" data_dir)" = "$RDIR/s2/shard1/shard1-1" ] &&
  ok "a relative --dir is made absolute: $(jget "$WORK/s2.json" data_dir)" ||
  notok "relative --dir" "exit $rc, data_dir '$(jget "$WORK/s2.json" data_dir)': $(short "$WORK/s2.err")"
psql_at "$P" postgres "SELECT pg_switch_wal()" >/dev/null 2>&1
[ "$N2" = c1-restored-shard1-2/shard1 ] && archives "$N2" &&
  ok "restoring the same shard again gets pool node $N2 of its own, and archives into it" ||
  notok "second shard restore archiving" "node '$N2': $(short "$WORK/s2.err")"
stop_under "$RDIR"; rm -rf "$RDIR/s2"

# ---- a shard restore that fails after claiming its pool node frees it again ------------------
shard_restore sf /proc/strata-not-writable "$P"
rc=$?
[ "$rc" != 0 ] && [ ! -e "$POOL/nodes/c1-restored-shard1-3/shard1" ] &&
  ok "a shard restore that fails (an unwritable --dir) leaves no pool node behind" ||
  notok "failed shard restore" "exit $rc, pool node c1-restored-shard1-3/shard1: $(ls -A "$POOL/nodes/c1-restored-shard1-3/shard1" 2>&1 | tr '\n' ' ')"

# ---- a cluster name the pool already holds: refused before anything starts ------------------
P=$((BASE + 33))
shard_restore s3 "$RDIR/s3" "$P" --to c1r
rc=$?
[ "$rc" = 0 ] && [ "$(jget "$WORK/s3.json" archive_node)" = c1r/shard1 ] && ok "shard1 restored --to c1r archives into c1r/shard1" ||
  notok "shard restore --to c1r" "exit $rc: $(short "$WORK/s3.err")"
stop_under "$RDIR"; rm -rf "$RDIR/s3"
shard_restore s4 "$RDIR/s4" "$P" --to c1r
rc=$?
[ "$rc" != 0 ] && grep -q "already holds node c1r/shard1" "$WORK/s4.err" && [ ! -e "$RDIR/s4/shard1" ] &&
  ok "the same shard --to c1r again is refused, nothing written: $(grep -o 'already holds node [^ ]*' "$WORK/s4.err")" ||
  notok "shard --to c1r again" "exit $rc: $(short "$WORK/s4.err")"
"$BIN" restore --cluster c1 --to c1r --cp cpA --pool "$POOL" --dir "$RDIR/c" --base-port "$((BASE + 34))" \
  >"$WORK/c.out" 2>"$WORK/c.err"
rc=$?
left=$(procs_under "$RDIR")
[ "$rc" != 0 ] && grep -q "already holds node c1r/shard1" "$WORK/c.err" && grep -q "nothing was started" "$WORK/c.err" &&
  [ -z "$left" ] && [ -z "$(ls -A "$RDIR/c" 2>/dev/null)" ] &&
  ok "restore --to c1r (its name held in the pool) is refused before anything starts" ||
  notok "restore --to a used name" "exit $rc, running:$left: $(short "$WORK/c.err")"

bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>"$WORK/destroy.log" || notok "destroy" "$(short "$WORK/destroy.log")"
left=$(procs_under "$WORK")
[ -z "$left" ] && ok "nothing left running" || notok "leftovers" "still running:$left"
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
