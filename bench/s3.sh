#!/usr/bin/env bash
# Backup and restore to an S3 store beside a directory pool: the same
# PostgreSQL 15 database (pgbench, data checksums on) backed up by strata
# into a directory pool and into an S3 pool (s3://BUCKET/PREFIX), and, when
# pgbackrest is installed, by pgBackRest into an S3 repository on the same
# store; then restored from each. RUNS runs, the order rotating from run to
# run; medians, and the ratios S3/directory and strata/pgBackRest on S3,
# also taken within each run. Writes bench/results-s3.md (RESULTS_MD).
#
# The store: any S3 endpoint; for a local one, /work/shared/tools/s3/start-s3.sh
# (radosgw) prints and writes what this script reads:
#   S3_ENDPOINT=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
#   S3_BUCKET=... (e.g. `set -a; . $S3_DIR/s3.env; set +a`)
# pgBackRest talks to S3 only over TLS: for an http endpoint the script puts
# socat in front of it (a self-signed certificate made in WORKDIR) and points
# both strata's S3 pool and pgBackRest at that TLS port, so both take the
# same path to the store (S3_TLS=0: strata talks http straight to the store).
#
# Run as root (PostgreSQL and the tools run as BENCH_USER) or as BENCH_USER.
# Knobs: SCALE (20), RUNS (3), JOBS (2), LEVEL (3, zstd for both tools),
# PORT (30040; the TLS proxy uses PORT+1), WORKDIR (/tmp/strata-bench-s3),
# S3_PREFIX (strata-bench-<pid>; pgBackRest uses <prefix>-pgbr), TOOLS.
set -euo pipefail

SCALE=${SCALE:-20}
RUNS=${RUNS:-3}
JOBS=${JOBS:-2}
LEVEL=${LEVEL:-3}
PORT=${PORT:-30040}
TLSPORT=$((PORT + 1))
WORKDIR=${WORKDIR:-/tmp/strata-bench-s3}
BENCH_USER=${BENCH_USER:-strata}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
S3_TLS=${S3_TLS:-1}
S3_PREFIX=${S3_PREFIX:-strata-bench-$$}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/.." && pwd)
STRATA_SRC=${STRATA_BIN:-$REPO_ROOT/build/strata}
RESULTS_MD=${RESULTS_MD:-$HERE/results-s3.md}
if command -v pgbackrest >/dev/null; then TOOLS=${TOOLS:-strata-dir strata-s3 pgbr-s3}
else TOOLS=${TOOLS:-strata-dir strata-s3}; fi

