#!/usr/bin/env bash
# Backup from a standby while the primary is under pgbench load, then
# point-in-time restores to --time, --xid, --lsn, --name and latest, each
# checked row by row against a marker table written one row per transaction.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
SPORT=$(free_port $((PORT_BASE + 1)))
SDIR=$(pg_datadir standby)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0

PG_NODE=$NODE pg_new_primary primary "$PPORT" "track_commit_timestamp = on" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
pg_new_standby standby "$SPORT" "$PPORT" \
  || { fail "start standby" "see log"; show "$T/standby/postgres.log"; finish; }
pass "primary on $PPORT, standby on $SPORT streaming"

"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 5 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key, at timestamptz default clock_timestamp(),
                  xid xid8 default pg_current_xact_id())"
wait_replay "$SPORT" "$PPORT" || fail "standby catches up" "timeout"

# marker ROW: one transaction inserting marker row ROW
marker() { psql_at "$PPORT" "insert into marker(id) values ($1)"; }

# ---- backup from the standby under load -----------------------------------
pgbench_start "$PPORT"

BSTART=$(date +%s.%N)
"$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
  --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" \
  --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --max-rate 10M \
  >"$T/out/backup.out" 2>"$T/out/backup.err" &
BACKUP_PID=$!
bg_register "$BACKUP_PID"
n=0
# (at most 100: rows 101.. are the targets' below; a slow backup on a
# loaded host would otherwise take their ids)
while kill -0 "$BACKUP_PID" 2>/dev/null && [ "$n" -lt 100 ]; do
  n=$((n + 1)); marker "$n"; sleep 0.2
done
wait "$BACKUP_PID"; RC=$?
BEND=$(date +%s.%N)
note "backup took $(elapsed "$BSTART" "$BEND")s, $n marker rows during it"
OUT=$T/out/backup.out ERR=$T/out/backup.err
check_rc "backup from standby under load exits 0" 0
BID=$(backup_id "$T/out/backup.out")
if [ -n "$BID" ]; then pass "backup prints its id ($BID)"
else fail "backup prints its id" "no id on stdout"; show "$T/out/backup.out"; show "$T/out/backup.err"; fi
check "marker rows were written during the backup" test "$n" -ge 1

if [ "$RC" != 0 ] || [ -z "$BID" ]; then
  note "no backup, skipping the restores"
  finish
fi

# ---- after the backup: rows at known points -------------------------------
# Rows 101..125, one per transaction, 0.2 s apart. Targets:
#   --time = commit time of row 105 (inclusive by default -> 105 present)
#   --time --exclusive on the same time -> 105 absent
#   --xid  = xid of row 110 (inclusive)
#   --lsn  = pg_current_wal_lsn() after row 115 committed
#   --name = rp1, created after row 120
#   latest -> up to 125
DURING=$(seq_csv 1 "$n")
for i in $(seq 101 125); do
  marker "$i"
  case $i in
    105) T105=$(psql_at "$PPORT" "select to_char(pg_xact_commit_timestamp(xid::text::xid) at time zone 'UTC',
                                   'YYYY-MM-DD HH24:MI:SS.US') || '+00' from marker where id = 105") ;;
    110) X110=$(psql_at "$PPORT" "select xid from marker where id = 110") ;;
    115) L115=$(psql_at "$PPORT" "select pg_current_wal_lsn()") ;;
    120) psql_at "$PPORT" "select pg_create_restore_point('rp1')" >/dev/null ;;
  esac
  sleep 0.2
done
note "targets: time '$T105' xid $X110 lsn $L115 name rp1"
pgbench_stop
check "pgbench ran without errors during backup and targets" pgbench_ok

# everything up to row 125 must be archived
if wait_archived "$PPORT" 120; then pass "WAL up to the last row archived"
else fail "WAL up to the last row archived" "pg_stat_archiver: $(psql_at "$PPORT" "select * from pg_stat_archiver")"; fi
run check strata check --pool "$POOL" --node "$NODE"
check_rc "strata check: archive has no gap" 0

# ---- info -----------------------------------------------------------------
run info strata info --pool "$POOL" --node "$NODE"
check_rc "info exits 0" 0
check_msg "info lists the backup" "$BID"
run info_json strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info --output json exits 0" 0
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null; then
  pass "info --output json is valid JSON"
else fail "info --output json is valid JSON" "$(head -c 300 "$OUT")"; fi
st=$(json_backup_status "$OUT" "$BID")
case "$st" in
  absent|unparsable*|incomplete*|failed*|"?") fail "info json lists the backup as usable" "status: $st" ;;
  *) pass "info json lists the backup ($st)" ;;
esac

if python3 - "$OUT" "$BID" "$(psql_at "$PPORT" "select pg_walfile_name('$L115')")" <<'EOF2'
import json, sys
doc = json.load(open(sys.argv[1])); bid, seg = sys.argv[2], sys.argv[3]
node = [n for n in doc["nodes"] if n["name"] == "db"][0]
b = [b for b in node["backups"] if b["id"] == bid][0]
tl = [t for t in node["wal"]["timelines"] if t["timeline"] == 1][0]
ok = b["from_standby"] is True and not tl["gaps"] and tl["first"] <= seg <= tl["last"] and b["size"] > 0
sys.exit(0 if ok else 1)
EOF2
then pass "info json: from_standby, WAL range covers the targets, no gaps"
else fail "info json: from_standby, WAL range covers the targets, no gaps" "$(head -c 400 "$OUT")"; fi

