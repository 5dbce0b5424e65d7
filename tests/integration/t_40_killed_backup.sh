#!/usr/bin/env bash
# A backup killed with SIGKILL half-way leaves nothing that restore uses;
# the next backup succeeds and restores. While it runs, its lease keeps
# expire away from it; once killed, expire removes it (and the WAL it held).
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)
SCALE=${T40_SCALE:-20}

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
t0=$(date +%s.%N)
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s "$SCALE" -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i -s $SCALE" "failed"; show "$T/out/pgbench_init.log"; finish; }
note "pgbench -i -s $SCALE took $(elapsed "$t0" "$(date +%s.%N)")s, database $(psql_at "$PPORT" "select pg_size_pretty(pg_database_size('postgres'))")"
psql_at "$PPORT" "create table marker(id int primary key); insert into marker select generate_series(1, 3)"

# ---- a slow backup, killed -----------------------------------------------------
"$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
  --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --max-rate 5M \
  >"$T/out/killed.out" 2>"$T/out/killed.err" &
KPID=$!
bg_register "$KPID"
# for 25 s at least (two lease renewals), until it has published some data
# objects (or 40 s)
# (by the clock: looking at an S3 pool takes longer than at a directory)
t_kill=$SECONDS
while [ $((SECONDS - t_kill)) -lt 40 ]; do
  n=$(pool_objects "nodes/$NODE/backups" | grep -c '/data/')
  [ "$n" -ge 1 ] && [ $((SECONDS - t_kill)) -ge 25 ] && break
  kill -0 "$KPID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$KPID" 2>/dev/null; then
  pass "backup still running after $((SECONDS - t_kill)) s ($n data objects in the pool)"
else
  fail "backup still running when it is killed" "it already exited"; show "$T/out/killed.err"
fi
# A running backup is left alone, even by a threshold shorter than its age:
# its lease is renewed every 10 s.
mapfile -t DIRS < <(pool_ls "nodes/$NODE/backups")
run expire_live strata expire --pool "$POOL" --node "$NODE" --keep 1 --interrupted-after 20s --output json
check_rc "expire while the backup runs: exit 0" 0
check_eq "expire while the backup runs: nothing removed as interrupted" 0 \
  "$(jq '.removed_interrupted | length' "$OUT" 2>&1)"
check_eq "expire while the backup runs: it is listed in progress" "in progress" \
  "$(jq -r --arg id "${DIRS[0]:-none}" '.incomplete[] | select(.id == $id) | .problem' "$OUT" 2>/dev/null \
     | grep -o 'in progress' | head -n 1)"
check "the running backup's directory is still there" pool_has "nodes/$NODE/backups/${DIRS[0]:-none}"
KIDS=$(pgrep -P "$KPID" | paste -sd' ')
kill -KILL "$KPID" 2>/dev/null
KILLED_AT=$(date +%s)
for k in $KIDS; do kill -KILL "$k" 2>/dev/null; done
wait "$KPID" 2>/dev/null
[ -n "$KIDS" ] && note "the killed backup had child processes: $KIDS (killed too)"
sleep 1

mapfile -t DIRS < <(pool_ls "nodes/$NODE/backups")
KID=${DIRS[0]:-}
note "partial backup directories: ${DIRS[*]:-none}"
if [ -n "$KID" ]; then
  check "the killed backup has no manifest" pool_lacks "nodes/$NODE/backups/$KID/backup.manifest"
else
  note "the killed backup left no directory"
fi

run info_k strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info after the kill: exit 0" 0
if [ -n "$KID" ]; then
  st=$(json_backup_status "$OUT" "$KID")
  case "$st" in
    absent|incomplete*) pass "info does not show the killed backup as usable ($st)" ;;
    *) fail "info does not show the killed backup as usable" "status '$st'" ;;
  esac
fi
run info_kt strata info --pool "$POOL" --node "$NODE"
check_rc "info (text) after the kill: exit 0" 0
if [ -n "$KID" ] && grep -F "$KID" "$OUT" | grep -qvi incomplete; then
  fail "info text marks the killed backup incomplete" "$(grep -F "$KID" "$OUT" | head -n 2)"
else
  pass "info text does not list the killed backup as usable"
fi

restore_start r_none --node "$NODE" --latest
check_rc_nonzero "restore without --backup, only a killed backup in the pool: fails"
check "... and starts no instance" no_postmaster_in "$RDIR"
pg_stop "$RDIR"
if [ -n "$KID" ]; then
  restore_start r_killed --node "$NODE" --backup "$KID"
  check_rc_nonzero "restore --backup <killed backup>: fails"
  check "... and starts no instance" no_postmaster_in "$RDIR"
  pg_stop "$RDIR"
fi

# ---- the next backup works -------------------------------------------------
psql_at "$PPORT" "insert into marker select generate_series(4, 6)"
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -c 2 -j 2 -t 200 -n postgres >"$T/out/pgbench_run.log" 2>&1
t0=$(date +%s.%N)
run backup2 strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "a new backup after the killed one: exit 0" 0
note "backup took $(elapsed "$t0" "$(date +%s.%N)")s"
NID=$(backup_id "$OUT")
if [ -n "$NID" ] && [ "$NID" != "$KID" ]; then pass "the new backup has a new id ($NID)"
else fail "the new backup has a new id" "'$NID' (killed: '$KID')"; fi
psql_at "$PPORT" "insert into marker select generate_series(7, 9)"
ACCOUNTS=$(psql_at "$PPORT" "select count(*) from pgbench_accounts")
SUMS=$(psql_at "$PPORT" "select sum(abalance) from pgbench_accounts")
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"

