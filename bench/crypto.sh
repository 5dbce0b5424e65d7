#!/usr/bin/env bash
# The cost of encryption at rest: the same PostgreSQL 15 database (pgbench,
# data checksums on) backed up by strata into a pool without keys and into
# a keyed pool (--cipher aes-256-gcm, the keyed pool's default), then
# restored from each; RUNS alternating runs, medians, the ratio
# encrypted/plain for wall time and CPU time. The goal (issue 9): under 10 %
# on backup time. Writes bench/results-crypto.md (RESULTS_MD).
#
# Run as root (PostgreSQL and strata run as BENCH_USER through runuser) or
# directly as BENCH_USER, on an otherwise idle machine:
#   make && bash bench/crypto.sh
# Knobs: SCALE (pgbench scale, default 50), RUNS (default 3), JOBS (2),
# COMPRESS (zstd), PORT (30030), WORKDIR (/tmp/strata-bench-crypto),
# DROP_CACHES (0; 1 as root: drop the page cache before each operation, so
# backups read from disk; 0 keeps the database cached, which shows the
# cipher's CPU cost at its largest share of the time).
set -euo pipefail

SCALE=${SCALE:-50}
RUNS=${RUNS:-3}
JOBS=${JOBS:-2}
COMPRESS=${COMPRESS:-zstd}
PORT=${PORT:-30030}
WORKDIR=${WORKDIR:-/tmp/strata-bench-crypto}
BENCH_USER=${BENCH_USER:-strata}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
DROP_CACHES=${DROP_CACHES:-0}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/.." && pwd)
STRATA_SRC=${STRATA_BIN:-$REPO_ROOT/build/strata}
RESULTS_MD=${RESULTS_MD:-$HERE/results-crypto.md}

for v in SCALE RUNS JOBS PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
done
log() { printf '[bench-crypto %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  id "$BENCH_USER" >/dev/null 2>&1 || die "user $BENCH_USER does not exist (make deps creates it)"
  as_user() { runuser -u "$BENCH_USER" -- "$@"; }
else
  [ "$(id -un)" = "$BENCH_USER" ] || die "run as root or as $BENCH_USER"
  as_user() { "$@"; }
fi
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time)"
[ -x "$PG_BIN/postgres" ] || die "PostgreSQL 15 not found in $PG_BIN"
[ -x "$STRATA_SRC" ] || die "$STRATA_SRC missing: make first"
if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then die "port $PORT is in use"; fi

W=$WORKDIR; SOCK=$W/sock; BIN=$W/bin; PRIMARY=$W/primary; OUT=$W/out
PLAIN_POOL=$W/pool-plain; KEYED_POOL=$W/pool-keyed; KEY=$W/pool.key
NODE=bench; STRATA=$BIN/strata; RES=$W/results.tsv

