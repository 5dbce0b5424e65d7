#!/usr/bin/env bash
# The WAL decoder and index against a real PostgreSQL 15: a workload that
# writes every record kind the index interprets (2PC commit and rollback,
# CREATE DATABASE with both strategies, DROP DATABASE, a VACUUM that
# truncates, DROP TABLE, a restore point, a wal_level change), archived by
# wal-push with 1 MiB segments (many records cross segments). Every block
# reference the decoder finds must equal pg_waldump's on the same segments;
# the index must hold the restore point, the 2PC records and the rest.
source "$(dirname "$0")/lib.sh"

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PORT=$(free_port "$PORT_BASE")
PG_WAL_SEGSIZE=1 PG_NODE=n1 pg_new_primary n1 "$PORT" "max_prepared_transactions = 10" \
  || { fail "start PostgreSQL" "see log"; finish; }
DATA=$(pg_datadir n1)
sql() { psql_at "$PORT" "$@"; }

# ---- workload ----------------------------------------------------------------
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -c 2 -t 300 -n postgres >"$T/out/pgbench.log" 2>&1
sql "create table two(x int)"
sql "begin; insert into two values (1); prepare transaction 'gtx-commit-1'" >/dev/null
sql "commit prepared 'gtx-commit-1'" >/dev/null
DOOMED=$(sql "begin; create table doomed(x int); insert into doomed values (1);
              select pg_relation_filenode('doomed'); prepare transaction 'gtx-abort-1'" | grep -E '^[0-9]+$')
sql "rollback prepared 'gtx-abort-1'" >/dev/null
sql "create database dcopy strategy file_copy" >/dev/null
sql "create database dwal strategy wal_log" >/dev/null
DCOPY=$(sql "select oid from pg_database where datname = 'dcopy'")
DWAL=$(sql "select oid from pg_database where datname = 'dwal'")
sql "drop database dcopy" >/dev/null
L1=$(sql "select pg_current_wal_insert_lsn()")
sql "create table vt(id int, pad text)"
sql "insert into vt select g, repeat('x', 200) from generate_series(1, 20000) g"
VT=$(sql "select relfilenode from pg_class where relname = 'vt'")
sql "delete from vt where id > 100"
sql "vacuum vt"
L2=$(sql "select pg_current_wal_insert_lsn()")
sql "create table gone(x int)"
GONE=$(sql "select relfilenode from pg_class where relname = 'gone'")
sql "drop table gone"
RP_END=$(sql "select pg_create_restore_point('t90-point')")
# wal_level logical: a parameter change record, and COMMIT PREPARED carries the GID
sql "alter system set wal_level = logical" >/dev/null
pg_stop "$DATA"
_pg_start n1 || { fail "restart with wal_level logical" "see log"; finish; }
sql "begin; insert into two values (2); prepare transaction 'gtx-commit-2'" >/dev/null
sql "commit prepared 'gtx-commit-2'" >/dev/null
sql "select pg_switch_wal()" >/dev/null
wait_archived "$PORT" >/dev/null || fail "archiving" "$(sql "select * from pg_stat_archiver")"
pg_stop "$DATA"

# ---- every archived segment, fetched back ------------------------------------
mkdir -p "$T/segs"
for f in $(wal_objects n1); do
  w=$(wal_name_of "$f")
  [ -n "$w" ] && [ "$(basename "$f" | cut -c1-25)" = "$w-" ] || continue
  strata wal-get --pool "$POOL" --node n1 "$w" "$T/segs/$w" 2>>"$T/out/wal-get.err" || fail "wal-get $w" "exit $?"
done
ls "$T/segs" >"$T/out/segs.txt"
NSEGS=$(wc -l <"$T/out/segs.txt")
note "$NSEGS archived segments"
check "many 1 MiB segments archived" test "$NSEGS" -ge 8
FIRST=$(head -n 1 "$T/out/segs.txt")
LAST=$(tail -n 1 "$T/out/segs.txt")

# ---- block references against pg_waldump ------------------------------------
"$PG_BIN/pg_waldump" -p "$T/segs" "$FIRST" "$LAST" >"$T/out/waldump.txt" 2>"$T/out/waldump.err"
# pg_waldump ends with 'invalid record length' / 'could not find' at the end of
# the last segment; any other error is a failure of the comparison itself.
python3 - "$T/out/waldump.txt" >"$T/out/waldump.blocks" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.search(r"lsn: ([0-9A-F]+/[0-9A-F]+)", line)
    if not m:
        continue
    for b in re.finditer(r"blkref #(\d+): rel (\d+)/(\d+)/(\d+)(?: fork (\w+))? blk (\d+)( FPW)?", line):
        hi, lo = m.group(1).split("/")
        print(f"{int(hi, 16):X}/{int(lo, 16):X}", b.group(1), f"{b.group(2)}/{b.group(3)}/{b.group(4)}", b.group(5) or "main", b.group(6),
              "image" if b.group(7) else "")
PY
run decode strata wal-index --decode $(sed "s|^|$T/segs/|" "$T/out/segs.txt")
check_rc "wal-index --decode of every archived segment: exit 0" 0
awk '$1 == "block" { print $2, $3, $4, $5, $6, ($7 == "image" ? "image" : "") }' "$OUT" >"$T/out/strata.blocks"
NB=$(wc -l <"$T/out/waldump.blocks")
note "$NB block references in pg_waldump's output, $(wc -l <"$T/out/strata.blocks") in strata's"
check "pg_waldump found many block references" test "$NB" -ge 1000
if diff "$T/out/waldump.blocks" "$T/out/strata.blocks" >"$T/out/blocks.diff"; then
  pass "every block reference (LSN, id, relation, fork, block, image) equals pg_waldump's"
else
  fail "block references equal pg_waldump's" "$(wc -l <"$T/out/blocks.diff") diff lines"; show "$T/out/blocks.diff" 20
fi
NREC_DUMP=$(grep -c "lsn: " "$T/out/waldump.txt")
NREC_OURS=$(grep -c "^record " "$OUT")
check_eq "as many records as pg_waldump" "$NREC_DUMP" "$NREC_OURS"

# ---- the index built by wal-push ---------------------------------------------
NIDX=$(find "$POOL/nodes/n1/wal-index" -name '*.idx' | wc -l)
check_eq "wal-push indexed every segment" "$NSEGS" "$NIDX"
: >"$T/out/index.txt"
for w in $(cat "$T/out/segs.txt"); do
  strata wal-index --pool "$POOL" --node n1 --show "$w" >>"$T/out/index.txt" 2>>"$T/out/index.err" \
    || fail "wal-index --show $w" "exit $?"
done
check "no segment index has a decode error" bash -c "! grep -q ' error: ' '$T/out/index.txt'"
NTAIL=$(python3 -c '
import re, sys
print(sum(1 for l in open(sys.argv[1]) if l.startswith("segment ") and int(re.search(r"flags (0x[0-9a-f]+)", l).group(1), 16) & 0x20))' "$T/out/index.txt")
note "$NTAIL segment indexes keep the record continuing into the next segment"
check "segment indexes keep the record continuing into the next (the next push need not re-read the segment)" \
  test "$NTAIL" -ge 3
check "no unknown special relation update" bash -c "! grep -q '^unknown-special' '$T/out/index.txt'"
check "index: restore point t90-point" grep -q "^restore-point .* name t90-point$" "$T/out/index.txt"
check "index: PREPARE of gtx-commit-1 with its GID" grep -q "^xact prepare .* gid gtx-commit-1$" "$T/out/index.txt"
check "index: PREPARE of gtx-abort-1" grep -q "^xact prepare .* gid gtx-abort-1$" "$T/out/index.txt"
check "index: COMMIT PREPARED (wal_level replica: no GID in the record)" grep -q "^xact commit-prepared " "$T/out/index.txt"
check "index: ABORT PREPARED" grep -q "^xact abort-prepared " "$T/out/index.txt"
check "index: COMMIT PREPARED of gtx-commit-2 with its GID (wal_level logical)" \
  grep -q "^xact commit-prepared .* gid gtx-commit-2$" "$T/out/index.txt"
X1=$(grep "^xact prepare .* gid gtx-commit-1$" "$T/out/index.txt" | awk '{print $5}')
check "COMMIT PREPARED names the prepared xid $X1" grep -q "^xact commit-prepared [^ ]* xid $X1 " "$T/out/index.txt"
check "index: ABORT PREPARED drops the relation created in it ($DOOMED)" grep -q "^drop .*/$DOOMED all" "$T/out/index.txt"
check "index: DROP TABLE drops relation $GONE" grep -q "^drop .*/$GONE all" "$T/out/index.txt"
check "index: smgr create of $GONE" grep -q "^create .*/$GONE main" "$T/out/index.txt"
check "index: VACUUM truncates vt ($VT)" grep -qE "^truncate .*/$VT to [0-9]+ flags" "$T/out/index.txt"
check "index: CREATE DATABASE STRATEGY FILE_COPY ($DCOPY)" grep -q "^database create-file-copy .* db $DCOPY " "$T/out/index.txt"
check "index: CREATE DATABASE STRATEGY WAL_LOG ($DWAL)" grep -q "^database create-wal-log .* db $DWAL " "$T/out/index.txt"
check "index: DROP DATABASE ($DCOPY)" grep -q "^database drop .* db $DCOPY " "$T/out/index.txt"
check "index: wal_level change to logical" grep -q "^server parameter-change .* wal_level 2 " "$T/out/index.txt"
check "index: blocks of vt as ranges" grep -qE "^blocks [0-9]+/[0-9]+/$VT main 0\+[0-9]+" "$T/out/index.txt"

# ---- restore point search ----------------------------------------------------
run find_rp strata wal-index --pool "$POOL" --node n1 --find-restore-point t90-point
check_rc "find-restore-point t90-point: exit 0" 0
check_eq "its end is what pg_create_restore_point returned" "$RP_END" "$(awk '{print $3}' "$OUT" | head -n 1)"
run find_rp_none strata wal-index --pool "$POOL" --node n1 --find-restore-point no-such-point
check_rc "find-restore-point of an unknown name: exit 1" 1
check_msg "it says so" "no restore point named 'no-such-point'"

# ---- changes over an LSN range ----------------------------------------------
run changes strata wal-index --pool "$POOL" --node n1 --changes "$L1" "$L2"
check_rc "wal-index --changes $L1 $L2: exit 0" 0
check_msg "the range is fully indexed" "complete yes"
check "it holds the truncation of vt" grep -qE "^truncate .*/$VT to " "$OUT"
check "it holds the blocks of vt" grep -qE "^blocks [0-9]+/[0-9]+/$VT main 0\+" "$OUT"
check "it does not hold the later restore point" bash -c "! grep -q '^restore-point' '$OUT'"
check "nor the earlier PREPAREs" bash -c "! grep -q 'gid gtx-' '$OUT'"
SECOND_START=$(printf '0/%X' $(( 0x$(sed -n 2p "$T/out/segs.txt" | cut -c17-24) * 1048576 )))
run changes_2pc strata wal-index --pool "$POOL" --node n1 --changes "$SECOND_START" "$L2"
check "--changes names COMMIT PREPARED by the GID of its PREPARE (wal_level replica)" \
  grep -q "^xact commit-prepared .* gid gtx-commit-1$" "$OUT"
check "and ABORT PREPARED" grep -q "^xact abort-prepared .* gid gtx-abort-1$" "$OUT"
MID=$(sed -n 4p "$T/out/segs.txt")
MIDOBJ=$(wal_objects n1 | grep "/$MID-")
mv "$MIDOBJ" "$T/held_back"
run changes_gap strata wal-index --pool "$POOL" --node n1 --changes "$SECOND_START" "$L2"
check_rc "--changes over a gap: exit 0" 0
check_msg "it is incomplete, naming the missing segment" "complete no: segment $MID"
mv "$T/held_back" "$MIDOBJ"

# ---- rebuilt on demand -------------------------------------------------------
cp "$T/out/index.txt" "$T/out/index.before"
find "$POOL/nodes/n1/wal-index" -name '*.idx' | head -n 3 | xargs rm -f
run rebuild strata wal-index --pool "$POOL" --node n1
check_rc "wal-index rebuilds missing indexes: exit 0" 0
check_msg "it built 3" "3 segment indexes built"
run rebuild_all strata wal-index --pool "$POOL" --node n1 --rebuild
check_rc "wal-index --rebuild: exit 0" 0
: >"$T/out/index.after"
for w in $(cat "$T/out/segs.txt"); do strata wal-index --pool "$POOL" --node n1 --show "$w" >>"$T/out/index.after"; done
check "rebuilt indexes equal those wal-push built" cmp -s "$T/out/index.before" "$T/out/index.after"

# ---- a corrupt index is refused, with its name -------------------------------
IDX=$(find "$POOL/nodes/n1/wal-index" -name "$LAST.idx")
flip_byte "$IDX" 40
run show_bad strata wal-index --pool "$POOL" --node n1 --show "$LAST"
check_rc "show of a corrupt index: exit 1" 1
check_msg "it names the index and the checksum" "$LAST.idx is corrupt"

# ---- restore points along a timeline's history ------------------------------
# n2: a primary and a standby archiving into one node; the standby is
# promoted (timeline 2) while the old primary goes on writing on timeline 1.
P2=$(free_port $((PORT_BASE + 1)))
S2=$(free_port $((PORT_BASE + 2)))
PG_WAL_SEGSIZE=1 PG_NODE=n2 pg_new_primary n2p "$P2" "max_prepared_transactions = 10" \
  || { fail "start n2 primary" "see log"; finish; }
pg_new_standby n2s "$S2" "$P2" || { fail "start n2 standby" "see log"; finish; }
psql_at "$P2" "create table tl(x int); insert into tl values (1)"
psql_at "$P2" "select pg_create_restore_point('tl-before')" >/dev/null
# a commit flushes the restore point (pg_create_restore_point does not),
# so the standby has it before the promotion
psql_at "$P2" "insert into tl values (10)"
wait_replay "$S2" "$P2" || fail "standby replays" "timeout"
"$PG_BIN/pg_ctl" -D "$(pg_datadir n2s)" -w -t 60 promote >"$T/out/promote.log" 2>&1
check_eq "standby promoted to timeline 2" f "$(psql_at "$S2" "select pg_is_in_recovery()")"
psql_at "$P2" "insert into tl values (2)"
psql_at "$P2" "select pg_create_restore_point('tl-diverged')" >/dev/null
wait_archived "$P2" >/dev/null || fail "old primary archives timeline 1" "timeout"
psql_at "$S2" "insert into tl values (3)"
AFTER_END=$(psql_at "$S2" "select pg_create_restore_point('tl-after')")
wait_archived "$S2" >/dev/null || fail "new primary archives timeline 2" "timeout"
pg_stop "$(pg_datadir n2p)"
pg_stop "$(pg_datadir n2s)"
run rp_before strata wal-index --pool "$POOL" --node n2 --find-restore-point tl-before
check_rc "restore point before the fork: found on the latest timeline's history" 0
run rp_after strata wal-index --pool "$POOL" --node n2 --find-restore-point tl-after
check_rc "restore point on timeline 2: found" 0
check_eq "it is on timeline 2, where pg_create_restore_point put it" "$AFTER_END timeline 2" \
  "$(awk '{print $3, $4, $5}' "$OUT")"
run rp_div strata wal-index --pool "$POOL" --node n2 --find-restore-point tl-diverged
check_rc "restore point the old primary wrote after the fork: not on timeline 2's history" 1
run rp_div1 strata wal-index --pool "$POOL" --node n2 --find-restore-point tl-diverged --timeline 1
check_rc "but on timeline 1's" 0
: >"$T/out/index2.txt"
for f in $(wal_objects n2); do
  w=$(wal_name_of "$f")
  [ "$(basename "$f" | cut -c1-25)" = "$w-" ] || continue
  strata wal-index --pool "$POOL" --node n2 --show "$w" >>"$T/out/index2.txt" 2>>"$T/out/index2.err"
done
FORK_SEG_START=$(printf '0/%X' $(( 0x$(ls "$POOL/nodes/n2/wal/0000000200000000" | head -n 1 | cut -c17-24) * 1048576 )))
run changes_tl strata wal-index --pool "$POOL" --node n2 --changes "$FORK_SEG_START" "$AFTER_END"
check_rc "--changes across the failover: exit 0" 0
check_msg "complete along timeline 2's history" "complete yes"
check "it holds timeline 2's restore point" grep -q "name tl-after$" "$OUT"
check "but not what the old primary wrote on timeline 1 after the fork" bash -c "! grep -q 'tl-diverged' '$OUT'"
check "index: end of recovery, timeline 1 -> 2" grep -q "^server end-of-recovery .* tli 2 prev 1$" "$T/out/index2.txt"
check "no decode error on either timeline" bash -c "! grep -q ' error: ' '$T/out/index2.txt'"

# ---- malformed segments: clear errors naming segment and LSN -----------------
# a byte inside the record that starts 64 bytes into the segment's second page
SECOND=$(sed -n 2p "$T/out/segs.txt")
cp "$T/segs/$SECOND" "$T/bad_crc"
OFF=$(python3 -c '
import sys
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "record":
        v = int(f[1].split("/")[1], 16) % 1048576
        if 8192 + 24 <= v < 16384 - 64:
            print(v + 20); break' "$T/out/decode.out")
note "flipping byte $OFF of $SECOND"
flip_byte "$T/bad_crc" "$OFF"
mkdir -p "$T/bad" && cp "$T/bad_crc" "$T/bad/$SECOND"
run decode_bad strata wal-index --decode "$T/bad/$SECOND"
check_rc "decode of a segment with a flipped byte: exit 1" 1
check_msg "it names the segment" "WAL segment $SECOND"
check_msg "it names the error" "CRC-32C mismatch at"
finish
