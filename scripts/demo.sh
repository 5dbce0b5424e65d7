#!/usr/bin/env bash
# strata end-to-end demo (make demo): a primary and a streaming standby
# under pgbench load plus a marker table written one row per transaction;
# an online backup taken from the standby; more load; a point-in-time
# restore to a moment in the middle into a new directory, started; the
# restored rows must be exactly those committed before that moment.
#
# As root, the PostgreSQL parts run as the user `strata` from a copy in
# /tmp (PostgreSQL refuses root). Every process started is stopped by pid.
set -u

if [ "${1:-}" != --inner ]; then
  REPO=$(cd "$(dirname "$0")/.." && pwd)
  BIN=${STRATA_DEMO_BIN:-$REPO/build/strata}
  [ -x "$BIN" ] || { echo "demo: no $BIN (make)" >&2; exit 1; }
  WORK=$(mktemp -d /tmp/strata-demo.XXXXXX)
  chmod 755 "$WORK"
  mkdir -p "$WORK/bin" "$WORK/scripts"
  cp "$BIN" "$WORK/bin/strata"
  cp "$REPO/scripts/pg-lib.sh" "$REPO/scripts/demo.sh" "$WORK/scripts/"
  if [ "$(id -u)" -eq 0 ]; then
    id strata >/dev/null 2>&1 || { echo "demo: user strata missing (scripts/install-deps.sh)" >&2; exit 1; }
    chown -R strata: "$WORK"
    runuser -u strata -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 TZ=UTC \
      bash "$WORK/scripts/demo.sh" --inner "$WORK"
  else
    bash "$WORK/scripts/demo.sh" --inner "$WORK"
  fi
  rc=$?
  if [ "$rc" -eq 0 ]; then rm -rf "$WORK"; else echo "demo: files kept in $WORK"; fi
  exit "$rc"
fi