stop_pg() {
  local d=$1 pid i
  [ -f "$d/postmaster.pid" ] || return 0
  pid=$(head -1 "$d/postmaster.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pg "$PRIMARY"
  [ "$KEEP_WORKDIR" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

rm -rf "$W"
mkdir -p "$W" "$SOCK" "$BIN" "$OUT"
chmod 755 "$W"
[ "$(id -u)" -eq 0 ] && chown -R "$BENCH_USER" "$W"
install -m 755 "$STRATA_SRC" "$STRATA"
psql_at() { as_user "$PG_BIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -d postgres -c "$1"; }

# ---- the two pools and the database (archiving into both) -----------------
as_user "$STRATA" key generate --out "$KEY" --quiet
as_user "$STRATA" pool-init --pool "$PLAIN_POOL" --quiet
as_user "$STRATA" pool-init --pool "$KEYED_POOL" --key-file "$KEY" --quiet
# archive into both pools at once: pushed one after the other, the second
# pool's copy of a backup's last segment would land later, and the backup
# into that pool (which waits for it) would pay for the first push too
cat >"$BIN/archive-both" <<ARCH
#!/bin/sh
"$STRATA" wal-push --pool "$PLAIN_POOL" --node $NODE --compress $COMPRESS --quiet "\$1" & p=\$!
"$STRATA" wal-push --pool "$KEYED_POOL" --node $NODE --compress $COMPRESS --key-file "$KEY" --quiet "\$1"; k=\$?
wait \$p && [ \$k = 0 ]
ARCH
chmod 755 "$BIN/archive-both"
as_user "$PG_BIN/initdb" -D "$PRIMARY" --data-checksums --auth=trust -E UTF8 --locale=C >"$OUT/initdb.log" 2>&1
cat >>"$PRIMARY/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
wal_level = replica
archive_mode = on
archive_command = '$BIN/archive-both %p'
shared_buffers = 128MB
max_wal_size = 4GB
EOF
as_user "$PG_BIN/pg_ctl" -D "$PRIMARY" -l "$OUT/primary.log" -w start >/dev/null
log "pgbench -i -s $SCALE"
as_user "$PG_BIN/pgbench" -h "$SOCK" -p "$PORT" -i -s "$SCALE" -q postgres >"$OUT/pgbench-init.log" 2>&1
psql_at "checkpoint"
DB_BYTES=$(psql_at "select sum(pg_database_size(oid)) from pg_database")

# timed LABEL OP RUN -- CMD...: wall seconds, CPU seconds (user+sys), peak RSS (KiB)
timed() {
  local label=$1 op=$2 run=$3 t0 t1 status=ok
  shift 4
  sync
  if [ "$DROP_CACHES" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; fi
  t0=$(date +%s.%N)
  as_user /usr/bin/time -f '%U %S %M' -o "$OUT/time.$label.$op.$run" "$@" >"$OUT/$label.$op.$run.out" 2>&1 || status=failed
  t1=$(date +%s.%N)
  read -r u s rss <"$OUT/time.$label.$op.$run" 2>/dev/null || { u=0; s=0; rss=0; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$op" "$run" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" \
    "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')" "$status" "$rss" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$RES"
  [ "$status" = ok ] || log "$label $op run $run failed: see $OUT/$label.$op.$run.out"
}

backup_into() {   # LABEL RUN
  local pool=$PLAIN_POOL args=(--cipher none)
  [ "$1" = encrypted ] && { pool=$KEYED_POOL; args=(--cipher aes-256-gcm --key-file "$KEY"); }
  timed "$1" backup "$2" -- "$STRATA" backup --pool "$pool" --node "$NODE" --pgdata "$PRIMARY" \
    --pg-conn "host=$SOCK port=$PORT dbname=postgres" --jobs "$JOBS" --compress "$COMPRESS" --nice 0 --quiet "${args[@]}"
}
restore_from() {  # LABEL RUN
  local pool=$PLAIN_POOL args=() d=$W/restore-$1
  [ "$1" = encrypted ] && { pool=$KEYED_POOL; args=(--key-file "$KEY"); }
  rm -rf "$d"
  timed "$1" restore "$2" -- "$STRATA" restore --pool "$pool" --node "$NODE" --target-dir "$d" --jobs "$JOBS" \
    --quiet "${args[@]}"
  rm -rf "$d"
}

: >"$RES"
for ((r = 1; r <= RUNS; r++)); do
  # alternate the order so that neither side always runs on a warmer machine
  if ((r % 2)); then order="plain encrypted"; else order="encrypted plain"; fi
  for label in $order; do log "run $r: backup $label"; backup_into "$label" "$r"; done
  for label in $order; do log "run $r: restore $label"; restore_from "$label" "$r"; done
done

median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print ""; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
med() { awk -F'\t' -v l="$1" -v o="$2" -v c="$3" '$1==l && $2==o && $6=="ok"{print $c}' "$RES" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if(a>0 && b>0) printf "%+.1f %%", (b/a-1)*100; else print "n/a"}'; }
# the ratio encrypted/plain within each run (both measured minutes apart), then their median
paired() {  # OP COLUMN
  awk -F'\t' -v o="$1" -v c="$2" '$2==o && $6=="ok"{v[$1 FS $3]=$c; r[$3]=1}
    END{for(k in r) if((("plain" FS k) in v) && (("encrypted" FS k) in v) && v["plain" FS k]>0)
      printf "%.4f\n", v["encrypted" FS k]/v["plain" FS k]}' "$RES" | median
}
pct() { awk -v x="$1" 'BEGIN{if(x=="") print "n/a"; else printf "%+.1f %%", (x-1)*100}'; }
stored() { du -sb "$1/nodes/$NODE/backups" | cut -f1; }
stored_wal() { du -sb "$1/nodes/$NODE/wal" 2>/dev/null | cut -f1; }
{
  echo "# Encryption cost ($(date -u +%Y-%m-%d), bench/crypto.sh)"
  echo
  echo "pgbench scale $SCALE ($(awk -v b="$DB_BYTES" 'BEGIN{printf "%.0f", b/1e6}') MB), $RUNS alternating runs, --jobs $JOBS,"
  echo "--compress $COMPRESS, backup from the primary, DROP_CACHES=$DROP_CACHES."
  echo "$(nproc) CPU(s): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "strata: $("$STRATA" --version 2>/dev/null | head -1)"
  echo
  echo "| operation | plain: wall s | encrypted: wall s | wall (medians) | wall (median of per-run ratios) | plain: CPU s | encrypted: CPU s | CPU (medians) | CPU (per-run) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for op in backup restore; do
    pw=$(med plain "$op" 4); ew=$(med encrypted "$op" 4); pc=$(med plain "$op" 5); ec=$(med encrypted "$op" 5)
    echo "| $op | $pw | $ew | $(ratio "$pw" "$ew") | $(pct "$(paired "$op" 4)") | $pc | $ec | $(ratio "$pc" "$ec") | $(pct "$(paired "$op" 5)") |"
  done
  echo
  echo "Stored after $RUNS backups each: plain $(stored "$PLAIN_POOL") bytes of backups and $(stored_wal "$PLAIN_POOL") of WAL;"
  echo "encrypted $(stored "$KEYED_POOL") bytes of backups and $(stored_wal "$KEYED_POOL") of WAL."
  echo "Failed operations: $(awk -F'\t' '$6!="ok"' "$RES" | wc -l)."
  echo
  echo "Per operation: pool, operation, run, wall s, CPU s, status, peak RSS KiB, 1-min load before:"
  echo
  echo '```'
  cat "$RES"
  echo '```'
} >"$RESULTS_MD"
cat "$RESULTS_MD"
