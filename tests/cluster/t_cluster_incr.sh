#!/usr/bin/env bash
# t_cluster_incr: incremental and differential cluster backups (issue 11).
# A 1-shard cluster with a table on the shard; cluster backups B1 full, B2
# incr, B3 diff, B4 incr with rows changed in between. Each replica set's
# node backup of B2 builds on its node backup in B1, B3's on B1's (the
# newest full), B4's on B3's; the cluster manifests say so (type, parent).
# B4 restores into a new cluster (primaries only, its end CP): the check
# passes and the shard holds exactly the rows of the source at B4. expire
# --keep 1 keeps B4 and what it builds on (B3, B1), removes B2, and says
# why; verify is clean; B4 still restores. A shard backup --type incr with
# no earlier shard backup is a full one, saying why. Bad input is refused.
#
# Runs as an unprivileged user (tests/run.sh runs it as `strata`).
# Ports: 29700-29799 (the cluster: base + 0-3, 10-12; the restores from 29790).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-cluster-incr.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RDIR=$WORK/restored

# shellcheck source=lib.sh
. "$HERE/lib.sh"
PSQL_HOST=$DIR/sock

cleanup() {
  stop_under "$RDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base 29700 29780 20 0 1 2 3 10 11 12) || { notok "setup" "no free cluster ports in 29700-29779"; exit 1; }
RBASE=$(pick_base 29780 29800 10 0 1 2 3 4 5) || { notok "setup" "no free ports in 29780-29799 for the restores"; exit 1; }

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" --pool "$POOL" \
  --name c1 --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
SHARD=$((BASE + 10))
# The workload's tables and row in the metadata: what check-consistency
# checks a restored cluster against.
"$BIN" workload --meta-conn "$META" --cluster c1 --init --accounts 20 --duration 0 --quiet 2>"$WORK/init.log" ||
  { notok "workload --init" "$(short "$WORK/init.log")"; exit 1; }
psql_at "$SHARD" postgres "CREATE TABLE t (i int PRIMARY KEY, v int, pad text);
  INSERT INTO t SELECT g, 0, repeat('x', 200) FROM generate_series(1, 20000) g" ||
  { notok "setup" "the table on shard1"; exit 1; }

# Rows changed on the shard and the primaries' WAL switched, so that the
# next backup's WAL range is archived soon. No checkpoint: a backup from a
# standby starts at the standby's newest restartpoint, which is the
# parent's start until the primary checkpoints again; strata asks the
# primary for one then (checked below), as checkpoint_timeout (5 min)
# does not come within this test.
change() {   # FROM TO: update rows FROM..TO and add one
  psql_at "$SHARD" postgres "UPDATE t SET v = v + 1 WHERE i BETWEEN $1 AND $2;
    INSERT INTO t VALUES ($((20000 + $2)), 1, 'new')" >/dev/null
  psql_at "$SHARD" postgres "SELECT pg_switch_wal()" >/dev/null
  psql_at "$BASE" postgres "SELECT pg_switch_wal()" >/dev/null
}
backup() {   # K TYPE [ARGS...]: cluster backup number K
  local k=$1 type=$2
  shift 2
  if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --type "$type" "$@" --output json \
    >"$WORK/b$k.json" 2>"$WORK/b$k.log"; then
    ID[$k]=$(jget "$WORK/b$k.json" id)
    pool_get "clusters/c1/backups/${ID[$k]}/cluster.manifest" "$WORK/m$k.sealed"
    python3 - "$WORK/m$k.sealed" >"$WORK/m$k.json" <<'EOF'
import sys
text = open(sys.argv[1]).read()
print(text[:text.rindex("\nsha256:")])
EOF
    return 0
  fi
  notok "cluster backup $k (--type $type $*)" "$(short "$WORK/b$k.log")"
  return 1
}
# "type:parent" of set SET's node backup in manifest K, and its backup id
node_of() { python3 - "$WORK/m$1.json" "$2" "$3" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
for n in m["nodes"]:
    if n["set"] == sys.argv[2]:
        print(n.get(sys.argv[3], ""))
EOF
}
declare -A ID
backup 1 full || exit 1
sleep 1.1   # cluster backup ids have one-second resolution
change 1 3000
backup 2 incr || exit 1
sleep 1.1
change 3001 6000
backup 3 diff || exit 1
sleep 1.1
change 6001 9000
backup 4 incr || exit 1
ROWS_B4=$(psql_at "$SHARD" postgres "SELECT count(*) || ' ' || sum(v) FROM t")
change 9001 12000   # after B4: must not be in B4's restore
if grep -q "asking the primary for a CHECKPOINT" "$WORK"/b[234].log; then
  ok "an incremental from a standby asked the primary for a checkpoint after its parent's start"
else
  notok "checkpoint before an incremental from a standby" "no backup log of B2..B4 says it asked the primary: $(short "$WORK/b2.log")"
fi
ok "cluster backups: B1 ${ID[1]} full, B2 ${ID[2]} incr, B3 ${ID[3]} diff, B4 ${ID[4]} incr; at B4 the shard held '$ROWS_B4' (rows, sum)"

# ---- the chains ------------------------------------------------------------------------------
chain_ok=1
for set in meta shard1; do
  for spec in "2 incr 1" "3 diff 1" "4 incr 3"; do
    read -r k type on <<<"$spec"
    got_type=$(node_of "$k" "$set" type) got_parent=$(node_of "$k" "$set" parent)
    want_parent=$(node_of "$on" "$set" backup)
    if [ "$got_type" != "$type" ] || [ "$got_parent" != "$want_parent" ]; then
      chain_ok=0
      notok "B$k's node backup of $set" "type '$got_type' on '$got_parent', want $type on B$on's $want_parent"
    fi
  done
  [ "$(node_of 1 "$set" type)" = full ] || { chain_ok=0; notok "B1's node backup of $set" "not full"; }
done
[ "$(jget "$WORK/m4.json" type)" = incr ] || { chain_ok=0; notok "B4's manifest" "type '$(jget "$WORK/m4.json" type)'"; }
[ "$chain_ok" = 1 ] && ok "every set builds on the previous cluster backup's node backup (B2 on B1, B3 diff on B1, B4 on B3)"
small=$(python3 - "$WORK/m1.json" "$WORK/m4.json" <<'EOF'
import json, sys
def stored(f, s):
    return [n["stored_size"] for n in json.load(open(f))["nodes"] if n["set"] == s][0]
print(int(stored(sys.argv[2], "shard1") * 2 < stored(sys.argv[1], "shard1")))
EOF
)
[ "$small" = 1 ] && ok "B4's node backup of shard1 stores less than half of B1's" ||
  notok "B4's size" "shard1 stored $(node_of 4 shard1 stored_size) bytes, B1's $(node_of 1 shard1 stored_size)"
grep -q "incr backup on node backup" "$WORK/b4.log" && ok "the backup log names each set's parent" ||
  notok "backup log" "$(short "$WORK/b4.log")"

# ---- restore of the incremental cluster backup -----------------------------------------------
restore_b4() {   # LABEL
  local name=c1_$1 out=$WORK/r_$1.json
  if ! "$BIN" restore --cluster c1 --to "$name" --pool "$POOL" --dir "$RDIR" --base-port "$RBASE" --primaries-only \
    --cp "$(jget "$WORK/m4.json" end_cp.name)" --output json >"$out" 2>"$WORK/r_$1.err"; then
    notok "restore $1 of B4" "$(short "$WORK/r_$1.err")"
    return
  fi
  local mport sport got
  mport=$(jget "$out" topology.meta.0.port) sport=$(jget "$out" topology.shards.0.nodes.0.port)
  if "$BIN" check-consistency --meta-conn "host=127.0.0.1 port=$mport dbname=strata" --cluster "$name" \
    >"$WORK/check_$1.out" 2>&1; then
    ok "restore $1 of B4: check-consistency passes"
  else
    notok "restore $1: check-consistency" "$(head -c 600 "$WORK/check_$1.out" | tr '\n' ' ')"
  fi
  got=$(PSQL_HOST=127.0.0.1 psql_at "$sport" postgres "SELECT count(*) || ' ' || sum(v) FROM t")
  [ "$got" = "$ROWS_B4" ] && ok "restore $1 of B4: the shard holds exactly the rows at B4 ('$got')" ||
    notok "restore $1 of B4: rows" "'$got', the source held '$ROWS_B4' at B4"
  stop_under "$RDIR"
  rm -rf "$RDIR"
}
restore_b4 first

# ---- expire keeps the chain -----------------------------------------------------------------
if "$BIN" expire --pool "$POOL" --cluster c1 --keep 1 >"$WORK/expire.out" 2>"$WORK/expire.log"; then
  left=$(pool_ls clusters/c1/backups | paste -sd' ')
  if [ "$left" = "${ID[1]} ${ID[3]} ${ID[4]}" ] && grep -q "${ID[3]} is kept: a kept incremental" "$WORK/expire.out" &&
    grep -q "${ID[1]} is kept: a kept incremental" "$WORK/expire.out"; then
    ok "expire --keep 1 keeps B4 and the backups it builds on ($left), saying why; B2 is gone"
  else
    notok "expire --keep 1" "left '$left' (want ${ID[1]} ${ID[3]} ${ID[4]}): $(short "$WORK/expire.out")"
  fi
else
  notok "expire --keep 1" "$(short "$WORK/expire.log")"
fi
b2=$(node_of 2 shard1 backup)
pool_lacks "nodes/c1/shard1/backups/$b2/backup.manifest" && ok "B2's node backup of shard1 ($b2) is gone" ||
  notok "B2's node backup" "nodes/c1/shard1/backups/$b2 is still there"
if "$BIN" verify --pool "$POOL" >"$WORK/verify.out" 2>&1; then
  ok "strata verify is clean after expire"
else
  notok "verify" "$(short "$WORK/verify.out")"
fi
restore_b4 after_expire

# ---- a shard backup with no earlier shard backup is a full one ------------------------------
if backup 5 incr --shard shard1; then
  [ "$(node_of 5 shard1 type)" = full ] && grep -q "no earlier cluster backup of this scope holds it" "$WORK/b5.log" &&
    ok "shard1 --type incr with no earlier shard backup: a full backup, saying why" ||
    notok "shard incr without a parent" "type '$(node_of 5 shard1 type)': $(short "$WORK/b5.log")"
fi

# ---- bad input ------------------------------------------------------------------------------
bad() {   # PATTERN ARGS...: exit 2 and stderr matching PATTERN
  local pat=$1 rc
  shift
  "$BIN" backup --pool "$POOL" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
  rc=$?
  [ "$rc" = 2 ] && grep -q -- "$pat" "$WORK/bad.err" && ok "refused (exit 2): backup $*" ||
    notok "bad input: backup $*" "exit $rc: $(short "$WORK/bad.err")"
}
bad "chooses each replica set's parent itself" --cluster c1 --meta-conn "$META" --type incr --parent "$b2"
bad "a full backup has no parent" --node c1/shard1 --pgdata "$DIR/shard1-2/data" --parent "$b2"
bad "parent" --node c1/shard1 --pgdata "$DIR/shard1-2/data" --type incr --parent "../x"
exit "$FAILED"
