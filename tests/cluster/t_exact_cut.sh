#!/usr/bin/env bash
# t_exact_cut: exact cluster cuts under shard clock skew (issue 12,
# docs/design.md "Exact cluster targets").
#
# A 2-shard cluster whose shard primaries run with clocks shifted by
# libfaketime (shard1 +5 s, shard2 -7 s), a cluster backup, then the 2PC
# workload (with abandoned, in-doubt transactions) for ~18 s with CPs
# every ~3 s.
# Then, one at a time (primaries only, each removed before the next):
#   - EXACT_TIMES random exact times T (default 20): --time T --cut exact;
#   - EXACT_GTXIDS random decisions G (default 10): --gtxid G --cut exact;
# each restored cluster passes check-consistency, and holds exactly the
# decided set: for T every decision whose commit on the metadata primary is
# stamped at or before T (track_commit_timestamp, the one clock), for G every
# decision committed up to and including G's in the metadata WAL's order;
# each shard holds exactly the decided gtxids naming it. The report names
# the method (exact), every shard's LSN and a skew estimate near the shift.
# Negative control: NEG_TIMES (default 5) of the times restored node by node
# with per-shard recovery_target_time (the clock-trusting cut) and resolved
# by the same rule: at least one fails the same per-shard check.
#
# Runs as an unprivileged user (tests/run.sh runs it as `strata`).
# STRATA_BIN             the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK       a directory for the clusters (default: a new one in /tmp)
# STRATA_TEST_BASE_PORT  first port to try (default 31000; a block of 60 ports:
#                        source P..P+22, restored P+30..P+33, node restores P+40..P+42)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-exact-cut.XXXXXX)}
PGBIN=/usr/lib/postgresql/15/bin
DIR=$WORK/cluster
POOL=$WORK/pool
RDIR=$WORK/restored
NDIR=$WORK/nodes
ACCOUNTS=50
EXACT_TIMES=${EXACT_TIMES:-20}
EXACT_GTXIDS=${EXACT_GTXIDS:-10}
NEG_TIMES=${NEG_TIMES:-5}
FAKETIME_LIB=${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
WL_PID=

# shellcheck source=lib.sh
. "$HERE/lib.sh"

stop_workload() {
  if [ -n "$WL_PID" ] && kill -0 "$WL_PID" 2>/dev/null; then
    kill -INT "$WL_PID" 2>/dev/null
    wait "$WL_PID" 2>/dev/null
    WL_RC=$?
  fi
  WL_PID=
}
cleanup() {
  stop_workload
  stop_under "$RDIR"
  stop_under "$NDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T_START=$SECONDS
[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
[ -f "$FAKETIME_LIB" ] || { notok "setup" "no libfaketime at $FAKETIME_LIB (Debian package faketime)"; exit 1; }
BASE=$(pick_base "${STRATA_TEST_BASE_PORT:-31000}" 32000 60 $(seq_offsets 43)) || { notok "setup" "no free block of ports in 31000-31999"; exit 1; }
RBASE=$((BASE + 30))
NBASE=$((BASE + 40))
mkdir -p "$WORK"

# ---- the source cluster: skewed shard clocks, under load ------------------------------------
t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 2 --base-port "$BASE" --name c1 --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 --set track_commit_timestamp=on 2>"$WORK/create.log"); then
  ok "cluster.sh create c1 (ports from $BASE) in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
# shellcheck disable=SC1091
. "$DIR/cluster.env"

declare -A SHIFT=([1]=+5 [2]=-7)
for k in 1 2; do
  data=$DIR/shard$k-1/data
  # the archiver's wal-push without the preload (an ASan build refuses one)
  psql_at $((BASE + 10 * k)) postgres "ALTER SYSTEM SET archive_command =
    'env -u LD_PRELOAD $BIN wal-push --pool $POOL --node c1/shard$k %p'" >/dev/null ||
    { notok "archive_command of shard$k-1" "ALTER SYSTEM failed"; exit 1; }
  if LD_PRELOAD=$FAKETIME_LIB FAKETIME="${SHIFT[$k]}s" "$PGBIN/pg_ctl" -D "$data" -l "$DIR/shard$k-1/postgres.log" \
    -w -t 60 -m fast restart >"$WORK/restart$k.log" 2>&1; then
    echo "shard$k-1 $(head -n 1 "$data/postmaster.pid") $data" >>"$DIR/pids"
  else
    notok "restart shard$k-1 with FAKETIME=${SHIFT[$k]}s" "$(short "$WORK/restart$k.log")"
    exit 1
  fi
done
skew1=$(psql_at $((BASE + 10)) postgres "SELECT round(extract(epoch from now()))::bigint - $(date +%s)")
skew2=$(psql_at $((BASE + 20)) postgres "SELECT round(extract(epoch from now()))::bigint - $(date +%s)")
[ "${skew1:-0}" -ge 4 ] && [ "${skew1:-0}" -le 6 ] && [ "${skew2:-0}" -le -6 ] && [ "${skew2:-0}" -ge -8 ] &&
  ok "shard primaries' clocks shifted: shard1 ${skew1}s, shard2 ${skew2}s" ||
  { notok "clock shift" "shard1 '$skew1', shard2 '$skew2' (wanted about +5 and -7)"; exit 1; }

if ! "$BIN" workload --meta-conn "$META" --cluster c1 --init --accounts "$ACCOUNTS" --duration 0 --quiet \
  2>"$WORK/init.log"; then
  notok "workload --init" "$(short "$WORK/init.log")"
  exit 1
fi
# the backup before the load (t_cluster_restore backs up under load): every
# restore replays only the WAL of the load, a few seconds of it
t0=$SECONDS
if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 1 --output json \
  >"$WORK/backup.json" 2>"$WORK/backup.log"; then
  ok "cluster backup: $(jget "$WORK/backup.json" id), end CP $(jget "$WORK/backup.json" end_cp.name) in $((SECONDS - t0))s"
else
  notok "cluster backup" "$(short "$WORK/backup.log")"
  exit 1
fi
"$BIN" workload --meta-conn "$META" --cluster c1 --clients 2 --resolve-after 3 --duration 3000 \
  --output json >"$WORK/wl.json" 2>"$WORK/wl.log" &
WL_PID=$!
END_CP_TIME=$(jget "$WORK/backup.json" end_cp.time)
ncp=0
for ((i = 1; i <= 6; i++)); do
  sleep 3
  "$BIN" cp create --meta-conn "$META" --cluster c1 --pool "$POOL" --name "cp$i" --output json \
    >"$WORK/cp$i.json" 2>"$WORK/cp$i.log" && ncp=$((ncp + 1))
done
LAST_LOAD=$(psql_at "$META_PORT" strata "SELECT clock_timestamp()")
sleep 1
WL_RC=
stop_workload
abandoned=$(( $(jget "$WORK/wl.json" abandoned_after_prepare) + $(jget "$WORK/wl.json" abandoned_after_decision) ))
[ "$WL_RC" = 0 ] && [ "$ncp" = 6 ] &&
  ok "workload: $(jget "$WORK/wl.json" cross_shard) cross-shard transfers, $abandoned abandoned mid-commit; $ncp CPs" ||
  notok "workload / CPs" "exit $WL_RC, $ncp CPs: $(short "$WORK/wl.json") $(short "$WORK/wl.log")"
"$BIN" cp create --meta-conn "$META" --cluster c1 --pool "$POOL" --name cp-final --output json \
  >"$WORK/cp-final.json" 2>"$WORK/cp-final.log" || notok "cp create cp-final" "$(short "$WORK/cp-final.log")"

# Every CP's WAL in the pool before the restores. A restore waits (60 s) for
# the segment holding the CP after its target. The shard primaries were just
# restarted (with libfaketime), and PostgreSQL 15 here forces no
# archive_timeout switch before the first checkpoint after a start (measured:
# with archive_timeout=1 and checkpoint_timeout=30s, switches began at the
# first timed checkpoint, 30 s in, then came every second). So within the
# test's minutes, an idle primary switched a segment only when it filled,
# which under CI load took minutes. The test switches each primary itself
# and waits until the archiver has pushed the segment.
archived_through() {   # PORT SEGMENT: has the archiver pushed SEGMENT (or a later one)?
  [ "$(psql_at "$1" postgres "SELECT coalesce(last_archived_wal, '') >= '$2' FROM pg_stat_archiver")" = t ]
}
for port in "$META_PORT" $((BASE + 10)) $((BASE + 20)); do
  seg=$(psql_at "$port" postgres "SELECT pg_walfile_name(pg_switch_wal())")
  for ((w = 0; w < 600; w++)); do archived_through "$port" "$seg" && break; sleep 0.1; done
  archived_through "$port" "$seg" || notok "WAL of port $port" "segment $seg not archived after 60 s"
done

# the targets: times between the backup's end CP and 10 s before the load ended
# (a shard 7 s behind needs WAL past T + 7 s for its recovery_target_time);
# gtxids decided in that span
mapfile -t TIMES < <(psql_at "$META_PORT" strata "SELECT (timestamptz '$END_CP_TIME' + random() *
  (timestamptz '$LAST_LOAD' - interval '10 s' - timestamptz '$END_CP_TIME'))::text FROM generate_series(1, $EXACT_TIMES)")
mapfile -t GTXIDS < <(psql_at "$META_PORT" strata "SELECT gtxid FROM strata.commit_log WHERE decided_at >
  timestamptz '$END_CP_TIME' + interval '0.5 s' AND decided_at < timestamptz '$LAST_LOAD' ORDER BY random() LIMIT $EXACT_GTXIDS")
[ "${#TIMES[@]}" = "$EXACT_TIMES" ] && [ "${#GTXIDS[@]}" = "$EXACT_GTXIDS" ] &&
  ok "targets: ${#TIMES[@]} random times from $END_CP_TIME to 10 s before $LAST_LOAD, ${#GTXIDS[@]} random gtxids" ||
  { notok "targets" "${#TIMES[@]} times, ${#GTXIDS[@]} gtxids"; exit 1; }

# The decided set as the source tells it, as "count md5" over sorted gtxids:
# WHERE over commit_log (c.gtxid, c.participants, ts = its commit time).
decided_digest() {   # PORT WHERE
  psql_at "$1" strata "SELECT count(*) || ' ' || coalesce(md5(string_agg(gtxid, ',' ORDER BY gtxid COLLATE \"C\")), '')
    FROM (SELECT c.*, pg_xact_commit_timestamp(c.xmin) AS ts FROM strata.commit_log c) c WHERE $2"
}
# g- transfers on a shard primary, the same way
shard_digest() {   # PORT
  psql_at "$1" bank "SELECT count(*) || ' ' || coalesce(md5(string_agg(t, ',' ORDER BY t COLLATE \"C\")), '')
    FROM (SELECT DISTINCT transfer_id AS t FROM public.transfers WHERE transfer_id LIKE 'g-%') x"
}
# every shard holds exactly the restored decided set's gtxids naming it
shards_match() {   # META_PORT SHARD1_PORT SHARD2_PORT -> "" or what differs
  local k want got bad="" ports=("" "$2" "$3")
  for k in 1 2; do
    want=$(decided_digest "$1" "'shard$k' = ANY (participants)")
    got=$(shard_digest "${ports[$k]}")
    [ -n "$want" ] && [ "$want" = "$got" ] || bad="$bad shard$k holds '$got', decided '$want';"
  done
  echo "$bad"
}

# ---- exact restores, one at a time ---------------------------------------------------------
N_OK=0 N_RUN=0 SKEWS=""
exact_one() {   # LABEL SOURCE_WHERE TARGET-ARGS...
  local label=$1 where=$2 out=$WORK/r_$1.json err=$WORK/r_$1.err t0=$SECONDS
  shift 2
  N_RUN=$((N_RUN + 1))
  if ! "$BIN" restore --cluster c1 --to "c1_$label" --pool "$POOL" --dir "$RDIR" --base-port "$RBASE" --primaries-only \
    --cut exact "$@" --output json >"$out" 2>"$err"; then
    notok "restore $label ($*)" "$(short "$err")"
    stop_under "$RDIR"; rm -rf "$RDIR"
    return
  fi
  local mport s1 s2 bad="" want got
  mport=$(jget "$out" topology.meta.0.port)
  s1=$(jget "$out" topology.shards.0.nodes.0.port) s2=$(jget "$out" topology.shards.1.nodes.0.port)
  [ "$(jget "$out" cut.method)" = exact ] || bad="method '$(jget "$out" cut.method)': $(jget "$out" cut.why);"
  "$BIN" check-consistency --meta-conn "host=127.0.0.1 port=$mport dbname=strata" --cluster "c1_$label" \
    >"$WORK/check_$label.out" 2>&1 || bad="$bad check-consistency: $(head -c 600 "$WORK/check_$label.out" | tr '\n' ' ');"
  want=$(decided_digest "$META_PORT" "$where")
  got=$(decided_digest "$mport" "true")
  [ -n "$want" ] && [ "$want" = "$got" ] || bad="$bad commit log: restored '$got', source decided '$want';"
  bad="$bad$(shards_match "$mport" "$s1" "$s2")"
  local cuts="" k
  for k in 1 2; do
    cuts="$cuts $(jget "$out" cut.cuts.$k.set)@$(jget "$out" cut.cuts.$k.lsn)/$(jget "$out" cut.cuts.$k.how)"
    cuts="$cuts skew $(printf '%.2f' "$(jget "$out" cut.cuts.$k.skew_seconds)" 2>/dev/null)s"
  done
  # an estimate needs a decided transaction seen whole on the shard
  [ "$(jget "$out" cut.cuts.1.skew_samples)" -gt 0 ] 2>/dev/null && [ "$(jget "$out" cut.cuts.2.skew_samples)" -gt 0 ] &&
    SKEWS="$SKEWS|$(jget "$out" cut.cuts.1.skew_seconds) $(jget "$out" cut.cuts.2.skew_seconds)"
  if [ -z "$bad" ]; then
    N_OK=$((N_OK + 1))
    ok "restore $label ($*): consistent, exactly ${want%% *} decisions;$cuts; in $((SECONDS - t0))s"
  else
    notok "restore $label ($*)" "$bad"
  fi
  stop_under "$RDIR"
  rm -rf "$RDIR"
}

for ((i = 0; i < ${#TIMES[@]}; i++)); do
  exact_one "time$i" "ts <= timestamptz '${TIMES[$i]}'" --time "${TIMES[$i]}"
done
for ((i = 0; i < ${#GTXIDS[@]}; i++)); do
  g=${GTXIDS[$i]}
  # in the metadata WAL's order: commits up to G's (its commit timestamp; G present)
  exact_one "gtxid$i" "ts <= (SELECT pg_xact_commit_timestamp(xmin) FROM strata.commit_log WHERE gtxid = '$g')" \
    --gtxid "$g" --meta-conn "$META"
done
[ "$N_OK" = "$N_RUN" ] && ok "exact cuts: $N_OK of $N_RUN restores consistent and exact" ||
  notok "exact cuts" "$N_OK of $N_RUN restores consistent and exact"
# the skew estimates: shard1 about +5 s, shard2 about -7 s (every estimate within 1 s)
bad_skew=$(echo "$SKEWS" | tr '|' '\n' | awk 'NF == 2 && ($1 < 4 || $1 > 6 || $2 < -8 || $2 > -6) { n++ } END { print n + 0 }')
[ "$bad_skew" = 0 ] && [ -n "$SKEWS" ] &&
  ok "skew estimates within 1 s of +5 s (shard1) and -7 s (shard2) in the $(echo "$SKEWS" | tr '|' '\n' | grep -c .) restores with samples" ||
  notok "skew estimates" "$bad_skew restores estimated off by more than 1 s:$(echo "$SKEWS" | tr '|' ' ')"

# ---- negative control: per-shard recovery_target_time ----------------------------------------
node_restore() {   # SET PORT TIME
  "$BIN" restore --pool "$POOL" --node "c1/$1" --target-dir "$NDIR/$1" --time "$3" --start --port "$2" \
    --set "unix_socket_directories=$NDIR" --set listen_addresses=127.0.0.1 --output json \
    >"$NDIR/$1.json" 2>"$NDIR/$1.err"
}
# COMMIT PREPARED what the restored commit log decided, ROLLBACK the rest
resolve_by() {   # META_PORT SHARD_PORT
  local gid
  while read -r gid; do
    [ -n "$gid" ] || continue
    if [ "$(psql_at "$1" strata "SELECT count(*) FROM strata.commit_log WHERE gtxid = '$gid'")" = 1 ]; then
      psql_at "$2" bank "COMMIT PREPARED '$gid'" >/dev/null
    else
      psql_at "$2" bank "ROLLBACK PREPARED '$gid'" >/dev/null
    fi
  done < <(psql_at "$2" bank "SELECT gid FROM pg_prepared_xacts")
}
NEG_FAIL=0 NEG_RUN=0
for ((i = 0; i < NEG_TIMES && i < ${#TIMES[@]}; i++)); do
  T=${TIMES[$i]}
  mkdir -p "$NDIR" && chmod 700 "$NDIR"
  node_restore meta "$NBASE" "$T" & p0=$!
  node_restore shard1 $((NBASE + 1)) "$T" & p1=$!
  node_restore shard2 $((NBASE + 2)) "$T" & p2=$!
  rcs=0
  wait $p0 || rcs=1; wait $p1 || rcs=1; wait $p2 || rcs=1
  if [ "$rcs" != 0 ]; then
    notok "negative control $i: node restores to $T" "$(cat "$NDIR"/*.err | tr '\n' ' ' | cut -c1-600)"
  else
    NEG_RUN=$((NEG_RUN + 1))
    resolve_by "$NBASE" $((NBASE + 1))
    resolve_by "$NBASE" $((NBASE + 2))
    bad=$(shards_match "$NBASE" $((NBASE + 1)) $((NBASE + 2)))
    [ -n "$bad" ] && NEG_FAIL=$((NEG_FAIL + 1))
    echo "# negative control $i, per-shard recovery_target_time '$T': ${bad:-consistent}"
  fi
  stop_under "$NDIR"
  rm -rf "$NDIR"
done
[ "$NEG_RUN" -gt 0 ] && [ "$NEG_FAIL" -gt 0 ] &&
  ok "negative control: per-shard recovery_target_time fails the check in $NEG_FAIL of $NEG_RUN cases" ||
  notok "negative control" "per-shard recovery_target_time failed the check in $NEG_FAIL of $NEG_RUN cases (the check does not see the skew?)"

# ---- the end ----------------------------------------------------------------------------------
bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>"$WORK/destroy.log" || notok "destroy" "$(short "$WORK/destroy.log")"
left=$(procs_under "$WORK")
[ -z "$left" ] && ok "nothing left running" || notok "leftovers" "still running:$left"
echo "# t_exact_cut: $((SECONDS - T_START))s"
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
