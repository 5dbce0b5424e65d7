#!/usr/bin/env bash
# WAL continuity along the timeline history (issue 9, "silent data loss"):
# a backup on timeline 1, a failover, more WAL on timeline 2. Then every
# segment a restore of that backup to the latest needs, and the history
# file of timeline 2, is removed in turn: verify must name it and exit 1,
# restore --latest --start must fail before starting anything (never
# promote short), wal-get must call it a hole (exit 126), not the end.
# A restore planned while the archive was whole and started by hand after
# a removal must stop with an error, not promote. Also: a stray file
# beside a WAL object (X-<sha>.zst.bak) used to crash wal-get and wal-push
# (double free); a lost node.json or backup.manifest must fail verify; a
# killed wal-push leaves no temporary file in the pool.
source "$(dirname "$0")/lib.sh"

NODE=db
# Segments only where the test switches: each one a known step.
PG_ARCHIVE_TIMEOUT=3600
PPORT=$(free_port "$PORT_BASE")
SPORT=$(free_port $((PORT_BASE + 1)))
PDIR=$(pg_datadir primary)
SDIR=$(pg_datadir standby)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
pg_new_standby standby "$SPORT" "$PPORT" || { fail "start standby" "see log"; show "$T/standby/postgres.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key)"
marker() { psql_at "$1" "insert into marker(id) select generate_series($2, $3)"; }
switch_some() {   # PORT FIRST LAST: one marker row per new segment
  local i
  for i in $(seq "$2" "$3"); do marker "$1" "$i" "$i"; psql_at "$1" "select pg_switch_wal()" >/dev/null; done
}
marker "$PPORT" 1 1
wait_replay "$SPORT" "$PPORT"
run backup1 strata backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
    --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" \
    --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "backup on timeline 1" 0
B1=$(backup_id "$OUT")
[ -n "$B1" ] || { fail "backup id" "none"; finish; }
switch_some "$PPORT" 2 4
marker "$PPORT" 5 5
wait_replay "$SPORT" "$PPORT"
wait_archived "$PPORT" || fail "archiving on timeline 1" "timeout"

# ---- failover: timeline 1 ends in a .partial, timeline 2 goes on ---------
pg_stop "$PDIR"
"$PG_BIN/pg_ctl" -D "$SDIR" -w -t 60 promote >"$T/out/promote.log" 2>&1
check_eq "standby promoted" f "$(psql_at "$SPORT" "select pg_is_in_recovery()")"
switch_some "$SPORT" 6 9
marker "$SPORT" 10 10
wait_archived "$SPORT" 60 || fail "archiving on timeline 2" "timeout"
HIST=$(find "$POOL/nodes/$NODE/wal/history" -name '00000002.history-*' | head -n 1)
PARTIAL=$(find "$POOL/nodes/$NODE/wal" -name '00000001*.partial-*' | head -n 1)
check "timeline 2's history file is archived" test -n "$HIST"
check "timeline 1's last segment is archived as .partial" test -n "$PARTIAL"

run verify_whole strata verify --pool "$POOL"
check_rc "verify of the whole failover archive: exit 0" 0
run check_whole strata check --pool "$POOL" --node "$NODE"
check_rc "check of the whole failover archive: exit 0" 0

# The segments a restore of B1 to the latest reads: timeline 1 from the
# backup's start up to the one before the switch, then timeline 2 (the
# newest segment excepted: without it the archive just ends earlier, which
# nothing in the pool can tell from a real end).
START_SEG=$(python3 -c "
import json, sys
m = json.loads(open(sys.argv[1]).read().split('\nsha256:')[0])
hi, lo = m['start_lsn'].split('/'); seg = ((int(hi, 16) << 32) | int(lo, 16)) // (16 << 20)
print('%08X%08X%08X' % (m['timeline'], seg >> 8, seg & 255))" "$POOL/nodes/$NODE/backups/$B1/backup.manifest")
PARTIAL_SEG=$(basename "$PARTIAL" | cut -c 9-24)
NEEDED=()
while read -r f; do
  n=$(wal_name_of "$f"); [ -n "$n" ] || continue
  [[ "$(basename "$f")" == "$n-"* ]] || continue     # a segment, not a .partial or .backup file
  case "$n" in
    00000001*) [[ "${n:8:16}" < "${START_SEG:8:16}" || ! "${n:8:16}" < "$PARTIAL_SEG" ]] && continue ;;
  esac
  NEEDED+=("$f")
done < <(wal_objects "$NODE")
unset 'NEEDED[${#NEEDED[@]}-1]'     # the newest segment
NEEDED+=("$HIST")
note "removing in turn: $(for f in "${NEEDED[@]}"; do basename "$f" | cut -c 1-24; done | paste -sd ' ')"
[ "${#NEEDED[@]}" -ge 6 ] && pass "the loop covers ${#NEEDED[@]} files of both timelines" \
  || fail "the loop covers both timelines" "only ${#NEEDED[@]} files"

for f in "${NEEDED[@]}"; do
  name=$(basename "$f"); name=${name%%-*}
  mv "$f" "$T/out/removed"
  run "verify_no_$name" strata verify --pool "$POOL" --node "$NODE"
  check_rc "without $name: verify exits 1" 1
  check_msg "without $name: verify names it" "$name"
  run "check_no_$name" strata check --pool "$POOL" --node "$NODE"
  check_rc "without $name: check exits 1" 1
  check_msg "without $name: check names it" "$name"
  restore_start "r_no_$name" --node "$NODE" --backup "$B1" --latest
  check_rc_nonzero "without $name: restore --latest --start fails"
  check_msg "without $name: restore names it" "$name"
  check "without $name: restore started no instance" no_postmaster_in "$RDIR"
  run "walget_$name" strata wal-get --pool "$POOL" --node "$NODE" "$name" "$T/out/walget.$name"
  check_rc "without $name: wal-get exits 126 (a hole, not the end of WAL)" 126
  mv "$T/out/removed" "$f"
done

# ---- the second line: a restore planned on a whole archive, started
# after a removal, stops with an error instead of promoting short --------
manual_start() {   # NAME FILE: restore (no --start), remove FILE, start by hand
  local name=$1 f=$2 port log
  port=$(free_port $((PORT_BASE + 7)))
  run "r_$name" strata restore --pool "$POOL" --node "$NODE" --backup "$B1" --target-dir "$T/$name" --latest \
      --port "$port" --pg-bin "$PG_BIN"
  check_rc "$name: restore without --start on the whole archive" 0
  mv "$f" "$T/out/removed"
  log=$T/$name.log
  "$PG_BIN/pg_ctl" -D "$T/$name" -l "$log" -o "-p $port" -w -t 60 start >/dev/null 2>&1
  [ -f "$T/$name/postmaster.pid" ] && pg_register "$T/$name"
  local i
  for ((i = 0; i < 150; i++)); do pg_is_running "$T/$name" || break; sleep 0.2; done
  if pg_is_running "$T/$name" && [ "$(psql_at "$port" "select pg_is_in_recovery()" 2>/dev/null)" = f ]; then
    fail "$name: recovery does not promote short" "promoted with rows [$(marker_ids "$port")]"
  else
    pass "$name: recovery stopped with an error instead of promoting short"
    grep -q "the archive has a hole" "$log" && pass "$name: the server log carries wal-get's reason" \
      || { fail "$name: the server log carries wal-get's reason" "not found"; show "$log"; }
  fi
  pg_stop "$T/$name"
  mv "$T/out/removed" "$f"
}
manual_start manual_seg "${NEEDED[1]}"
manual_start manual_hist "$HIST"

restore_start r_whole --node "$NODE" --backup "$B1" --latest
check_rc "the whole archive again: restore --latest --start of the timeline-1 backup" 0
[ "$RC" = 0 ] && check_eq "... replays both timelines" "$(seq_csv 1 10)" "$(marker_ids "$RPORT" 2>&1)"
pg_stop "$RDIR"
run r_far strata restore --pool "$POOL" --node "$NODE" --backup "$B1" --target-dir "$T/r_far" --lsn FF/0 \
    --pg-bin "$PG_BIN"
check_rc_nonzero "restore --lsn past the end of the archive fails before writing"
check_msg "... saying so" "past the end of the archive"

# ---- a stray file beside a WAL object ------------------------------------
OBJ=${NEEDED[2]}
ONAME=$(wal_name_of "$OBJ")
cp "$OBJ" "$OBJ.bak"
run walget_stray strata wal-get --pool "$POOL" --node "$NODE" "$ONAME" "$T/out/walget.stray"
check_rc "wal-get beside a stray X-<sha>.zst.bak: exit 0 (no crash)" 0
check_eq "... and the segment is whole" "$(stat -c %s "$T/out/walget.stray" 2>/dev/null)" $((16 * 1024 * 1024))
TL2_FILES=($(ls "$SDIR/pg_wal" | grep -E '^00000002[0-9A-F]{16}$' | sort | head -n 2))
SEGFILE=${TL2_FILES[0]}
STRAY2=$(find "$POOL/nodes/$NODE/wal" -name "$SEGFILE-*" | head -n 1)
if [ -n "$STRAY2" ]; then
  cp "$STRAY2" "$STRAY2.bak"
  run walpush_stray strata wal-push --pool "$POOL" --node "$NODE" "$SDIR/pg_wal/$SEGFILE"
  check_rc "wal-push of an archived segment beside a stray copy: exit 0 (no crash)" 0
  check_msg "... which it knows is archived" "already archived"
else
  fail "an archived timeline-2 segment still in pg_wal" "none of ${TL2_FILES[*]} is archived"
fi
run verify_stray strata verify --pool "$POOL" --node "$NODE"
check_rc "verify with a stray file in the archive: exit 1" 1
check_msg "... naming it" "$(basename "$OBJ").bak"
rm -f "$OBJ.bak" "$STRAY2.bak"

# ---- a killed wal-push leaves no temporary file --------------------------
# Into a node of its own; strace holds the second push at its fsync (its
# data written into the pool, not yet published) and it is killed there.
run push_first strata wal-push --pool "$POOL" --node killednode "$SDIR/pg_wal/$SEGFILE"
check_rc "a first push into node killednode" 0
NEXT=${TL2_FILES[1]}
strace -f -qq -o /dev/null -e trace=fsync,fdatasync -e inject=fsync,fdatasync:delay_enter=30000000 \
  "$STRATA_BIN" wal-push --pool "$POOL" --node killednode "$SDIR/pg_wal/$NEXT" >/dev/null 2>&1 &
SPID=$!
CPID= WRITING=
for ((i = 0; i < 200; i++)); do
  sleep 0.1
  [ -n "$CPID" ] || CPID=$(pgrep -P "$SPID" | head -n 1)
  [ -n "$CPID" ] || continue
  if [ "$(cut -d' ' -f1 /proc/"$CPID"/syscall 2>/dev/null)" = 74 ] && \
     ls -l /proc/"$CPID"/fd 2>/dev/null | grep -q "$POOL/nodes/killednode/wal/"; then WRITING=1; break; fi
done
check "the second push is caught in fsync with an object of the pool open" test -n "$WRITING"
[ -n "$CPID" ] && kill -9 "$CPID"
wait "$SPID" 2>/dev/null
check "the killed push published nothing" \
  test -z "$(find "$POOL/nodes/killednode/wal" -name "$NEXT-*" 2>/dev/null)"
check_eq "a killed wal-push leaves no temporary file in the pool" "" \
  "$(find "$POOL" -name '*strata-tmp*' 2>/dev/null | head -n 3)"
rm -rf "$POOL/nodes/killednode"

# ---- a lost node.json or backup.manifest ---------------------------------
mv "$POOL/nodes/$NODE/node.json" "$T/out/node.json"
run verify_nonode strata verify --pool "$POOL"
check_rc "verify without node $NODE's node.json: exit 1" 1
check_msg "... naming it" "node.json"
run verify_nonode1 strata verify --pool "$POOL" --node "$NODE"
check_rc_nonzero "verify --node $NODE without its node.json fails"
check_msg "... naming it" "node.json"
mv "$T/out/node.json" "$POOL/nodes/$NODE/node.json"

MAN=$POOL/nodes/$NODE/backups/$B1/backup.manifest
mv "$MAN" "$T/out/backup.manifest"
run verify_noman strata verify --pool "$POOL"
check_rc "verify without backup $B1's manifest: exit 1" 1
check_msg "... naming the backup" "$B1"
mv "$T/out/backup.manifest" "$MAN"
run verify_end strata verify --pool "$POOL"
check_rc "verify once everything is back: exit 0" 0

finish