for v in SCALE RUNS JOBS LEVEL PORT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
done
[[ $S3_PREFIX =~ ^[A-Za-z0-9._-]+$ ]] || { echo "bench: S3_PREFIX must be [A-Za-z0-9._-]+" >&2; exit 2; }
log() { printf '[bench-s3 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for v in S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_BUCKET; do
  [ -n "${!v:-}" ] || die "$v is not set (source the store's env file, e.g. \$S3_DIR/s3.env from start-s3.sh)"
done

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
for p in "$PORT" "$TLSPORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then die "port $p is in use"; fi
done

W=$WORKDIR; SOCK=$W/sock; BIN=$W/bin; PRIMARY=$W/primary; OUT=$W/out
DIR_POOL=$W/pool-dir; NODE=bench; STRATA=$BIN/strata; RES=$W/results.tsv
S3_POOL=s3://$S3_BUCKET/$S3_PREFIX; PGBR_CONF=$W/pgbackrest.conf; SOCAT_PID=

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
  [ -z "$SOCAT_PID" ] || kill "$SOCAT_PID" 2>/dev/null || true
  [ "$KEEP_WORKDIR" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

rm -rf "$W"
mkdir -p "$W" "$SOCK" "$BIN" "$OUT" "$W/pgbr-log" "$W/pgbr-lock" "$W/pgbr-spool"
chmod 755 "$W"
install -m 755 "$STRATA_SRC" "$STRATA"

# ---- the path to the store: straight, or through a TLS proxy ---------------
ENDPOINT=$S3_ENDPOINT; CA_ENV=()
if [ "$S3_TLS" = 1 ] && [[ $S3_ENDPOINT == http://* ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/tls.key" -out "$W/tls.crt" -days 1 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$OUT/openssl.log" 2>&1
  socat "OPENSSL-LISTEN:$TLSPORT,bind=127.0.0.1,reuseaddr,fork,cert=$W/tls.crt,key=$W/tls.key,verify=0" \
    "TCP:${S3_ENDPOINT#http://}" 2>"$OUT/socat.log" &
  SOCAT_PID=$!
  # pgBackRest 2.45 matches the host against DNS names only, hence "localhost"
  ENDPOINT=https://localhost:$TLSPORT; CA_ENV=(STRATA_S3_CA_FILE="$W/tls.crt")
  for ((i = 0; i < 50; i++)); do (exec 3<>/dev/tcp/127.0.0.1/"$TLSPORT") 2>/dev/null && break; sleep 0.1; done
fi
[ "$(id -u)" -eq 0 ] && chown -R "$BENCH_USER" "$W"
# the environment strata needs for the S3 pool (also the postmaster's, for archive_command)
S3_ENV=(STRATA_S3_ENDPOINT="$ENDPOINT" STRATA_S3_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
        AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" "${CA_ENV[@]}")
sx() { as_user env "${S3_ENV[@]}" "$@"; }
psql_at() { as_user "$PG_BIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -d postgres -c "$1"; }
has() { [[ " $TOOLS " == *" $1 "* ]]; }

# ---- pools, pgBackRest's repository, the database ---------------------------
as_user "$STRATA" pool-init --pool "$DIR_POOL" --quiet
sx "$STRATA" pool-init --pool "$S3_POOL" --quiet
# archive_command pushes into every pool at once: pushed in sequence, the
# later pools would get a backup's last segment later, and their backups,
# which wait for it, would pay for the earlier pushes
PUSHES=("$STRATA wal-push --pool $DIR_POOL --node $NODE --quiet \"\$1\""
        "$STRATA wal-push --pool $S3_POOL --node $NODE --quiet \"\$1\"")
if has pgbr-s3; then
  H=${ENDPOINT#https://}
  [[ $ENDPOINT == https://* ]] || die "pgBackRest needs an https endpoint (S3_TLS=1 with an http store)"
  cat >"$PGBR_CONF" <<EOF
[global]
repo1-type=s3
repo1-path=/$S3_PREFIX-pgbr
repo1-s3-bucket=$S3_BUCKET
repo1-s3-endpoint=${H%%:*}
repo1-storage-port=${H##*:}
repo1-s3-region=us-east-1
repo1-s3-uri-style=path
repo1-s3-key=$AWS_ACCESS_KEY_ID
repo1-s3-key-secret=$AWS_SECRET_ACCESS_KEY
repo1-storage-ca-file=$W/tls.crt
repo1-retention-full=100
compress-type=zst
compress-level=$LEVEL
process-max=$JOBS
start-fast=y
log-path=$W/pgbr-log
lock-path=$W/pgbr-lock
spool-path=$W/pgbr-spool
log-level-console=warn
log-level-file=info

[bench]
pg1-path=$PRIMARY
pg1-port=$PORT
pg1-socket-path=$SOCK
EOF
  chmod 600 "$PGBR_CONF"; [ "$(id -u)" -eq 0 ] && chown "$BENCH_USER" "$PGBR_CONF"
  PUSHES+=("pgbackrest --config=$PGBR_CONF --stanza=bench archive-push \"\$1\"")
fi
{
  echo '#!/bin/sh'
  echo 'pids='
  for c in "${PUSHES[@]}"; do echo "$c & pids=\"\$pids \$!\""; done
  echo 'rc=0; for p in $pids; do wait "$p" || rc=1; done; exit $rc'
} >"$BIN/archive-strata-pgbackrest"
chmod 755 "$BIN/archive-strata-pgbackrest"
# (pgBackRest refuses an archive_command without "pgbackrest" in it: hence the name)
ARCHIVE="$BIN/archive-strata-pgbackrest %p"
as_user "$PG_BIN/initdb" -D "$PRIMARY" --data-checksums --auth=trust -E UTF8 --locale=C >"$OUT/initdb.log" 2>&1
cat >>"$PRIMARY/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
wal_level = replica
archive_mode = on
archive_command = '$ARCHIVE'
shared_buffers = 128MB
max_wal_size = 4GB
EOF
sx "$PG_BIN/pg_ctl" -D "$PRIMARY" -l "$OUT/primary.log" -w start >/dev/null
has pgbr-s3 && { as_user pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >"$OUT/stanza.log" 2>&1 \
  || die "pgbackrest stanza-create failed: $(tail -3 "$OUT/stanza.log")"; }
log "pgbench -i -s $SCALE"
as_user "$PG_BIN/pgbench" -h "$SOCK" -p "$PORT" -i -s "$SCALE" -q postgres >"$OUT/pgbench-init.log" 2>&1
psql_at "checkpoint" >/dev/null
DB_BYTES=$(psql_at "select sum(pg_database_size(oid)) from pg_database")
# let the archive catch up with pgbench's WAL, so the first backup does not wait for it
psql_at "select pg_switch_wal()" >/dev/null
for ((i = 0; i < 600; i++)); do
  compgen -G "$PRIMARY/pg_wal/archive_status/*.ready" >/dev/null || break; sleep 0.5
done
compgen -G "$PRIMARY/pg_wal/archive_status/*.ready" >/dev/null && die "WAL not archived after 300 s: see $OUT/primary.log"

# timed TARGET OP RUN -- CMD...: wall s (after a sync, including a final sync), CPU s, peak RSS KiB
timed() {
  local label=$1 op=$2 run=$3 t0 t1 status=ok u s rss
  shift 4
  sync
  t0=$(date +%s.%N)
  as_user env "${S3_ENV[@]}" /usr/bin/time -f '%U %S %M' -o "$OUT/time.$label.$op.$run" "$@" \
    >"$OUT/$label.$op.$run.out" 2>&1 || status=failed
  sync
  t1=$(date +%s.%N)
  read -r u s rss <"$OUT/time.$label.$op.$run" 2>/dev/null || { u=0; s=0; rss=0; }
  [[ $u =~ ^[0-9.]+$ ]] || { u=0; s=0; rss=0; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$op" "$run" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" \
    "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')" "$status" "$rss" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$RES"
  [ "$status" = ok ] || log "$label $op run $run failed: see $OUT/$label.$op.$run.out"
}
CONN="host=$SOCK port=$PORT dbname=postgres"
backup() {  # TARGET RUN
  case $1 in
    strata-dir) timed "$1" backup "$2" -- "$STRATA" backup --pool "$DIR_POOL" --node "$NODE" --pgdata "$PRIMARY" \
                  --pg-conn "$CONN" --jobs "$JOBS" --compress zstd --compress-level "$LEVEL" --nice 0 --quiet ;;
    strata-s3)  timed "$1" backup "$2" -- "$STRATA" backup --pool "$S3_POOL" --node "$NODE" --pgdata "$PRIMARY" \
                  --pg-conn "$CONN" --jobs "$JOBS" --compress zstd --compress-level "$LEVEL" --nice 0 --quiet ;;
    pgbr-s3)    timed "$1" backup "$2" -- pgbackrest --config="$PGBR_CONF" --stanza=bench backup --type=full ;;
  esac
}
restore() {  # TARGET RUN
  local d=$W/restore-$1
  rm -rf "$d"; as_user mkdir -m 700 "$d"
  case $1 in
    strata-dir) timed "$1" restore "$2" -- "$STRATA" restore --pool "$DIR_POOL" --node "$NODE" --target-dir "$d" \
                  --jobs "$JOBS" --quiet ;;
    strata-s3)  timed "$1" restore "$2" -- "$STRATA" restore --pool "$S3_POOL" --node "$NODE" --target-dir "$d" \
                  --jobs "$JOBS" --quiet ;;
    pgbr-s3)    timed "$1" restore "$2" -- pgbackrest --config="$PGBR_CONF" --stanza=bench restore \
                  --pg1-path="$d" --process-max="$JOBS" ;;
  esac
  rm -rf "$d"
}

: >"$RES"
read -r -a T <<<"$TOOLS"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
  # rotate the order so that each target goes first in turn
  order=(); for ((i = 0; i < ${#T[@]}; i++)); do order+=("${T[(i + r - 1) % ${#T[@]}]}"); done
  for t in "${order[@]}"; do log "run $r: backup $t"; backup "$t" "$r"; done
  for t in "${order[@]}"; do log "run $r: restore $t"; restore "$t" "$r"; done
done

median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print ""; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
med() { awk -F'\t' -v l="$1" -v o="$2" -v c="$3" '$1==l && $2==o && $6=="ok"{print $c}' "$RES" | median; }
oks() { awk -F'\t' -v l="$1" -v o="$2" '$1==l && $2==o && $6=="ok"' "$RES" | wc -l; }
# time of A / time of B within each run, then the median of those ratios
paired() {  # OP A B
  awk -F'\t' -v o="$1" -v a="$2" -v b="$3" '$2==o && $6=="ok"{v[$1 FS $3]=$4; r[$3]=1}
    END{for(k in r) if(((a FS k) in v) && ((b FS k) in v) && v[b FS k]>0) printf "%.3f\n", v[a FS k]/v[b FS k]}' "$RES" | median
}
mbs() { awk -v b="$DB_BYTES" -v t="$1" 'BEGIN{if(t>0) printf "%.1f", b/1e6/t; else print "-"}'; }
{
  echo "# S3 beside a directory pool ($(date -u +%Y-%m-%d), bench/s3.sh)"
  echo
  echo "pgbench scale $SCALE ($(awk -v b="$DB_BYTES" 'BEGIN{printf "%.0f", b/1e6}') MB in the databases), $RUNS runs (order rotating),"
  echo "--jobs/process-max $JOBS, zstd level $LEVEL, backup from the primary; S3 pool $S3_POOL at $ENDPOINT"
  echo "(store: $S3_ENDPOINT$([ -n "$SOCAT_PID" ] && echo ", through a socat TLS proxy for both tools"))."
  echo "$(nproc) CPU(s): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "strata: $("$STRATA" --version 2>/dev/null | head -1); $(command -v pgbackrest >/dev/null && pgbackrest version)"
  echo
  echo "| target | op | ok runs | median wall s | MB/s | median CPU s | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|"
  for op in backup restore; do for t in "${T[@]}"; do
    w=$(med "$t" "$op" 4)
    echo "| $t | $op | $(oks "$t" "$op")/$RUNS | $w | $(mbs "$w") | $(med "$t" "$op" 5) | $(awk -v k="$(med "$t" "$op" 7)" 'BEGIN{printf "%.1f", k/1024}') |"
  done; done
  echo
  echo "Time ratios, median of the per-run ratios (>1: the first is slower):"
  echo
  for op in backup restore; do
    echo "- $op: strata S3 / strata directory $(paired "$op" strata-s3 strata-dir)$(has pgbr-s3 && echo "; pgBackRest S3 / strata S3 $(paired "$op" pgbr-s3 strata-s3)")"
  done
  echo
  echo "Directory pool after $RUNS backups: $(du -sb "$DIR_POOL/nodes/$NODE/backups" | cut -f1) bytes of backups."
  echo "Failed operations: $(awk -F'\t' '$6!="ok"' "$RES" | wc -l)."
  echo
  echo "Per operation: target, operation, run, wall s, CPU s, status, peak RSS KiB, 1-min load before:"
  echo
  echo '```'
  cat "$RES"
  echo '```'
} >"$RESULTS_MD"
cat "$RESULTS_MD"
