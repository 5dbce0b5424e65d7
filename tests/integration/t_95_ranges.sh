#!/usr/bin/env bash
# Files larger than --chunk-size are split into ranges, each its own pool
# object read, page-checked and compressed by whichever worker takes it:
# the backup records them in the manifest, page checksums are checked with
# the right block numbers in every range (a corrupt page deep in the file is
# reported by its block), info counts them, verify reads each range back,
# restore writes them in parallel at their offsets and the instance
# recovers with the data; a corrupted range is found by verify and refused
# by restore, naming the range's object; a bad --chunk-size is refused;
# an incremental over the split full stores a changed split file as one
# blocks object and a new large file as ranges, and the chain restores to
# the same data; expire removes the split backups with all their ranges.
source "$(dirname "$0")/lib.sh"

PORT_BASE=35000                      # this test's range: 35000-35999
NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)
CHUNK=1M
BLOCK=300                            # in the third range of t_bad at 1 MiB (128 pages a range)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
for sql in "create table t_bad(id int, pad text) with (autovacuum_enabled = false)" \
           "insert into t_bad select g, repeat(md5(g::text), 3) from generate_series(1, 40000) g" \
           "create table marker(id int primary key)" "insert into marker values (1), (2)" \
           "vacuum freeze t_bad" "checkpoint"; do
  psql_at "$PPORT" "$sql" || { fail "setup: $sql" "failed"; finish; }
done
ACC_REL=$(psql_at "$PPORT" "select pg_relation_filepath('pgbench_accounts')")
BAD_REL=$(psql_at "$PPORT" "select pg_relation_filepath('t_bad')")
NPAGES=$(psql_at "$PPORT" "select pg_relation_size('t_bad') / 8192")
note "pgbench_accounts is $ACC_REL ($(stat -c %s "$PDIR/$ACC_REL") bytes); t_bad is $BAD_REL, $NPAGES pages"
[ "${NPAGES:-0}" -gt $((BLOCK + 10)) ] || { fail "setup" "t_bad has only $NPAGES pages"; finish; }

# A corrupt page in the third range of t_bad: its checksum covers its block
# number, so a range checked with the wrong first block would fail every page.
pg_stop "$PDIR"
for off in $(seq $((BLOCK * 8192 + 4000)) $((BLOCK * 8192 + 4007))); do flip_byte "$PDIR/$BAD_REL" "$off"; done
BADSUM=$(sha256sum <"$PDIR/$BAD_REL")
_pg_start primary || { fail "restart primary" "see log"; show "$T/primary/postgres.log"; finish; }
psql_at "$PPORT" "insert into marker values (3)"

# A large file beside one named like its first range: split, its range
# object would have the other file's key; it stays one object.
head -c 3000000 /dev/urandom >"$PDIR/extra.dat"
head -c 5000 /dev/urandom >"$PDIR/extra.dat.range-0"
EXTRASUM=$(cat "$PDIR/extra.dat" "$PDIR/extra.dat.range-0" | sha256sum)

# ---- a bad chunk size ----------------------------------------------------------
run bad_chunk strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --chunk-size 12345
check_rc_nonzero "backup --chunk-size 12345: refused"
check_msg "the message names the flag and the bound" "chunk-size"
run small_chunk strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --chunk-size 64K
check_rc_nonzero "backup --chunk-size 64K: refused (below 1M)"
check_msg "the message says the range" "between"

# ---- the backup --------------------------------------------------------------
run backup strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --chunk-size "$CHUNK" --jobs 3
check_rc "backup --chunk-size $CHUNK --jobs 3: exit 0" 0
B1=$(backup_id "$OUT")
cp "$ERR" "$T/out/backup.stderr"
check_msg_file "the backup says it split files into ranges" "split into ranges" "$T/out/backup.stderr"
check_msg_file "the corrupt page is reported by its block number ($BAD_REL block $BLOCK)" \
  "$BAD_REL, block $BLOCK:" "$T/out/backup.stderr"
n_bad=$(grep -c "page checksum mismatch" "$T/out/backup.stderr" || true)
check_eq "no other page is reported (every range checked with its own block numbers)" 1 "$n_bad"

