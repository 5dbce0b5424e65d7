#!/usr/bin/env bash
# t_expire: strata expire on a real pool. A 1-shard cluster, four cluster
# backups with rows and WAL in between; --dry-run removes nothing; --keep 2
# removes the two oldest (cluster manifests and their node backups), the WAL
# before the oldest kept backup's start on every node (the WAL after stays),
# the CPs older than the oldest kept backup's end CP, and marks them expired
# in the catalog; the oldest kept backup still restores (--start, replaying
# to the latest WAL) with every row; strata verify is clean; --keep-days
# and single-node mode remove nothing they must not; bad input is refused.
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/cluster/t_expire.sh
# Ports: 29500-29599 (the cluster: base + 0-3, 10-12; the restore: 29590-29599).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-expire.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool

# shellcheck source=lib.sh
. "$HERE/lib.sh"
PSQL_HOST=$DIR/sock

cleanup() {
  stop_under "$WORK/r1"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base 29500 29590 20 0 1 2 3 10 11 12) || { notok "setup" "no free cluster ports in 29500-29589"; exit 1; }
RPORT=
for ((p = 29590; p < 29600; p++)); do port_free "$p" && { RPORT=$p; break; }; done
[ -n "$RPORT" ] || { notok "setup" "no free port in 29590-29599 for the restore"; exit 1; }

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" --pool "$POOL" \
  --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
SHARD=$((BASE + 10))
psql_at "$SHARD" postgres "CREATE TABLE t (i int, pad text)" || notok "setup" "CREATE TABLE on shard1"

# ---- four cluster backups, rows and WAL in between ----------------------------------
IDS=()
for k in 1 2 3 4; do
  psql_at "$SHARD" postgres "INSERT INTO t SELECT g, repeat('x', 500) FROM generate_series(1, 1000) g;
    SELECT pg_switch_wal()" >/dev/null
  psql_at "$BASE" postgres "SELECT pg_switch_wal()" >/dev/null
  if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --quiet --output json \
    >"$WORK/b$k.json" 2>"$WORK/b$k.log"; then
    IDS+=("$(jget "$WORK/b$k.json" id)")
  else
    notok "cluster backup $k" "$(short "$WORK/b$k.log")"
    exit 1
  fi
  sleep 1.1   # cluster backup ids have one-second resolution
done
psql_at "$SHARD" postgres "INSERT INTO t SELECT g, 'after' FROM generate_series(1, 77) g; SELECT pg_switch_wal()" >/dev/null
ROWS=$(psql_at "$SHARD" postgres "SELECT count(*) FROM t")
ok "four cluster backups: ${IDS[*]}; $ROWS rows on shard1"

# The node backups each cluster backup references, and facts about the pool.
node_backup() {   # K SET: the node backup of set SET in cluster backup K
  python3 - "$WORK/b$1.json" "$2" <<'EOF'
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    if n["set"] == sys.argv[2]:
        print(n["backup"])
EOF
}
wal_counts() {   # NODE CUTOFF_SEGNO: "<segments below> <segments at or above>" in the pool
  pool_objects "nodes/$1/wal" | python3 -c '
import os, re, sys
below = above = 0
for path in sys.stdin:
    m = re.match(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})-", os.path.basename(path.strip()))
    if not m:
        continue
    segno = int(m.group(2), 16) * 4096 + int(m.group(3), 16)   # 1 MiB segments
    if segno < int(sys.argv[1]):
        below += 1
    else:
        above += 1
