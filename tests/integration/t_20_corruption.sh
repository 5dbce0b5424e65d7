#!/usr/bin/env bash
# Corruption in the pool: a flipped byte in a backup data object, a flipped
# byte in a WAL object, a WAL segment missing from the middle of the archive.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 2 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key)"

run backup strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "backup exits 0" 0
BID=$(backup_id "$OUT")
[ -n "$BID" ] || { fail "backup prints its id" "none"; show "$OUT"; show "$ERR"; finish; }

# a few more segments in the archive, each with a marker row
for i in 1 2 3 4 5 6; do
  psql_at "$PPORT" "insert into marker values ($i)"
  psql_at "$PPORT" "select pg_switch_wal()" >/dev/null
done
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"

run verify_clean strata verify --pool "$POOL" --node "$NODE"
check_rc "verify of an intact pool exits 0" 0

# ---- a flipped byte in a data object ---------------------------------------
BDIR=$POOL/nodes/$NODE/backups/$BID
# the biggest data object: pgbench_accounts' main fork
OBJ=$(pool_objects_sized "nodes/$NODE/backups/$BID/data" | sort -n | tail -n 1 | cut -d' ' -f2-)
if [ -z "$OBJ" ]; then
  fail "backup has data objects under $BDIR/data" "none found"; finish
fi
REL=${OBJ#"$BDIR/data/"}; REL=${REL%.*}     # e.g. base/5/16397
SIZE=$(pool_object_size "$OBJ")
OFF=$((SIZE / 2))
note "corrupting $OBJ ($SIZE bytes) at $OFF (relation file $REL)"
pool_flip "$OBJ" "$OFF"

run verify_data strata verify --pool "$POOL" --node "$NODE"
check_rc "verify with a corrupt data object exits 1" 1
check_msg "verify names the corrupt data file" "$REL"
run verify_data_b strata verify --pool "$POOL" --node "$NODE" --backup "$BID"
check_rc "verify --backup with a corrupt data object exits 1" 1
check_msg "verify --backup names the corrupt data file" "$REL"

restore_start r_corrupt --node "$NODE" --backup "$BID"
check_rc_nonzero "restore of a backup with a corrupt object fails"
check_msg "restore names the corrupt file" "$REL"
check "restore of a corrupt backup starts no instance" no_postmaster_in "$RDIR"
if [ ! -e "$RDIR" ] || [ -z "$(ls -A "$RDIR" 2>/dev/null)" ] || [ ! -f "$RDIR/global/pg_control" ]; then
  pass "failed restore leaves no usable-looking data dir"
else
  fail "failed restore leaves no usable-looking data dir" "$RDIR has global/pg_control: $(ls "$RDIR" | head -n 30 | tr '\n' ' ')"
fi
pg_stop "$RDIR"

# without --backup the same (only) backup is picked: still refused
restore_start r_corrupt2 --node "$NODE" --latest
check_rc_nonzero "restore --latest with the only backup corrupt fails"
check "... and starts no instance" no_postmaster_in "$RDIR"
pg_stop "$RDIR"

pool_flip "$OBJ" "$OFF"     # undo
run verify_fixed strata verify --pool "$POOL" --node "$NODE"
check_rc "verify passes again once the byte is restored" 0

# ---- a flipped byte in a WAL object ----------------------------------------
mapfile -t WALS < <(wal_objects "$NODE")
note "${#WALS[@]} WAL objects archived"
if [ "${#WALS[@]}" -lt 5 ]; then
  fail "at least 5 WAL objects archived" "${#WALS[@]}"; finish
fi
# the last 6 segments were written after the backup
WOBJ=${WALS[$(( ${#WALS[@]} - 2 ))]}
WNAME=$(wal_name_of "$WOBJ")
WSIZE=$(pool_object_size "$WOBJ")
note "corrupting WAL object $WOBJ ($WSIZE bytes)"
pool_flip "$WOBJ" $((WSIZE / 2))
run verify_wal strata verify --pool "$POOL" --node "$NODE"
check_rc "verify with a corrupt WAL object exits 1" 1
check_msg "verify names the corrupt WAL segment" "$WNAME"
run walget_corrupt strata wal-get --pool "$POOL" --node "$NODE" "$WNAME" "$T/out/walget.$WNAME"
check_rc "wal-get of a corrupt WAL object exits 126" 126
check "wal-get of a corrupt WAL object writes nothing at the destination" test ! -e "$T/out/walget.$WNAME"
pool_flip "$WOBJ" $((WSIZE / 2))     # undo
run walget_ok strata wal-get --pool "$POOL" --node "$NODE" "$WNAME" "$T/out/walget.$WNAME"
check_rc "wal-get of the repaired WAL object exits 0" 0
check_eq "wal-get writes a whole segment" \
  "$(psql_at "$PPORT" "select setting from pg_settings where name = 'wal_segment_size'")" \
  "$(stat -c %s "$T/out/walget.$WNAME" 2>/dev/null)"

# ---- a WAL segment missing from the middle of the archive ------------------
MID=$(( ${#WALS[@]} - 4 ))
GOBJ=${WALS[$MID]}
GNAME=$(wal_name_of "$GOBJ")
note "removing WAL object $GOBJ"
pool_take "$GOBJ" "$T/out/removed-wal-object"
run check_gap strata check --pool "$POOL" --node "$NODE"
check_rc "check with a missing segment exits 1" 1
check_msg "check names the missing segment" "$GNAME"
run verify_gap strata verify --pool "$POOL" --node "$NODE"
check_rc "verify with a missing segment exits 1" 1
check_msg "verify names the missing segment" "$GNAME"

# restore to latest cannot pass the gap: it must not silently stop early
# and claim success at the latest point
restore_start r_gap --node "$NODE" --latest
if [ "$RC" = 0 ]; then
  got=$(marker_ids "$RPORT" 2>/dev/null)
  if [ "$got" = "1,2,3,4,5,6" ]; then pass "restore --latest across a missing segment: all rows"
  else fail "restore --latest across a missing segment" "exit 0 but rows are [$got], expected an error or 1..6"; fi
else
  check_msg "restore --latest across a missing segment fails (exit $RC) naming the segment" "$GNAME"
fi
pg_stop "$RDIR"

pool_put_back "$T/out/removed-wal-object" "$GOBJ"
run check_nogap strata check --pool "$POOL" --node "$NODE"
check_rc "check passes once the segment is back" 0

finish
