#!/usr/bin/env bash
# kill -9 at many points of backup, wal-push, restore and expire, through
# the crash points of the sanitizer build (STRATA_CRASH_AT=POINT:N,
# src/common/crashpoint.h; docs/design.md "Crash points"). After each:
#   - nothing partial looks usable: info does not list it as complete, a
#     restore without --backup does not pick it, wal-get does not serve a
#     half-pushed segment, what a killed restore left cannot be started;
#   - a rerun succeeds (a killed restore's directory is replaced without
#     --force, a killed wal-push is pushed again by PostgreSQL);
#   - expire removes what was left (killed backups once their lease is
#     stale, half-removed backups, stranded temporary files);
#   - nothing complete is lost: every backup expire must keep stays
#     complete and verified, and the newest restores every row.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_WAL_SEGSIZE=1 PG_NODE=$NODE pg_new_primary primary "$PPORT" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
PDIR=$(pg_datadir primary)
psql_at "$PPORT" "create table marker(id int primary key)"
ROWS=0
mark() { psql_at "$PPORT" "insert into marker select generate_series($((ROWS + 1)), $((ROWS + $1)))"; ROWS=$((ROWS + $1)); }
crash() {   # NAME POINT:N CMD... : runs CMD with the crash point armed, expects SIGKILL
  local name=$1 at=$2; shift 2
  OUT=$T/out/$name.out ERR=$T/out/$name.err
  # (the braces keep bash's own "Killed" line out of the test's output)
  { STRATA_CRASH_AT=$at "$@" >"$OUT" 2>"$ERR"; RC=$?; } 2>/dev/null
  if [ "$RC" = 137 ] && grep -q "crash point $at reached" "$ERR"; then pass "$name: killed at $at"
  else fail "$name: killed at $at" "exit $RC"; show "$ERR"; fi
}
backup_args=(--pool "$POOL" --node "$NODE" --pgdata "$PDIR" --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres")
backups_dirs() { ls "$POOL/nodes/$NODE/backups" 2>/dev/null; }
complete_ids() {   # the ids info lists as complete
  strata info --pool "$POOL" --node "$NODE" --output json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for n in d["nodes"]:
    for b in n["backups"]:
        if str(b.get("status", "")).lower() in ("complete", "ok", "valid"): print(b["id"])'
}

# ---- backups -----------------------------------------------------------------------------
mark 100
run b_ok1 strata backup "${backup_args[@]}"
check_rc "first complete backup" 0
GOOD=("$(backup_id "$OUT")")
NFILES=$(find "$POOL/nodes/$NODE/backups/${GOOD[0]}" -path '*/data/*' -type f | wc -l)
note "a backup stores $NFILES data objects"
KILLED=()
for at in backup-file:1 backup-file:$((NFILES / 3)) backup-file:$((NFILES - 1)) backup-manifest:1; do
  sleep 1.1   # backup ids have a one-second resolution
  before=$(backups_dirs)
  mark 10
  crash "backup_$at" "$at" "$STRATA_BIN" backup "${backup_args[@]}"
  new=$(comm -13 <(echo "$before") <(backups_dirs) | head -n 1)
  [ -n "$new" ] && KILLED+=("$new")
  case " $(complete_ids | paste -sd' ') " in
    *" $new "*) fail "backup killed at $at: not listed as complete" "info lists $new as complete" ;;
    *) pass "backup killed at $at: info does not list it ($new) as complete" ;;
  esac
  run "restore_pick_$at" strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/pick" --output json
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup"])' "$OUT" 2>&1)
  check_eq "backup killed at $at: a restore without --backup picks the last complete one" "${GOOD[-1]}" "$got"
  rm -rf "$T/pick"
done
LAST_BACKUP_KILL=$(date +%s)
run verify_killed strata verify --pool "$POOL" --node "$NODE"
check_rc "verify with the killed backups in the pool: exit 0 (they are not backups)" 0
for k in "${KILLED[@]}"; do check_msg "verify names $k incomplete, ignored by restore" "backup $k is incomplete"; done
sleep 1.1
mark 10
run b_ok2 strata backup "${backup_args[@]}"
check_rc "a rerun of the killed backups succeeds" 0
GOOD+=("$(backup_id "$OUT")")

# ---- wal-push ----------------------------------------------------------------------------
# PostgreSQL stops archiving for a moment; the segment it completes is
# pushed by hand, killed twice, pushed again; then PostgreSQL pushes it.
psql_at "$PPORT" "alter system set archive_command = 'false'" && psql_at "$PPORT" "select pg_reload_conf()" >/dev/null
sleep 0.5
mark 10
SEG=$(psql_at "$PPORT" "select pg_walfile_name(pg_switch_wal())")
cp "$PDIR/pg_wal/$SEG" "$T/$SEG"
crash wal_push_write wal-push-write:1 "$STRATA_BIN" wal-push --pool "$POOL" --node "$NODE" "$T/$SEG"
run wal_get_half strata wal-get --pool "$POOL" --node "$NODE" "$SEG" "$T/got-$SEG"
check_rc_nonzero "wal-get does not serve the half-pushed $SEG"
# The directory pool writes into an unnamed file (O_TMPFILE) that dies with
# its writer; where the file system has none, a named temporary is left
# for expire (below) to remove. Either way nothing is served (above).
check_eq "the killed wal-push left nothing under a WAL object's name" "" \
  "$(find "$POOL/nodes/$NODE/wal" -name "$SEG-*" ! -name '*.strata-tmp.*')"