DATA=nodes/$NODE/backups/$B1/data
N_ACC=$(pool_objects "$DATA" | grep -c "/$ACC_REL\.range-[0-9]*\.zst$" || true)
EXPECT_ACC=$(( ( $(stat -c %s "$PDIR/$ACC_REL") + 1048575 ) / 1048576 ))
check_eq "pgbench_accounts is stored as $EXPECT_ACC range objects" "$EXPECT_ACC" "$N_ACC"
check "no whole-file object for a split file" pool_lacks "$DATA/$ACC_REL.zst"
check "a small file stays one object" pool_has "$DATA/PG_VERSION.zst"
check "a large file beside a file named like its range stays one object" pool_has "$DATA/extra.dat.zst"
check "and that file is its own object" pool_has "$DATA/extra.dat.range-0.zst"

run info strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info --output json: exit 0" 0
if python3 - "$OUT" "$B1" "$EXPECT_ACC" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
def backups(o):
    if isinstance(o, dict):
        if o.get("id") == sys.argv[2] and "split_files" in o: yield o
        for v in o.values(): yield from backups(v)
    elif isinstance(o, list):
        for v in o: yield from backups(v)
b = next(backups(doc), None)
sys.exit(0 if b and b["split_files"] >= 2 and b["data_objects"] >= b["files"] + int(sys.argv[3]) - 1 else 1)
EOF
then pass "info counts the split files and the data objects"
else fail "info counts the split files and the data objects" "see $OUT"; show "$OUT" 20; fi
run info_text strata info --pool "$POOL" --node "$NODE"
check_msg "info's text says which files are split" "split into ranges"

run verify strata verify --pool "$POOL" --node "$NODE" --jobs 3
check_rc "verify of the split backup: exit 0" 0

psql_at "$PPORT" "insert into marker values (4)"
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"
ACC=$(psql_at "$PPORT" "select count(*) || ':' || sum(abalance) || ':' || md5(string_agg(filler, '' order by aid)) from pgbench_accounts")

# ---- restore, ranges written in parallel ----------------------------------------
restore_start r1 --node "$NODE" --backup "$B1" --latest --jobs 3
check_rc "restore of the split backup --jobs 3: exit 0" 0
if [ "$RC" = 0 ]; then
  check_eq "restored pgbench_accounts: rows, balances, content" "$ACC" \
    "$(psql_at "$RPORT" "select count(*) || ':' || sum(abalance) || ':' || md5(string_agg(filler, '' order by aid)) from pgbench_accounts" 2>&1)"
  check_eq "restored marker rows (latest)" "1,2,3,4" "$(marker_ids "$RPORT" 2>&1)"
  check_eq "restored extra.dat and extra.dat.range-0, byte for byte" "$EXTRASUM" \
    "$(cat "$RDIR/extra.dat" "$RDIR/extra.dat.range-0" 2>&1 | sha256sum)"
  check_eq "restored t_bad, corrupt page and all, is the file byte for byte (every range at its offset)" \
    "$BADSUM" "$(sha256sum <"$RDIR/$BAD_REL" 2>&1)"
else
  show "$ERR"; show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"
check "restore: instance stopped" no_postmaster_in "$RDIR"
rm -f "$PDIR/extra.dat" "$PDIR/extra.dat.range-0"   # the pool's range objects below are the splits'

# ---- a corrupted range ------------------------------------------------------------
VICTIM=$(pool_objects "$DATA" | grep "/$ACC_REL\.range-" | sort -t- -k2 -n | sed -n 3p)
note "corrupting $VICTIM"
[ -n "$VICTIM" ] || { fail "a range object to corrupt" "none found"; finish; }
SIZE=$(pool_object_size "$VICTIM")
pool_flip "$VICTIM" $((SIZE / 2))
run verify_bad strata verify --pool "$POOL" --node "$NODE" --jobs 3
check_rc_nonzero "verify with a corrupted range: non-zero exit"
check_msg "verify names the corrupted range's object" "$(basename "$VICTIM")"
restore_start r2 --node "$NODE" --backup "$B1" --latest --jobs 3
check_rc_nonzero "restore from a corrupted range: refused"
check_msg "restore names the corrupted range's object" "$(basename "$VICTIM")"
[ -f "$RDIR/postmaster.pid" ] && pg_stop "$RDIR"
check "nothing was started from the corrupted backup" no_postmaster_in "$RDIR"
pool_flip "$VICTIM" $((SIZE / 2))
run verify_again strata verify --pool "$POOL" --node "$NODE" --backup "$B1"
check_rc "verify after the byte is put back: exit 0" 0