# ---- inner part: runs as an unprivileged user -------------------------------
WORK=$2
# Start where the unprivileged user can read (the repository may be a
# root-only directory): PostgreSQL's programs warn otherwise.
cd "$WORK" || exit 1
STRATA_BIN=$WORK/bin/strata
POOL=$WORK/pool
export STRATA_BIN POOL
# shellcheck source=pg-lib.sh
source "$WORK/scripts/pg-lib.sh"
pg_lib_init "$WORK/pg"
strata() { "$STRATA_BIN" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
DEMO_T0=$(now)

NODE=demo
PPORT=$(free_port 27900)
SPORT=$(free_port 27901)
RPORT=$(free_port 27902)
SCALE=${DEMO_SCALE:-10}

say "pool $POOL"
strata pool-init --pool "$POOL" || die "pool-init failed"

say "primary (port $PPORT) and standby (port $SPORT)"
PG_NODE=$NODE pg_new_primary primary "$PPORT" || die "primary did not start"
pg_new_standby standby "$SPORT" "$PPORT" || die "standby did not start"
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s "$SCALE" -q postgres >"$WORK/pgbench-init.log" 2>&1 \
  || die "pgbench -i failed (see $WORK/pgbench-init.log)"
psql_at "$PPORT" "create table marker(id int primary key, at timestamptz default clock_timestamp())"
wait_replay "$SPORT" "$PPORT" || die "standby does not catch up"
echo "pgbench scale $SCALE loaded, standby streaming"

# workload: pgbench in rounds + one marker row per transaction
PGB_STOP=$WORK/pgbench.stop
( while [ ! -e "$PGB_STOP" ]; do
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -c 2 -j 2 -T 2 -n postgres >>"$WORK/pgbench-run.log" 2>&1 || break
  done ) &
PGB_PID=$!
bg_register "$PGB_PID"
MARK=0
mark() { MARK=$((MARK + 1)); psql_at "$PPORT" "insert into marker(id) values ($MARK)"; }

say "backup from the standby while the primary is under load"
B_T0=$(now)
strata backup --pool "$POOL" --node "$NODE" --pgdata "$(pg_datadir standby)" \
  --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" \
  --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres" >"$WORK/backup.out" 2>"$WORK/backup.err" &
B_PID=$!
bg_register "$B_PID"
while kill -0 "$B_PID" 2>/dev/null; do mark; sleep 0.2; done
wait "$B_PID"; B_RC=$?
B_SECS=$(secs "$B_T0" "$(now)")
cat "$WORK/backup.err" >&2
[ "$B_RC" = 0 ] || die "backup failed (exit $B_RC)"
BID=$(grep -oE '[0-9]{8}-[0-9]{6}F' "$WORK/backup.out" | head -n 1)
[ -n "$BID" ] || die "backup printed no id"
echo "backup $BID in ${B_SECS}s; $MARK marker rows written meanwhile"

say "more workload; the restore target is taken half-way"
for _ in $(seq 1 15); do mark; sleep 0.2; done
TARGET_ROWS=$MARK
sleep 0.3
TARGET=$(psql_at "$PPORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 0.3
for _ in $(seq 1 15); do mark; sleep 0.2; done
touch "$PGB_STOP"; for _ in $(seq 1 50); do kill -0 "$PGB_PID" 2>/dev/null || break; sleep 0.1; done
bg_stop "$PGB_PID"
TOTAL_ROWS=$(psql_at "$PPORT" "select count(*) from marker")
wait_archived "$PPORT" 120 || die "WAL not archived"
echo "target time $TARGET: $TARGET_ROWS marker rows before it, $TOTAL_ROWS in all"

say "restore to $TARGET into a new directory, started on port $RPORT"
RDIR=$WORK/restored
R_T0=$(now)
strata restore --pool "$POOL" --node "$NODE" --target-dir "$RDIR" --time "$TARGET" \
  --start --port "$RPORT" --pg-bin "$PG_BIN" >"$WORK/restore.out" 2>"$WORK/restore.err"
R_RC=$?
R_SECS=$(secs "$R_T0" "$(now)")
[ -f "$RDIR/postmaster.pid" ] && pg_register "$RDIR"
cat "$WORK/restore.out" "$WORK/restore.err"

GOT_IDS=""; EXPECTED_IDS=$(seq 1 "$TARGET_ROWS" | paste -sd,)
GOT_COUNT="-"; CONSISTENT="-"
if [ "$R_RC" = 0 ]; then
  GOT_IDS=$(psql_at "$RPORT" "select coalesce(string_agg(id::text, ',' order by id), '') from marker" 2>&1)
  GOT_COUNT=$(psql_at "$RPORT" "select count(*) from marker" 2>&1)
  CONSISTENT=$(psql_at "$RPORT" "select (select sum(abalance) from pgbench_accounts) = (select coalesce(sum(delta), 0) from pgbench_history)" 2>&1)
  REACHED=$(psql_at "$RPORT" "select max(at) from marker" 2>&1)
fi

# sizes: the database as the instance sees it, and the backup in the pool
DB_SIZE=$(psql_at "$PPORT" "select sum(pg_database_size(oid)) from pg_database")
POOL_B_SIZE=$(du -sb "$POOL/nodes/$NODE/backups/$BID" 2>/dev/null | cut -f1)
POOL_W_SIZE=$(du -sb "$POOL/nodes/$NODE/wal" 2>/dev/null | cut -f1)
mb() { awk -v b="${1:-0}" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

RESULT=FAIL
if [ "$R_RC" = 0 ] && [ "$GOT_IDS" = "$EXPECTED_IDS" ] && [ "$CONSISTENT" = t ]; then RESULT=PASS; fi

pg_stop_all
say "report"
printf '%-28s %s\n' \
  "backup" "$BID (from the standby, under load)" \
  "database size" "$(mb "$DB_SIZE")" \
  "backup size in the pool" "$(mb "$POOL_B_SIZE")" \
  "WAL in the pool" "$(mb "$POOL_W_SIZE")" \
  "backup duration" "${B_SECS}s" \
  "restore duration" "${R_SECS}s (exit $R_RC)" \
  "target time" "$TARGET" \
  "reached" "$(cat "$WORK/restore.out" "$WORK/restore.err" 2>/dev/null | grep -iE 'promoted at|paused at|reached' | head -n 1 | sed "s|^$RDIR: ||")" \
  "last restored row at" "${REACHED:--}" \
  "marker rows expected" "$TARGET_ROWS (of $TOTAL_ROWS written)" \
  "marker rows restored" "$GOT_COUNT$([ "$GOT_IDS" = "$EXPECTED_IDS" ] || [ "$R_RC" != 0 ] || echo " (ids differ: ${GOT_IDS:(-40)})")" \
  "pgbench balances" "$([ "$CONSISTENT" = t ] && echo consistent || echo "NOT consistent ($CONSISTENT)")" \
  "demo duration" "$(secs "$DEMO_T0" "$(now)")s" \
  "result" "$RESULT"
[ "$RESULT" = PASS ]