crash wal_push_done wal-push-done:1 "$STRATA_BIN" wal-push --pool "$POOL" --node "$NODE" "$T/$SEG"
run wal_push_again strata wal-push --pool "$POOL" --node "$NODE" "$T/$SEG"
check_rc "a rerun of wal-push succeeds" 0
run wal_get_full strata wal-get --pool "$POOL" --node "$NODE" "$SEG" "$T/got-$SEG"
check_rc "wal-get serves $SEG" 0
check "the archived $SEG is the segment, byte for byte" cmp -s "$T/$SEG" "$T/got-$SEG"
psql_at "$PPORT" "alter system reset archive_command" && psql_at "$PPORT" "select pg_reload_conf()" >/dev/null
mark 10
wait_archived "$PPORT" 120 && pass "PostgreSQL archives again (its own push of $SEG finds it archived)" ||
  fail "archiving resumes" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"

# ---- restore -----------------------------------------------------------------------------
RD=$T/restored
for at in restore-file:1 restore-file:$((NFILES / 2)) restore-settings:1; do
  crash "restore_$at" "$at" "$STRATA_BIN" restore --pool "$POOL" --node "$NODE" --target-dir "$RD"
  if [ "$at" = restore-settings:1 ]; then
    check "restore killed at $at: the directory is marked incomplete" test -f "$RD/strata-restore.incomplete"
  else
    check "restore killed at $at: marked incomplete, and no pg_control (PostgreSQL cannot start it)" \
      test -f "$RD/strata-restore.incomplete" -a ! -e "$RD/global/pg_control"
  fi
done
restore_start restored --node "$NODE" --latest
check_rc "a rerun into the killed restore's directory, without --force, succeeds" 0
check_eq "the rerun restores every row" "$ROWS" "$(psql_at "$RPORT" "select count(*) from marker" 2>&1)"
check "the restored directory is not marked incomplete" test ! -e "$RD/strata-restore.incomplete"
pg_stop "$RD"

# ---- expire ------------------------------------------------------------------------------
sleep 1.1
mark 10
run b_ok3 strata backup "${backup_args[@]}"
check_rc "a third complete backup" 0
GOOD+=("$(backup_id "$OUT")")
note "complete: ${GOOD[*]}; killed: ${KILLED[*]}"
# --keep 2: the first complete backup goes; kill expire on the way. First
# the killed backups' leases must be stale (20 s): a live one holds the WAL
# (expire would then never reach its WAL removal, expire-wal).
wait_s=$((LAST_BACKUP_KILL + 22 - $(date +%s)))
[ "$wait_s" -gt 0 ] && sleep "$wait_s"   # the killed backups' leases are stale after 20 s
for at in expire-backup:1 backup-remove:1 expire-wal:1; do
  crash "expire_$at" "$at" "$STRATA_BIN" expire --pool "$POOL" --node "$NODE" --keep 2 --interrupted-after 20s
  ids=" $(complete_ids | paste -sd' ') "
  case $ids in *" ${GOOD[1]} "*) case $ids in *" ${GOOD[2]} "*) kept=1 ;; *) kept=0 ;; esac ;; *) kept=0 ;; esac
  [ "$kept" = 1 ] && pass "expire killed at $at: the kept backups ${GOOD[1]} ${GOOD[2]} are complete" ||
    fail "expire killed at $at: the kept backups are complete" "complete:$ids"
done
find "$POOL" -name '*.strata-tmp.*' -exec touch -d '-1 minute' {} +
run expire_final strata expire --pool "$POOL" --node "$NODE" --keep 2 --interrupted-after 20s --output json
check_rc "a rerun of expire succeeds" 0
left=$(backups_dirs | paste -sd' ')
check_eq "expire removed the killed and half-removed backups: left are the two kept" "${GOOD[1]} ${GOOD[2]}" "$left"
check_eq "no temporary file is left in the pool" "" "$(find "$POOL" -name '*.strata-tmp.*')"
run verify strata verify --pool "$POOL" --node "$NODE"
check_rc "verify: the pool is sound" 0
restore_start final --node "$NODE" --latest
check_rc "the newest backup restores" 0
check_eq "with every row" "$ROWS" "$(psql_at "$RPORT" "select count(*) from marker" 2>&1)"
pg_stop "$RDIR"

pg_stop_all
finish