run info_n strata info --pool "$POOL" --node "$NODE" --output json
st=$(json_backup_status "$OUT" "$NID")
case "$st" in
  absent|unparsable*|incomplete*|failed*|"?") fail "info lists the new backup as usable" "status '$st'" ;;
  *) pass "info lists the new backup as usable ($st)" ;;
esac
if [ -n "$KID" ]; then
  st=$(json_backup_status "$OUT" "$KID")
  case "$st" in
    absent|incomplete*) pass "the killed backup still not usable ($st)" ;;
    *) fail "the killed backup still not usable" "status '$st'" ;;
  esac
fi

restore_start r_new --node "$NODE" --latest
check_rc "restore --latest (no --backup) after a killed backup: exit 0" 0
if [ "$RC" = 0 ]; then
  check_eq "restored marker rows" "$(seq_csv 1 9)" "$(marker_ids "$RPORT" 2>&1)"
  check_eq "restored pgbench_accounts rows" "$ACCOUNTS" "$(psql_at "$RPORT" "select count(*) from pgbench_accounts" 2>&1)"
  check_eq "restored pgbench_accounts balance sum" "$SUMS" "$(psql_at "$RPORT" "select sum(abalance) from pgbench_accounts" 2>&1)"
  check_eq "restored pgbench balances consistent" t "$(pgbench_consistent "$RPORT" 2>&1)"
  grep -qF "$NID" "$OUT" "$ERR" || note "restore's output does not name the backup it used ($NID)"
else
  show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"
check "restored instance stopped" no_postmaster_in "$RDIR"

run verify strata verify --pool "$POOL" --node "$NODE" --backup "$NID"
check_rc "verify --backup <new backup>: exit 0" 0

# ---- expire removes the killed backup once its lease is stale ----------------
if [ -n "$KID" ]; then
  wait_s=$((KILLED_AT + 21 - $(date +%s)))
  [ "$wait_s" -gt 0 ] && sleep "$wait_s"
  WAL_BEFORE=$(wal_objects "$NODE" | wc -l)
  run expire_dry strata expire --pool "$POOL" --node "$NODE" --keep 1 --interrupted-after 20s --dry-run
  check_rc "expire --dry-run after the kill: exit 0" 0
  check "... says it would remove the killed backup as interrupted" \
    grep -q "would remove backup $KID of $NODE: interrupted" "$OUT"
  check "... and removes nothing" pool_has "nodes/$NODE/backups/$KID"
  run expire_k strata expire --pool "$POOL" --node "$NODE" --keep 1 --interrupted-after 20s --output json
  check_rc "expire after the kill: exit 0" 0
  check_eq "expire removed the killed backup as interrupted" "$KID" \
    "$(jq -r '.removed_interrupted[].id' "$OUT" 2>&1)"
  check "its directory is gone" pool_lacks "nodes/$NODE/backups/$KID"
  check_eq "the new backup is kept" "$NID" "$(jq -r '.kept | join(",")' "$OUT" 2>&1)"
  check_eq "no incomplete backup left" 0 "$(jq '.incomplete | length' "$OUT" 2>&1)"
  WAL_AFTER=$(wal_objects "$NODE" | wc -l)
  if [ "$WAL_AFTER" -lt "$WAL_BEFORE" ]; then
    pass "the WAL only the killed backup held went ($WAL_BEFORE -> $WAL_AFTER segment objects)"
  else
    fail "the WAL only the killed backup held went" "$WAL_BEFORE -> $WAL_AFTER; $(jq -c .notes "$OUT")"
  fi
  restore_start r_after --node "$NODE" --latest
  check_rc "restore --latest after the expire: exit 0" 0
  [ "$RC" = 0 ] && check_eq "restored marker rows after the expire" "$(seq_csv 1 9)" "$(marker_ids "$RPORT" 2>&1)"
  pg_stop "$RDIR"
fi

# ---- Ctrl-C: the backup stops and removes what it wrote ----------------------
mapfile -t BEFORE < <(pool_ls "nodes/$NODE/backups")
"$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
  --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --max-rate 5M \
  >"$T/out/interrupted.out" 2>"$T/out/interrupted.err" &
IPID=$!
bg_register "$IPID"
for ((i = 0; i < 300; i++)); do
  n=$(pool_objects "nodes/$NODE/backups" | grep '/data/' | grep -cvF -f <(printf '/backups/%s/\n' "${BEFORE[@]}"))
  [ "$n" -ge 1 ] && break
  sleep 0.1
done
kill -INT "$IPID" 2>/dev/null
t0=$(date +%s)
for ((i = 0; i < 300; i++)); do kill -0 "$IPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$IPID" 2>/dev/null; then
  fail "an interrupted backup ends" "still running 30 s after SIGINT"
  kill -KILL "$IPID" 2>/dev/null
fi
wait "$IPID"
irc=$?
check_eq "SIGINT of a backup: exit 130" 130 "$irc"
check "... saying it was cancelled" grep -q "cancelled by request" "$T/out/interrupted.err"
note "it ended $(( $(date +%s) - t0 )) s after the signal: $(tail -n 1 "$T/out/interrupted.err" | cut -c1-200)"
mapfile -t AFTER < <(pool_ls "nodes/$NODE/backups")
check_eq "... and left no backup directory" "${BEFORE[*]}" "${AFTER[*]}"

finish