# ---- an incremental over the split full, and its chain restored ------------------------
# pgbench_accounts changes in a few blocks: the incremental stores them as
# one blocks object over the full's ranges. big_new is new since the full:
# copied whole, and split into ranges like a full's file.
for sql in "update pgbench_accounts set abalance = abalance + 7 where aid % 97 = 0" \
           "create table big_new as select g, repeat(md5(g::text), 4) as pad from generate_series(1, 30000) g" \
           "insert into marker values (6)" "checkpoint"; do
  psql_at "$PPORT" "$sql" || { fail "incremental setup: $sql" "failed"; finish; }
done
NEW_REL=$(psql_at "$PPORT" "select pg_relation_filepath('big_new')")
run incr strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --chunk-size "$CHUNK" --jobs 3 --type incr
check_rc "backup --type incr --chunk-size $CHUNK over the split full: exit 0" 0
I1=$(grep -oE '[0-9]{8}-[0-9]{6}I' "$OUT" | head -n 1)
cp "$ERR" "$T/out/incr.stderr"
check "the backup is an incremental (not a fallback to full)" test -n "$I1"
IDATA=nodes/$NODE/backups/$I1/data
check "pgbench_accounts (split in the full) is one blocks object in the incremental" pool_has "$IDATA/$ACC_REL.zst"
check_eq "and no range object of it" "" "$(pool_objects "$IDATA" | grep "/$ACC_REL\.range-" | head -n 1)"
N_NEW=$(pool_objects "$IDATA" | grep -c "/$NEW_REL\.range-[0-9]*\.zst$" || true)
EXPECT_NEW=$(( ( $(stat -c %s "$PDIR/$NEW_REL") + 1048575 ) / 1048576 ))
check "big_new spans several chunks ($EXPECT_NEW)" test "$EXPECT_NEW" -ge 2
check_eq "big_new, new since the full, is copied whole as $EXPECT_NEW range objects" "$EXPECT_NEW" "$N_NEW"
run verify_incr strata verify --pool "$POOL" --node "$NODE" --backup "$I1" --jobs 3
check_rc "verify of the incremental (its chain, ranges and blocks): exit 0" 0

psql_at "$PPORT" "insert into marker values (7)"
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"
ACC2=$(psql_at "$PPORT" "select count(*) || ':' || sum(abalance) || ':' || md5(string_agg(filler, '' order by aid)) from pgbench_accounts")
NEW2=$(psql_at "$PPORT" "select count(*) || ':' || md5(string_agg(pad, '' order by g)) from big_new")
restore_start r3 --node "$NODE" --backup "$I1" --latest --jobs 3
check_rc "restore of the chain (split full + incremental) --jobs 3: exit 0" 0
if [ "$RC" = 0 ]; then
  check_eq "restored pgbench_accounts (full's ranges, the incremental's blocks over them)" "$ACC2" \
    "$(psql_at "$RPORT" "select count(*) || ':' || sum(abalance) || ':' || md5(string_agg(filler, '' order by aid)) from pgbench_accounts" 2>&1)"
  check_eq "restored big_new (the incremental's ranges)" "$NEW2" \
    "$(psql_at "$RPORT" "select count(*) || ':' || md5(string_agg(pad, '' order by g)) from big_new" 2>&1)"
  check_eq "restored marker rows (latest)" "1,2,3,4,6,7" "$(marker_ids "$RPORT" 2>&1)"
else
  show "$ERR"; show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"
check "chain restore: instance stopped" no_postmaster_in "$RDIR"

# ---- the default chunk size, and expire ---------------------------------------------
psql_at "$PPORT" "insert into marker values (5)"
run backup2 strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --jobs 2
check_rc "backup with the default chunk size (64M): exit 0" 0
B2=$(backup_id "$OUT")
check_eq "nothing of this small instance is split at 64M" "" \
  "$(pool_objects "nodes/$NODE/backups/$B2/data" | grep '\.range-' | head -n 1)"
run expire strata expire --pool "$POOL" --node "$NODE" --keep 1
check_rc "expire --keep 1: exit 0" 0
check "expire removed the split backup, its range objects with it" pool_lacks "nodes/$NODE/backups/$B1"
check "and the incremental over it, its range objects with it" pool_lacks "nodes/$NODE/backups/$I1"
check_eq "no range object is left in the pool" "" "$(pool_objects "nodes/$NODE/backups" | grep '\.range-' | head -n 1)"
run verify_after_expire strata verify --pool "$POOL" --node "$NODE"
check_rc "verify after expire: exit 0" 0

finish
