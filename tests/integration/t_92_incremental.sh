#!/usr/bin/env bash
# Incremental backups against an oracle: for the same target, a chain
# (full + incrementals) and a full taken at the same point are restored,
# both stopped at the same LSN, and their data directories compared page by
# page (relation files) and byte by byte (the rest). Cases: pgbench churn;
# VACUUM truncating then regrowing a table; drop and recreate a table with
# the same name; CREATE DATABASE with both strategies; unlogged tables; 2PC
# with dropped relations; a chain of 5 incrementals; a diff against the
# full; a fallback to full when the WAL range is not archived.
source "$(dirname "$0")/lib.sh"
PORT_BASE=30000

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PORT=$(free_port "$PORT_BASE")
PG_WAL_SEGSIZE=1 PG_NODE=n1 pg_new_primary n1 "$PORT" "max_prepared_transactions = 10" "checkpoint_timeout = 1h" \
  || { fail "start PostgreSQL" "see log"; finish; }
DATA=$(pg_datadir n1)
sql() { psql_at "$PORT" "$@"; }
CONN="host=127.0.0.1 port=$PORT dbname=postgres"

"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
churn() { "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -c 2 -j 2 -T "$1" -n postgres >>"$T/out/pgbench.log" 2>&1; }

# backup NAME TYPE: sets ID (and $T/out/backup_NAME.out holds the JSON)
backup() {
  run "backup_$1" strata backup --pool "$POOL" --node n1 --pgdata "$DATA" --pg-conn "$CONN" --type "$2" \
      --output json --archive-timeout 120
  check_rc "backup $1 (--type $2)" 0
  ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT" 2>/dev/null)
}
jfield() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$T/out/backup_$1.out" "$2"; }

# restore_at NAME ID LSN: restore backup ID to LSN and shut down there
restore_at() {
  local port
  port=$(free_port $((PORT_BASE + 10)))
  run "restore_$1" timeout --foreground -k 10 600 "$STRATA_BIN" restore --pool "$POOL" --node n1 --backup "$2" \
      --target-dir "$T/$1" --lsn "$3" --target-action shutdown --start --port "$port" --start-timeout 120 \
      --pg-bin "$PG_BIN" --set autovacuum=off
  check_rc "restore $1 (backup $2) to $3" 0
}

# A point every restore can reach: a checkpoint (so that each restored
# instance's shutdown restartpoint writes every page it replayed), then
# the LSN after it, in archived WAL.
target_lsn() {
  sql "checkpoint"
  LSN=$(sql "select pg_current_wal_insert_lsn()")
  sql "create table if not exists tick(x int); insert into tick values (1)"
  wait_archived "$PORT" >/dev/null || fail "archiving" "$(sql "select * from pg_stat_archiver")"
}

# compare NAME DIR_A DIR_B: relation files page by page, the rest byte by byte
compare() {
  if python3 "$T/compare.py" "$2" "$3" >"$T/out/compare_$1.txt" 2>&1; then
    pass "$1: the data directories are identical ($(tail -n 1 "$T/out/compare_$1.txt"))"
  else
    fail "$1" "the data directories differ"; show "$T/out/compare_$1.txt" 25
  fi
}
cat >"$T/compare.py" <<'PY'
import os, re, sys
a, b = sys.argv[1], sys.argv[2]
# Not compared, each for a reason that holds for two fulls as well:
#  pg_wal/: what each instance fetched and recycled; global/pg_control:
#  each instance's own restartpoint and minimum recovery point; the
#  settings strata and the test wrote (port), logs, runtime state
#  (postmaster.*, pg_stat*, relcache init files rebuilt at start).
SKIP_DIRS = {"pg_wal", "pg_stat", "pg_stat_tmp", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots",
             "pg_subtrans", "pg_replslot", "log"}
SKIP_FILES = {"global/pg_control", "postmaster.opts", "postmaster.pid", "postgresql.auto.conf", "postgresql.conf",
              "backup_label.old", "current_logfiles", "recovery.signal", "standby.signal", "tablespace_map.old"}
REL = re.compile(r"^(base/\d+|global)/\d+(_(fsm|vm|init))?(\.\d+)?$")
def files(root):
    out = set()
    for d, dirs, fs in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in SKIP_DIRS:
            dirs[:] = []
            continue
        for f in fs:
            p = os.path.normpath(os.path.join(rel, f))
            if p in SKIP_FILES or f == "pg_internal.init" or f.endswith(".log") or f.startswith("strata-"):
                continue
            out.add(p)
    return out
fa, fb = files(a), files(b)
bad = 0
for p in sorted(fa ^ fb):
    print("only in %s: %s" % (a if p in fa else b, p)); bad += 1
pages = same_files = fsm_pages = hint_pages = 0
import struct
def mask(pg):
    pg = bytearray(pg)
    lower, upper, special = struct.unpack_from("<HHH", pg, 12)
    if not (24 <= lower <= upper <= special <= 8192):
        return bytes(pg)
    pg[8:10] = b"\0\0"                      # checksum (covers the hints)
    pg[10] &= ~0x07                          # PD_HAS_FREE_LINES, PD_PAGE_FULL, PD_ALL_VISIBLE
    pg[20:24] = b"\0\0\0\0"                  # pd_prune_xid
    pg[lower:upper] = bytes(upper - lower)   # the hole
    heap = special == 8192
    for lp in range(24, lower - 3, 4):
        v = struct.unpack_from("<I", pg, lp)[0]
        off, flags, ln = v & 0x7FFF, (v >> 15) & 3, v >> 17
        if not heap:
            struct.pack_into("<I", pg, lp, v & ~(3 << 15))   # mask_lp_flags
            continue
        if flags != 1 or off + 24 > 8192:
            continue
        im = struct.unpack_from("<H", pg, off + 20)[0]
        im &= ~0x0C00 if (im & 0x0300) == 0x0300 else ~0xFFF0   # heap_mask's infomask hints
        struct.pack_into("<H", pg, off + 20, im)
        pg[off + 8:off + 12] = b"\0\0\0\0"        # t_cid
        end = off + ln
        pg[end:min((end + 7) & ~7, 8192)] = bytes(min((end + 7) & ~7, 8192) - end)
    if special == 8192 - 16:                  # btree: BTP_HAS_GARBAGE, BTP_SPLIT_END, cycle id
        f = struct.unpack_from("<H", pg, special + 12)[0] & ~(0x40 | 0x20)
        struct.pack_into("<HH", pg, special + 12, f, 0)
    return bytes(pg)
for p in sorted(fa & fb):
    x = open(os.path.join(a, p), "rb").read(); y = open(os.path.join(b, p), "rb").read()
    if REL.match(p):
        n = max(len(x), len(y)) // 8192
        pages += n
        if len(x) != len(y):
            print("%s: %d vs %d bytes" % (p, len(x), len(y))); bad += 1; continue
        diff = [i for i in range(n) if x[i*8192:(i+1)*8192] != y[i*8192:(i+1)*8192]]
        # Pages equal only under PostgreSQL's own masks for comparing a page
        # rebuilt by replay with one written by the server
        # (wal_consistency_checking: bufmask.c, heap_mask, btree_mask): hint
        # bits and flags set without WAL, the unused hole (zeroed when a
        # full-page image is replayed), t_cid (replay writes 0), killed
        # index items. The two restores replay from different start LSNs, so
        # one may rebuild a page from an image the other read from disk: two
        # fulls taken at different moments differ the same way.
        masked = [i for i in diff if mask(x[i*8192:(i+1)*8192]) == mask(y[i*8192:(i+1)*8192])]
        hint_pages += len(masked)
        diff = [i for i in diff if i not in masked]
        if diff and p.split(".")[0].endswith("_fsm"):
            # The free space map is not WAL-logged (PostgreSQL updates it
            # without WAL and never replays it): two backups read at
            # different moments hold different FSM pages, fulls too.
            fsm_pages += len(diff); continue
        if diff:
            print("%s: %d of %d pages differ, first block %d" % (p, len(diff), n, diff[0])); bad += 1
    elif x != y:
        print("%s: contents differ (%d vs %d bytes)" % (p, len(x), len(y))); bad += 1
    same_files += 1
print("%d files, %d relation pages compared; differ: %d FSM pages (not WAL-logged), %d pages only in what PostgreSQL's WAL consistency masks ignore"
      % (len(fa & fb), pages, fsm_pages, hint_pages))
sys.exit(1 if bad else 0)
PY

# ---- a full, pgbench churn, an incremental, a full at the same point ---------
sql "checkpoint"
backup full0 full; FULL0=$ID
FULL_READ=$(jfield full0 read_bytes)
churn 5
backup incr1 incr; INCR1=$ID
check_eq "incr1 is an incremental" incr "$(jfield incr1 type)"
check_eq "incr1 builds on the full" "$FULL0" "$(jfield incr1 parent)"
INCR_READ=$(jfield incr1 read_bytes)
note "full read $FULL_READ bytes, incremental after 5 s of pgbench $INCR_READ"
# How much of the data 5 s of pgbench changes depends on the machine's
# speed (on an idle one most of pgbench_accounts): what never changes is
# that the catalogs and the untouched relations are not read again.
check "the incremental read less than the full read" test "$INCR_READ" -lt "$FULL_READ"
backup full1 full; FULL1=$ID
target_lsn
restore_at chain1 "$INCR1" "$LSN"
restore_at full1 "$FULL1" "$LSN"
compare "pgbench churn: full+incr vs full" "$T/chain1" "$T/full1"

# ---- the edge cases, one incremental each: a chain of 5 ----------------------
# VACUUM truncating a table, then regrowing it
sql "create table vt(id int, pad text); insert into vt select g, repeat('x', 300) from generate_series(1, 20000) g"
backup incr2a incr; INCR2A=$ID
sql "delete from vt where id > 50"
sql "vacuum vt"
sql "insert into vt select g, repeat('y', 300) from generate_series(51, 8000) g"
churn 1
backup incr2 incr; INCR2=$ID
# drop and recreate a table with the same name; both CREATE DATABASE strategies
sql "create table same(x int); insert into same select generate_series(1, 5000)"
sql "drop table same; create table same(x int); insert into same select generate_series(1, 3000)"
sql "create database dcopy strategy file_copy" >/dev/null
sql "create database dwal strategy wal_log" >/dev/null
psql_at "$PORT" "create table indb(x int); insert into indb select generate_series(1, 1000)" dwal
psql_at "$PORT" "create table indb(x int); insert into indb select generate_series(1, 1000)" dcopy
backup incr3 incr; INCR3=$ID
# unlogged tables; 2PC with dropped relations (committed and rolled back)
sql "create unlogged table ul(x int); insert into ul select generate_series(1, 2000)"
sql "create table drop2pc(x int); insert into drop2pc select generate_series(1, 2000)"
sql "begin; drop table drop2pc; prepare transaction 'g-drop'" >/dev/null
sql "commit prepared 'g-drop'" >/dev/null
sql "begin; create table made2pc(x int); insert into made2pc values (1); prepare transaction 'g-made'" >/dev/null
sql "rollback prepared 'g-made'" >/dev/null
sql "drop database dcopy" >/dev/null
sql "create database dcopy strategy file_copy" >/dev/null
backup incr4 incr; INCR4=$ID
churn 2
backup incr5 incr; INCR5=$ID
check_eq "incr5 builds on incr4" "$INCR4" "$(jfield incr5 parent)"
backup diff1 diff; DIFF1=$ID
check_eq "the diff builds on the last full" "$FULL1" "$(jfield diff1 parent)"
backup full2 full; FULL2=$ID
target_lsn
restore_at chain5 "$INCR5" "$LSN"
check_msg "the restore names the chain" "chain of 6 backups"
restore_at diff1 "$DIFF1" "$LSN"
restore_at full2 "$FULL2" "$LSN"
compare "chain of 5 incrementals (truncate+regrow, recreate, databases, unlogged, 2PC) vs full" "$T/chain5" "$T/full2"
compare "full+diff vs full" "$T/diff1" "$T/full2"

# ---- info, verify, expire ----------------------------------------------------
run info strata info --pool "$POOL" --node n1
check_rc "info" 0
check_msg "info shows the chain" "$INCR5 (incr on $INCR4, chain of 6 from $FULL1)"
run verify strata verify --pool "$POOL" --node n1 --backup "$INCR2"
check_rc "verify checks a chain" 0
check_msg "verify read the chain's every backup" "$INCR2A"
backup incr6 incr; INCR6=$ID
run expire strata expire --pool "$POOL" --node n1 --keep 1
check_rc "expire --keep 1" 0
run info2 strata info --pool "$POOL" --node n1 --output json
check "expire kept the newest, $INCR6" grep -q "$INCR6" "$OUT"
check "expire kept $FULL2: the kept $INCR6 builds on it" grep -q "$FULL2" "$OUT"
for id in "$FULL0" "$INCR1" "$FULL1" "$INCR5"; do
  check "expire removed $id (nothing kept builds on it)" bash -c "! grep -q '$id' '$OUT'"
done

# ---- fallback: a WAL range that is not archived ------------------------------
churn 1
MID=$(sql "select pg_walfile_name(pg_current_wal_insert_lsn())")
churn 1
wait_archived "$PORT" >/dev/null
for f in $(wal_objects n1); do [ "$(wal_name_of "$f")" = "$MID" ] && pool_take "$f" "$T/taken.wal"; done
note "took WAL segment $MID out of the pool"
backup fallback incr
check_eq "a WAL gap: a full instead" full "$(jfield fallback type)"
check "the fallback says why" grep -q "$MID.*not archived" "$T/out/backup_fallback.out"
run info3 strata info --pool "$POOL" --node n1
check_msg "info says why a full was taken" "a full instead of an incremental"

FALLBACK=$ID

# ---- a failover between the parent and the incremental (timeline switch) -----
SPORT=$(free_port $((PORT_BASE + 1)))
pg_new_standby s1 "$SPORT" "$PORT" || { fail "standby" "see log"; finish; }
churn 1
wait_replay "$SPORT" "$PORT" || fail "standby replay" "timed out"
pg_stop "$DATA"   # the old primary: what it wrote is archived as it stops
"$PG_BIN/pg_ctl" -D "$(pg_datadir s1)" -w promote >"$T/out/promote.log" 2>&1
PORT=$SPORT DATA=$(pg_datadir s1) CONN="host=127.0.0.1 port=$SPORT dbname=postgres"
wait_for "$PORT" "select not pg_is_in_recovery()" 60 || fail "promote" "$(cat "$T/out/promote.log")"
churn 2
wait_archived "$PORT" >/dev/null || fail "archiving on timeline 2" "$(sql "select * from pg_stat_archiver")"
backup failover incr; INCRF=$ID
check_eq "after the failover, an incremental on timeline 2" "incr 2" "$(jfield failover type) $(jfield failover timeline)"
check_eq "it builds on the timeline 1 backup" "$FALLBACK" "$(jfield failover parent)"
backup full3 full; FULL3=$ID
target_lsn
restore_at chainf "$INCRF" "$LSN"
restore_at full3 "$FULL3" "$LSN"
compare "failover between the backups: full (timeline 1) + incr (timeline 2) vs full" "$T/chainf" "$T/full3"

pg_stop "$DATA"
finish
