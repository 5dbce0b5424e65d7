#!/usr/bin/env bash
# Backup selection and clean failures of a single-node restore (issue 9,
# "restores that say one thing and do another"):
#   - two backups b1, b2; transaction X, restore point rp1 and LSN L between
#     them;
#   - --lsn L, --name rp1 and --xid X (no --backup) pick b1, the latest that
#     ends before them (rp1 and X are found in the archived WAL), with the
#     right rows;
#   - --backup b2 with --lsn L or --name rp1, an unknown name and an xid that
#     never ended are refused before anything is written;
#   - a failure in recovery (a WAL segment after the backups, corrupt in the
#     pool: wal-get refuses it, PostgreSQL stops): the target directory is
#     emptied again (removed when strata made it), no instance runs, and a
#     retry into the same directory succeeds once the segment is repaired;
#   - a failure in --start itself (an instance that cannot start) also
#     leaves the target as it was found.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key)"
marker() { psql_at "$PPORT" "insert into marker select generate_series($1, $2)"; }
PDIR=$(pg_datadir primary)

backup() {   # LABEL: the new backup's id in $BID
  run "backup_$1" strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
  check_rc "backup $1" 0
  BID=$(backup_id "$OUT")
}

marker 1 10
backup b1; B1=$BID
marker 11 20
X=$(psql_at "$PPORT" "insert into marker values (1000) returning pg_current_xact_id()")
psql_at "$PPORT" "select pg_create_restore_point('rp1')" >/dev/null
L=$(psql_at "$PPORT" "select pg_current_wal_lsn()")
marker 21 30
sleep 1.1   # backup ids have a one-second resolution
backup b2; B2=$BID
marker 31 40
wait_archived "$PPORT" 120 || fail "WAL archived" "timeout"
note "b1 $B1, b2 $B2, rp1, LSN $L and xid $X between them"
[ -n "$B1" ] && [ -n "$B2" ] && [ "$B1" != "$B2" ] || { fail "two backups" "got '$B1' '$B2'"; finish; }

# ---- --lsn between the backups: b1 ----------------------------------------------------------
restore_start r_lsn --node "$NODE" --lsn "$L" --output json
check_rc "restore --lsn between the backups exits 0" 0
check_eq "restore --lsn picks b1, the latest that ends before the LSN" "$B1" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup"])' "$OUT" 2>&1)"
check_eq "restore --lsn: rows 1..20 and 1000" "$(seq_csv 1 20),1000" "$(marker_ids "$RPORT" 2>&1)"
pg_stop "$RDIR"

# ---- --backup b2 cannot reach L: refused before anything is written ---------------------------
RDIR=$T/r_refused
run refused strata restore --pool "$POOL" --node "$NODE" --target-dir "$RDIR" --backup "$B2" --lsn "$L"
check_rc_nonzero "restore --backup b2 --lsn before b2's end fails"
check_msg "the refusal names the backup and why" "cannot reach"
check "nothing was written for the refused restore" test ! -e "$RDIR"

# ---- --name rp1 without --backup: found in the WAL, b1 -------------------------------------
restore_start r_name --node "$NODE" --name rp1
check_rc "restore --name rp1 (no --backup) exits 0" 0
check_msg "it says where it found rp1" "from the archived WAL of node $NODE"
check_eq "restore --name rp1 picks b1: rows 1..20 and 1000" "$(seq_csv 1 20),1000" "$(marker_ids "$RPORT" 2>&1)"
pg_stop "$RDIR"; rm -rf "$RDIR"
RDIR=$T/r_refused
run refused_name strata restore --pool "$POOL" --node "$NODE" --target-dir "$RDIR" --backup "$B2" --name rp1
check_rc_nonzero "restore --backup b2 --name rp1 fails"
check_msg "the refusal says b2 cannot reach rp1" "cannot reach"
run unknown_name strata restore --pool "$POOL" --node "$NODE" --target-dir "$RDIR" --name no-such-point
check_rc_nonzero "restore --name of a restore point that does not exist fails"
check_msg "the refusal says it is nowhere" "nothing to restore to"
check "nothing was written for the refused restores" test ! -e "$RDIR"

# ---- --xid X without --backup: found in the WAL, b1 -----------------------------------------
restore_start r_xid --node "$NODE" --xid "$X"
check_rc "restore --xid X (no --backup) exits 0" 0
check_msg "it says where it found X" "end record in the archived WAL of node $NODE"
check_eq "restore --xid X picks b1: rows 1..20 and 1000" "$(seq_csv 1 20),1000" "$(marker_ids "$RPORT" 2>&1)"
pg_stop "$RDIR"; rm -rf "$RDIR"
RDIR=$T/r_refused
run refused_xid strata restore --pool "$POOL" --node "$NODE" --target-dir "$RDIR" --xid 4000000000
check_rc_nonzero "restore --xid of a transaction that never ended fails"
check_msg "the refusal says it has no end record" "no commit or abort record"
check "nothing was written for that refusal" test ! -e "$RDIR"

# ---- a failure in recovery cleans up -----------------------------------------------------------
LASTSEG=$(wal_objects "$NODE" | tail -n 1)
flip_byte "$LASTSEG" 100
restore_start r_fail --node "$NODE" --latest
check_rc_nonzero "restore --latest through a corrupt segment ($(wal_name_of "$LASTSEG")) fails"
check_msg "the failure says the directory was removed" "was removed"
check "no instance runs in the failed target" no_postmaster_in "$RDIR"
check "the failed target directory (made by strata) is gone again" test ! -e "$RDIR"
mkdir -p "$RDIR"
restore_start r_fail --node "$NODE" --latest
check_rc_nonzero "the same restore into an existing empty directory fails"
check_msg "the failure says the directory was emptied" "was emptied"
check "the existing target directory is left, empty" test -d "$RDIR" -a -z "$(ls -A "$RDIR" 2>/dev/null)"
flip_byte "$LASTSEG" 100
restore_start r_fail --node "$NODE" --latest
check_rc "the retry into the same directory succeeds once the segment is repaired" 0
check_eq "restore --latest: every row" "$(seq_csv 1 40),1000" "$(marker_ids "$RPORT" 2>&1)"
pg_stop "$RDIR"

# ---- a failure of --start itself ------------------------------------------------------------
restore_start r_badstart --node "$NODE" --latest --set max_connections=-5
check_rc_nonzero "restore --start of an instance that cannot start fails"
check "no instance runs after the failed start" no_postmaster_in "$RDIR"
check "the failed start's directory is gone again" test ! -e "$RDIR"

pg_stop_all
finish