run verify strata verify --pool "$POOL" --node "$NODE"
check_rc "verify of a good pool exits 0" 0

# ---- restores -------------------------------------------------------------
# check_restore LABEL EXPECTED-IDS: rows and pgbench invariant in the restored instance
check_restore() {
  local label=$1 expected=$2 got
  if [ "$RC" != 0 ]; then
    fail "restore $label exits 0" "exit $RC"; show "$ERR"; show "$OUT"
    show_pg_logs "$RDIR"
    pg_stop "$RDIR"; return
  fi
  pass "restore $label exits 0"
  got=$(marker_ids "$RPORT" 2>&1)
  if [ "$got" = "$expected" ]; then pass "restore $label: marker rows are exactly the expected ones"
  else fail "restore $label: marker rows" "expected [${expected:(-60)}], got [${got:(-60)}]"; fi
  check_eq "restore $label: pgbench balances consistent" t "$(pgbench_consistent "$RPORT" 2>&1)"
  check_eq "restore $label: promoted (not in recovery)" f "$(psql_at "$RPORT" "select pg_is_in_recovery()" 2>&1)"
  pg_stop "$RDIR"
  check "restore $label: instance stopped" no_postmaster_in "$RDIR"
}

restore_start r_time --node "$NODE" --time "$T105"
# it reports what it reached: the last transaction is row 105's commit
if [ "$RC" = 0 ]; then check_msg "restore --time reports the time reached" "${T105%+00}"; fi
check_restore "--time (inclusive)" "$DURING,$(seq_csv 101 105)"

restore_start r_time_excl --node "$NODE" --time "$T105" --exclusive
check_restore "--time --exclusive" "$DURING,$(seq_csv 101 104)"

restore_start r_xid --node "$NODE" --xid "$X110"
check_restore "--xid" "$DURING,$(seq_csv 101 110)"

restore_start r_lsn --node "$NODE" --lsn "$L115"
check_restore "--lsn" "$DURING,$(seq_csv 101 115)"

restore_start r_name --node "$NODE" --name rp1
check_restore "--name" "$DURING,$(seq_csv 101 120)"

# pause at the target instead of promoting
restore_start r_pause --node "$NODE" --name rp1 --target-action pause
check_rc "restore --name --target-action pause exits 0" 0
if [ "$RC" = 0 ]; then
  check_eq "restore --target-action pause: paused in recovery" "t|paused" \
    "$(psql_at "$RPORT" "select pg_is_in_recovery(), pg_get_wal_replay_pause_state()" 2>&1)"
  check_eq "restore --target-action pause: marker rows" "$DURING,$(seq_csv 101 120)" "$(marker_ids "$RPORT" 2>&1)"
fi
pg_stop "$RDIR"

# --immediate: the backup's consistent point, a prefix of the rows written during the backup
restore_start r_immediate --node "$NODE" --immediate
check_rc "restore --immediate exits 0" 0
if [ "$RC" = 0 ]; then
  got=$(marker_ids "$RPORT" 2>&1)
  if [ -z "$got" ] || [ "$got" = "$DURING" ] || [ "${DURING#"$got,"}" != "$DURING" ]; then
    pass "restore --immediate: rows are a prefix of those written during the backup ([${got:(-30)}])"
  else
    fail "restore --immediate: rows" "[${got:(-60)}] is not a prefix of [${DURING:(-60)}]"
  fi
  check_eq "restore --immediate: pgbench balances consistent" t "$(pgbench_consistent "$RPORT" 2>&1)"
fi
pg_stop "$RDIR"

restore_start r_latest --node "$NODE" --latest --backup "$BID"
if [ "$RC" = 0 ]; then
  # the restored, promoted instance must not archive into the source node
  # nor connect to the source primary
  psql_at "$RPORT" "create table after_restore(x int); insert into after_restore values (1)" >/dev/null
  psql_at "$RPORT" "select pg_switch_wal()" >/dev/null
  sleep 3
  check_eq "restored instance is not a client of the source primary" 1 \
    "$(psql_at "$PPORT" "select count(*) from pg_stat_replication")"
fi
check_restore "--latest" "$DURING,$(seq_csv 101 125)"

# no restored instance (all promoted to a new timeline) archived into the source node
others=$(wal_objects "$NODE" | while read -r f; do wal_name_of "$f"; done | grep -v '^00000001' | head -n 3)
hist=$(pool_objects "nodes/$NODE/wal/history" | head -n 3)
check_eq "restored instances did not archive into the source node" "" "$others$hist"

# the source is untouched
check_eq "primary still has all rows" "$DURING,$(seq_csv 101 125)" "$(marker_ids "$PPORT")"
check_eq "standby still streaming" streaming "$(psql_at "$SPORT" "select status from pg_stat_wal_receiver")"

finish