print(below, above)
' "$2"
}
start_segno() {   # NODE BACKUP: the start segment number of a node backup
  "$BIN" info --pool "$POOL" --node "$1" --output json >"$WORK/info.json" 2>/dev/null
  python3 - "$WORK/info.json" "$2" <<'EOF'
import json, sys
for b in json.load(open(sys.argv[1]))["nodes"][0]["backups"]:
    if b["id"] == sys.argv[2]:
        hi, lo = b["start_lsn"].split("/")
        print(((int(hi, 16) << 32) + int(lo, 16)) // (1024 * 1024))
EOF
}
cps_in_pool() { pool_ls clusters/c1/cps | wc -l; }
# The pool's files (WAL keeps arriving: the cluster archives every second).
files_to() { pool_files >"$1"; }
missing_since() {   # LIST [GREP ARGS]: how many files of LIST (matching) are gone
  local list=$1
  shift
  [ $# -gt 0 ] || set -- .
  files_to "$WORK/files.now"
  comm -23 "$list" "$WORK/files.now" | grep -c "$@"
}

declare -A CUT BEFORE
for set in meta shard1; do
  kept_oldest=$(node_backup 3 "$set")
  CUT[$set]=$(start_segno "c1/$set" "$kept_oldest")
  BEFORE[$set]=$(wal_counts "c1/$set" "${CUT[$set]}")
done
CPS_BEFORE=$(cps_in_pool)
if [ -n "${CUT[shard1]}" ] && [ "${BEFORE[shard1]%% *}" -gt 0 ] && [ "${BEFORE[meta]%% *}" -gt 0 ]; then
  ok "before: WAL segments below / from the 3rd backup's start: shard1 ${BEFORE[shard1]}, meta ${BEFORE[meta]}; $CPS_BEFORE CPs"
else
  notok "before" "expected WAL below the 3rd backup's start (cut ${CUT[shard1]}): shard1 ${BEFORE[shard1]}, meta ${BEFORE[meta]}"
fi

# ---- bad input -------------------------------------------------------------------------
bad() {   # WANT_RC PATTERN ARGS...: exit code WANT_RC and stderr matching PATTERN
  local want=$1 pat=$2 rc
  shift 2
  "$BIN" expire "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
  rc=$?
  if [ "$rc" = "$want" ] && grep -q -- "$pat" "$WORK/bad.err"; then
    ok "bad input refused (exit $rc): expire $*"
  else
    notok "bad input: expire $*" "exit $rc (want $want), stderr: $(short "$WORK/bad.err")"
  fi
}
files_to "$WORK/files.0"
bad 2 "give the retention" --pool "$POOL" --cluster c1
bad 2 "one of them" --pool "$POOL" --cluster c1 --keep 2 --keep-days 3
bad 2 "out of range" --pool "$POOL" --cluster c1 --keep 0
bad 2 "not a whole number" --pool "$POOL" --cluster c1 --keep-days abc
bad 2 "give --cluster C or --node" --pool "$POOL" --keep 2
bad 2 "give --cluster C or --node" --pool "$POOL" --cluster c1 --node c1/shard1 --keep 2
bad 2 "shard needs --cluster" --pool "$POOL" --node c1/shard1 --shard shard1 --keep 2
bad 1 "holds nothing of cluster nosuch" --pool "$POOL" --cluster nosuch --keep 2
bad 1 "has no node c1/nosuch" --pool "$POOL" --node c1/nosuch --keep 2
bad 1 "has no shard nosuch of cluster c1" --pool "$POOL" --cluster c1 --shard nosuch --keep 2
bad 1 "is not a strata pool" --pool "$WORK" --cluster c1 --keep 2
bad 2 "unknown option --kep" --pool "$POOL" --cluster c1 --kep 2
m=$(missing_since "$WORK/files.0")
[ "$m" = 0 ] && ok "bad input removed nothing from the pool" || notok "bad input" "$m file(s) of the pool were removed"

# ---- dry run ---------------------------------------------------------------------------
if "$BIN" expire --pool "$POOL" --cluster c1 --keep 2 --dry-run --output json >"$WORK/dry.json" 2>"$WORK/dry.log"; then
  would=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(b["id"] for b in d["removed_backups"]))' "$WORK/dry.json")
  m=$(missing_since "$WORK/files.0")
  if [ "$would" = "${IDS[0]} ${IDS[1]}" ] && [ "$m" = 0 ]; then
    ok "dry run: would remove $would, removed nothing"
  else
    notok "dry run" "would remove '$would' (want ${IDS[0]} ${IDS[1]}); $m file(s) removed"
  fi
else
  notok "dry run" "$(short "$WORK/dry.log")"
fi

# ---- single-node mode: node backups that belong to cluster backups stay ---------------------
if "$BIN" expire --pool "$POOL" --node c1/shard1 --keep 1 >"$WORK/node.out" 2>"$WORK/node.log" &&
  grep -q "is part of cluster backup" "$WORK/node.out" && [ "$(missing_since "$WORK/files.0" /backups/)" = 0 ]; then
  ok "--node c1/shard1 --keep 1: its backups are parts of cluster backups, none removed"
else
  notok "--node mode" "$(short "$WORK/node.out") $(short "$WORK/node.log")"
fi

# ---- keep-days: everything is recent, no backup goes (WAL before the oldest may) --------------
if "$BIN" expire --pool "$POOL" --cluster c1 --keep-days 1 >"$WORK/days.out" 2>"$WORK/days.log" &&
  [ "$(missing_since "$WORK/files.0" -e /backups/ -e /cps/)" = 0 ] && grep -q "kept 4 backup(s)" "$WORK/days.out"; then
  ok "--keep-days 1: all four backups are recent, no backup or CP removed"
else
  notok "--keep-days 1" "$(short "$WORK/days.out") $(short "$WORK/days.log")"
fi

# ---- keep 2 ----------------------------------------------------------------------------
if "$BIN" expire --pool "$POOL" --cluster c1 --keep 2 --meta-conn "$META" >"$WORK/expire.out" 2>"$WORK/expire.log"; then
  ok "expire --keep 2: $(grep -c '^removed' "$WORK/expire.out") removal line(s)"
  sed 's/^/# /' "$WORK/expire.out"
else
  notok "expire --keep 2" "$(short "$WORK/expire.log")"
fi
left=$(pool_ls clusters/c1/backups | paste -sd' ')
[ "$left" = "${IDS[2]} ${IDS[3]}" ] && ok "the pool holds cluster backups $left" ||
  notok "cluster backups left" "'$left', want '${IDS[2]} ${IDS[3]}'"
gone=0
for k in 1 2; do
  for set in meta shard1; do
    nb=$(node_backup "$k" "$set")
    pool_has "nodes/c1/$set/backups/$nb" && { gone=1; notok "node backup removed" "c1/$set $nb is still there"; }
  done
done
for k in 3 4; do
  for set in meta shard1; do
    nb=$(node_backup "$k" "$set")
    pool_has "nodes/c1/$set/backups/$nb/backup.manifest" || { gone=1; notok "node backup kept" "c1/$set $nb is missing"; }
  done
done
[ "$gone" = 0 ] && ok "node backups of the removed cluster backups are gone, those of the kept ones stay"
for set in meta shard1; do
  after=$(wal_counts "c1/$set" "${CUT[$set]}")
  if [ "${after%% *}" = 0 ] && [ "${after#* }" -ge "${BEFORE[$set]#* }" ]; then
    ok "WAL of c1/$set: the ${BEFORE[$set]%% *} segment(s) before the oldest kept backup are gone, ${after#* } from it on stay"
  else
    notok "WAL of c1/$set" "below/above the cut: before ${BEFORE[$set]}, after $after"
  fi
done
CPS_AFTER=$(cps_in_pool)
end3=$(jget "$WORK/b3.json" end_cp.epoch)
rm -rf "$WORK/cps" && mkdir -p "$WORK/cps"
for cp in $(pool_ls clusters/c1/cps); do pool_get "clusters/c1/cps/$cp" "$WORK/cps/$cp"; done
old_cps=$(python3 - "$WORK/cps" "$end3" <<'EOF'
import json, os, sys
n = 0
for f in os.listdir(sys.argv[1]):
    text = open(os.path.join(sys.argv[1], f)).read()
    d = json.loads(text[:text.rindex("\nsha256:")])
    n += d["epoch"] < float(sys.argv[2])
print(n)
EOF
)
if [ "$CPS_AFTER" -lt "$CPS_BEFORE" ] && [ "$old_cps" = 0 ] && [ "$CPS_AFTER" -ge 2 ]; then
  ok "CPs: $CPS_BEFORE -> $CPS_AFTER, none older than the oldest kept backup's end CP"
else
  notok "CPs" "$CPS_BEFORE -> $CPS_AFTER, $old_cps older than the 3rd backup's end CP"
fi
st=$(psql_at "$BASE" strata "SELECT string_agg(DISTINCT status, ',') FROM strata.backups WHERE id IN ('${IDS[0]}', '${IDS[1]}')")
st2=$(psql_at "$BASE" strata "SELECT string_agg(DISTINCT status, ',') FROM strata.backups WHERE id IN ('${IDS[2]}', '${IDS[3]}')")
[ "$st" = expired ] && [ "$st2" = complete ] && ok "catalog: removed backups 'expired', kept ones 'complete'" ||
  notok "catalog" "removed: '$st', kept: '$st2'"

# ---- what is kept still works ---------------------------------------------------------------
if "$BIN" verify --pool "$POOL" >"$WORK/verify.out" 2>&1; then
  ok "strata verify is clean after expire"
else
  notok "verify" "$(short "$WORK/verify.out")"
fi
nb3=$(node_backup 3 shard1)
if "$BIN" restore --pool "$POOL" --node c1/shard1 --backup "$nb3" --target-dir "$WORK/r1" --port "$RPORT" \
  --start --quiet >"$WORK/restore.out" 2>"$WORK/restore.log"; then
  n=$(PSQL_HOST=127.0.0.1 psql_at "$RPORT" postgres "SELECT count(*) FROM t")
  [ "$n" = "$ROWS" ] && ok "the oldest kept backup ($nb3) restores to the latest WAL: $n rows" ||
    notok "restore row count" "$n rows, the source has $ROWS"
else
  notok "restore of the oldest kept backup $nb3" "$(short "$WORK/restore.log")"
fi
stop_under "$WORK/r1"

# ---- again: the newest backups stay whatever the retention -----------------------------------
if "$BIN" expire --pool "$POOL" --cluster c1 --keep 1 --output json >"$WORK/k1.json" 2>"$WORK/k1.log" &&
  [ "$(pool_ls clusters/c1/backups | paste -sd' ')" = "${IDS[3]}" ]; then
  ok "--keep 1 leaves the newest backup ${IDS[3]}"
else
  notok "--keep 1" "$(short "$WORK/k1.log") left: $(pool_ls clusters/c1/backups | paste -sd' ')"
fi
if "$BIN" verify --pool "$POOL" >"$WORK/verify2.out" 2>&1; then
  ok "strata verify is clean after the second expire"
else
  notok "verify after --keep 1" "$(short "$WORK/verify2.out")"
fi
exit "$FAILED"
