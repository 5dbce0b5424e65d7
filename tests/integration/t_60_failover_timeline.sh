#!/usr/bin/env bash
# Timelines: the standby is promoted after a backup (failover) and keeps
# archiving into the same node on timeline 2; restores cross the switch.
# Also: --archive-node, a restore without --start started by hand, and
# --force into a stopped instance's directory.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
SPORT=$(free_port $((PORT_BASE + 1)))
PDIR=$(pg_datadir primary)
SDIR=$(pg_datadir standby)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" "track_commit_timestamp = on" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
pg_new_standby standby "$SPORT" "$PPORT" || { fail "start standby" "see log"; show "$T/standby/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key, xid xid8 default pg_current_xact_id())"
marker() { psql_at "$1" "insert into marker(id) select generate_series($2, $3)"; }
marker "$PPORT" 1 3
wait_replay "$SPORT" "$PPORT"

run backup1 strata backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
    --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" \
    --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "backup from the standby on timeline 1" 0
B1=$(backup_id "$OUT")
[ -n "$B1" ] || { fail "backup id" "none"; finish; }
marker "$PPORT" 4 6
wait_replay "$SPORT" "$PPORT"
wait_archived "$PPORT" || fail "archiving on timeline 1" "timeout"

# ---- failover ----------------------------------------------------------------
pg_stop "$PDIR"
check "old primary stopped" no_postmaster_in "$PDIR"
"$PG_BIN/pg_ctl" -D "$SDIR" -w -t 60 promote >"$T/out/promote.log" 2>&1
check_eq "standby promoted" f "$(psql_at "$SPORT" "select pg_is_in_recovery()")"
marker "$SPORT" 7 7
marker "$SPORT" 8 8
T8=$(psql_at "$SPORT" "select to_char(pg_xact_commit_timestamp(xid::text::xid) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' from marker where id = 8")
sleep 0.2
marker "$SPORT" 9 9
if wait_archived "$SPORT" 60; then pass "the promoted standby archives into node $NODE on timeline 2"
else fail "the promoted standby archives on timeline 2" "$(psql_at "$SPORT" "select * from pg_stat_archiver")"; fi
check "timeline 2 history file archived" test -n "$(find "$POOL/nodes/$NODE/wal/history" -name '00000002.history*' 2>/dev/null)"

run check strata check --pool "$POOL" --node "$NODE"
check_rc "check: a timeline switch is not a gap" 0
run info strata info --pool "$POOL" --node "$NODE" --output json
if python3 - "$OUT" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
tls = sorted(t["timeline"] for n in doc["nodes"] for t in n["wal"]["timelines"])
sys.exit(0 if tls == [1, 2] else 1)
EOF
then pass "info json lists WAL timelines 1 and 2"
else fail "info json lists WAL timelines 1 and 2" "$(head -c 300 "$OUT")"; fi

# ---- restores across the switch -------------------------------------------------
restore_rows() {   # LABEL EXPECTED-IDS (after restore_start)
  if [ "$RC" != 0 ]; then fail "$1: exit 0" "exit $RC"; show "$ERR"; show "$OUT"; show_pg_logs "$RDIR"
  else
    pass "$1: exit 0"
    check_eq "$1: marker rows" "$2" "$(marker_ids "$RPORT" 2>&1)"
    check_eq "$1: pgbench balances consistent" t "$(pgbench_consistent "$RPORT" 2>&1)"
  fi
  pg_stop "$RDIR"
}
restore_start r_latest1 --node "$NODE" --backup "$B1" --latest
restore_rows "restore backup of timeline 1 --latest follows the failover to timeline 2" "$(seq_csv 1 9)"
restore_start r_time8 --node "$NODE" --backup "$B1" --time "$T8"
restore_rows "restore --time on timeline 2 from a timeline 1 backup" "$(seq_csv 1 8)"

run backup2 strata backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
    --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres"
check_rc "backup of the promoted standby (timeline 2)" 0
B2=$(backup_id "$OUT")
marker "$SPORT" 10 10
wait_archived "$SPORT" >/dev/null
restore_start r_latest2 --node "$NODE" --latest
restore_rows "restore --latest after a backup on timeline 2" "$(seq_csv 1 10)"
[ -n "$B2" ] && { grep -qF "$B2" "$OUT" "$ERR" || note "restore's output does not name the backup it used ($B2)"; }

# ---- --archive-node ---------------------------------------------------------
restore_start r_src --node "$NODE" --latest --archive-node "$NODE"
check_rc_nonzero "restore --archive-node <the source node> is refused"
check "... and starts no instance" no_postmaster_in "$RDIR"
pg_stop "$RDIR"

restore_start r_arch --node "$NODE" --latest --archive-node db2
check_rc "restore --archive-node db2: exit 0" 0
if [ "$RC" = 0 ]; then
  APORT=$RPORT ADIR=$RDIR
  marker "$APORT" 11 11
  if wait_archived "$APORT" 60; then pass "the restored instance archives into node db2"
  else fail "the restored instance archives into node db2" "$(psql_at "$APORT" "select * from pg_stat_archiver")"; fi
  check "node db2 has WAL in the pool" test -n "$(wal_objects db2 | head -n 1)"
  run check_db2 strata check --pool "$POOL" --node db2 --pg-conn "host=127.0.0.1 port=$APORT dbname=postgres"
  check_rc "check --node db2 --pg-conn <restored instance>: exit 0" 0
  run check_db_wrong strata check --pool "$POOL" --node "$NODE" --pg-conn "host=127.0.0.1 port=$APORT dbname=postgres" --archive-timeout 10
  check_rc "check --node db --pg-conn <instance archiving into db2>: exit 1" 1
  pg_stop "$ADIR"
fi
check_eq "node $NODE got no WAL of a restored instance (timeline 3+)" "" \
  "$(wal_objects "$NODE" | while read -r f; do wal_name_of "$f"; done | grep -v '^0000000[12]' | head -n 3)"

# ---- restore without --start, started by hand; then --force over it --------
XDIR=$T/r_manual
XPORT=$(free_port $((PORT_BASE + 7)))
run r_manual strata restore --pool "$POOL" --node "$NODE" --target-dir "$XDIR" --latest --pg-bin "$PG_BIN"
check_rc "restore without --start: exit 0" 0
check "restore without --start starts nothing" no_postmaster_in "$XDIR"
if [ "$RC" = 0 ]; then
  if "$PG_BIN/pg_ctl" -D "$XDIR" -l "$T/r_manual.log" -o "-p $XPORT" -w -t 120 start >"$T/out/manual_start.log" 2>&1; then
    pg_register "$XDIR"
    if wait_for "$XPORT" "select not pg_is_in_recovery()" 120; then
      pass "a restore without --start starts with pg_ctl and promotes"
      check_eq "restore started by hand: marker rows" "$(seq_csv 1 10)" "$(marker_ids "$XPORT" 2>&1)"
    else
      fail "a restore without --start starts with pg_ctl and promotes" "still in recovery"; show "$T/r_manual.log"
    fi
    psql_at "$XPORT" "create table only_in_manual(x int)" >/dev/null 2>&1
  else
    pg_register "$XDIR"
    fail "a restore without --start starts with pg_ctl" "pg_ctl failed"; show "$T/r_manual.log"
  fi
  pg_stop "$XDIR"
fi

run r_noforce strata restore --pool "$POOL" --node "$NODE" --target-dir "$XDIR" --backup "$B1" --immediate
check_rc "restore over a stopped instance without --force: exit 1" 1
restore_start r_manual --node "$NODE" --backup "$B1" --immediate --force
check_rc "restore --force over a stopped instance's directory: exit 0" 0
if [ "$RC" = 0 ]; then
  got=$(marker_ids "$RPORT" 2>&1)
  case "$got" in
    ""|1|1,2|1,2,3) pass "restore --force --immediate: rows of the backup's consistent point ([$got])" ;;
    *) fail "restore --force --immediate: rows" "[$got], expected a prefix of 1,2,3" ;;
  esac
  check_eq "restore --force replaced the old contents" 0 \
    "$(psql_at "$RPORT" "select count(*) from pg_class where relname = 'only_in_manual'" 2>&1)"
fi
pg_stop "$RDIR"

finish
