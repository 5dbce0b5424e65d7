#!/usr/bin/env bash
# strata check --pg-conn against instances that archive properly, not at
# all, or into another pool; and a full cycle on an instance with 1 MiB WAL
# segments (initdb --wal-segsize=1).
source "$(dirname "$0")/lib.sh"

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0

# ---- check --pg-conn ------------------------------------------------------------
GPORT=$(free_port "$PORT_BASE")
PG_NODE=good pg_new_primary good "$GPORT" || { fail "start instance good" "see log"; finish; }
run check_good strata check --pool "$POOL" --node good --pg-conn "host=127.0.0.1 port=$GPORT dbname=postgres" --archive-timeout 60
check_rc "check --pg-conn on a new instance archiving into the pool (nothing archived before): exit 0" 0
psql_at "$GPORT" "create table t(x int)"
wait_archived "$GPORT" >/dev/null
run check_good2 strata check --pool "$POOL" --node good --pg-conn "host=127.0.0.1 port=$GPORT dbname=postgres" --archive-timeout 60
check_rc "check --pg-conn on an instance archiving into the pool (WAL already there): exit 0" 0

NPORT=$(free_port $((PORT_BASE + 1)))
PG_NO_ARCHIVE=1 pg_new_primary noarch "$NPORT" || { fail "start instance noarch" "see log"; finish; }
run check_noarch timeout --foreground -k 5 120 "$STRATA_BIN" check --pool "$POOL" --node noarch \
    --pg-conn "host=127.0.0.1 port=$NPORT dbname=postgres" --archive-timeout 10
check_rc "check --pg-conn on an instance with archive_mode=off: exit 1" 1
check_msg "check names archive_mode" "archive_mode"

OPOOL=$T/otherpool
run pool_init2 strata pool-init --pool "$OPOOL"
OPORT=$(free_port $((PORT_BASE + 2)))
POOL=$OPOOL PG_NODE=other pg_new_primary other "$OPORT" || { fail "start instance other" "see log"; finish; }
run check_other timeout --foreground -k 5 120 "$STRATA_BIN" check --pool "$POOL" --node other \
    --pg-conn "host=127.0.0.1 port=$OPORT dbname=postgres" --archive-timeout 10
check_rc "check --pg-conn on an instance archiving into another pool: exit 1" 1
check "check explains why (stderr not empty)" test -s "$ERR"
pg_stop "$(pg_datadir noarch)"
pg_stop "$(pg_datadir other)"
pg_stop "$(pg_datadir good)"

# ---- 1 MiB WAL segments ------------------------------------------------------------
SPORT=$(free_port $((PORT_BASE + 3)))
PG_WAL_SEGSIZE=1 PG_NODE=small pg_new_primary small "$SPORT" "track_commit_timestamp = on" \
  || { fail "start instance with 1 MiB segments" "see log"; show "$T/small/postgres.log"; finish; }
SDIR=$(pg_datadir small)
check_eq "instance has 1 MiB segments" 1048576 "$(psql_at "$SPORT" "select setting from pg_settings where name = 'wal_segment_size'")"
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$SPORT" -i -s 2 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$SPORT" "create table marker(id int primary key, xid xid8 default pg_current_xact_id())"
psql_at "$SPORT" "insert into marker(id) values (1)"
run backup_small strata backup --pool "$POOL" --node small --pgdata "$SDIR" \
    --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" --compress lz4
check_rc "backup of an instance with 1 MiB segments: exit 0" 0
# enough WAL for many 1 MiB segments
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$SPORT" -c 2 -j 2 -t 1000 -n postgres >"$T/out/pgbench_run.log" 2>&1
for i in 2 3 4; do psql_at "$SPORT" "insert into marker(id) values ($i)"; done
X3=$(psql_at "$SPORT" "select xid from marker where id = 3")
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$SPORT" -c 2 -j 2 -t 500 -n postgres >>"$T/out/pgbench_run.log" 2>&1
psql_at "$SPORT" "insert into marker(id) values (5)"
wait_archived "$SPORT" || fail "archiving with 1 MiB segments" "$(psql_at "$SPORT" "select * from pg_stat_archiver")"
NSEG=$(wal_objects small | wc -l)
note "$NSEG WAL objects for node small"
check "many 1 MiB segments archived" test "$NSEG" -ge 10
check_eq "archived segment names follow 1 MiB numbering (last one)" \
  "$(psql_at "$SPORT" "select last_archived_wal from pg_stat_archiver")" \
  "$(wal_objects small | tail -n 1 | while read -r f; do wal_name_of "$f"; done)"
run check_small strata check --pool "$POOL" --node small
check_rc "check with 1 MiB segments: no gap" 0
run verify_small strata verify --pool "$POOL" --node small
check_rc "verify with 1 MiB segments: exit 0" 0

restore_start r_small_xid --node small --xid "$X3"
if [ "$RC" = 0 ]; then
  pass "restore --xid with 1 MiB segments: exit 0"
  check_eq "restore --xid with 1 MiB segments: marker rows" "1,2,3" "$(marker_ids "$RPORT" 2>&1)"
  check_eq "restore --xid with 1 MiB segments: pgbench consistent" t "$(pgbench_consistent "$RPORT" 2>&1)"
else
  fail "restore --xid with 1 MiB segments: exit 0" "exit $RC"; show "$ERR"; show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"
restore_start r_small_latest --node small --latest
if [ "$RC" = 0 ]; then
  pass "restore --latest with 1 MiB segments: exit 0"
  check_eq "restore --latest with 1 MiB segments: marker rows" "1,2,3,4,5" "$(marker_ids "$RPORT" 2>&1)"
  check_eq "restore --latest with 1 MiB segments: pgbench_accounts" \
    "$(psql_at "$SPORT" "select sum(abalance) from pgbench_accounts")" \
    "$(psql_at "$RPORT" "select sum(abalance) from pgbench_accounts" 2>&1)"
else
  fail "restore --latest with 1 MiB segments: exit 0" "exit $RC"; show "$ERR"; show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"

finish
