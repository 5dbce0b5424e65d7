#!/usr/bin/env bash
# t_expire_auto: the retention right after a backup (pgBackRest's
# expire-auto) on a real 1-shard cluster, through every path that backs up:
#   - strata backup --cluster, --expire-auto y with no retention anywhere:
#     the backup succeeds, its JSON says why nothing was expired;
#   - --keep 1 --output json: the backup before is removed, the JSON names it;
#   - keep = 1 from strata.conf ([cluster:c1], STRATA_CONFIG), text output:
#     stdout stays the backup id alone, stderr says what was removed;
#   - a backup job of the cluster manager with a policy "keep the last 1"
#     of the cluster, whose expire fails (a pool directory made read-only):
#     the job succeeds, its result names the policy and the failure;
#   - then strata backup --cluster through the CLI applies that policy too,
#     removing what the failed expire left;
#   - a node backup (strata backup --node ... --keep 1): the node backup
#     before it is removed.
# Runs as an unprivileged user (the harness runs it as `strata`).
# Ports: the cluster 34000-34099 (base + 0-3, 10-12), the daemon 34100-34119.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-expire-auto.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
D_PID=

# shellcheck source=lib.sh
. "$HERE/lib.sh"

cleanup() {
  stop_pid D_PID
  [ -n "${LOCKED:-}" ] && chmod 755 "$LOCKED" 2>/dev/null
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
command -v jq >/dev/null || { notok "setup" "jq is not installed"; exit 1; }
BASE=$(pick_cluster_base 34000 34100) || { notok "setup" "no free cluster ports in 34000-34099"; exit 1; }
PORT=$(pick_port 34100 20) || { notok "setup" "no free daemon port in 34100-34119"; exit 1; }
URL=http://127.0.0.1:$PORT

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --strata "$BIN" --pool "$POOL" \
  --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
# No strata.conf of the machine's: only the one this test writes.
export STRATA_CONFIG=$WORK/none.conf
: >"$STRATA_CONFIG"

backup() {   # NAME ARGS...: strata backup --cluster c1 ...; sets RC, OUT (stdout), ERR (stderr file)
  local name=$1
  shift
  ERR=$WORK/$name.err
  OUT=$("$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 2 "$@" 2>"$ERR")
  RC=$?
}
cluster_ids() { ls "$POOL/clusters/c1/backups" 2>/dev/null | paste -sd' '; }
exp() { echo "$OUT" | jq -r "$1" 2>/dev/null; }

# ---- the CLI, a cluster backup ----------------------------------------------------
backup b1 --expire-auto y --output json
B1=$(exp .id)
if [ "$RC" = 0 ] && [ -n "$B1" ] && [ "$(exp .expire.applied)" = false ] &&
  exp .expire.reason | grep -q 'no retention set'; then
  ok "backup $B1, --expire-auto y without a retention: succeeds, nothing expired: $(exp .expire.reason)"
else
  notok "backup --expire-auto y" "exit $RC: $OUT $(tail -n 3 "$ERR")"
fi
grep -q 'retention after the backup not applied' "$ERR" && ok "... and warns on stderr" ||
  notok "expire-auto y warning" "$(cat "$ERR")"

backup b2 --keep 1 --output json
B2=$(exp .id)
if [ "$RC" = 0 ] && [ "$(exp .expire.applied)" = true ] && [ "$(exp '[.expire.removed_backups[].id] | join(" ")')" = "$B1" ] &&
  exp .expire.source | grep -q -- '--keep'; then
  ok "backup $B2 --keep 1: expired $B1 ($(exp .expire.source); $(exp '.expire.removed_cps | length') CP(s))"
else
  notok "backup --keep 1" "exit $RC: $OUT $(tail -n 3 "$ERR")"
fi
ids=$(cluster_ids)
[ "$ids" = "$B2" ] && ok "the pool holds the cluster backup $B2 alone" || notok "pool after --keep 1" "cluster backups: '$ids'"

printf '[cluster:c1]\nkeep = 1\n' >"$WORK/strata.conf"
STRATA_CONFIG=$WORK/strata.conf backup b3
B3=$OUT
if [ "$RC" = 0 ] && [ "$(echo "$OUT" | wc -l)" = 1 ] && [ -n "$B3" ] &&
  grep -q "retention after the backup (the backup's options (--keep): keep the last 1) of c1: removed backups $B2" "$ERR"; then
  ok "keep = 1 from strata.conf: backup $B3 (stdout: the id alone) expired $B2: $(grep 'retention after' "$ERR" | tail -n 1 | cut -c1-200)"
else
  notok "keep from strata.conf" "exit $RC: '$OUT' $(tail -n 3 "$ERR")"
fi

# ---- the cluster manager: a backup job with the cluster's policy ---------------------
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TOKEN" >"$WORK/token")
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL"}
JSON
"$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
D_PID=$!
if wait_http "$URL/metrics" "$D_PID"; then
  ok "cluster-manager started (pid $D_PID, port $PORT)"
else
  notok "cluster-manager start" "$(tail -n 5 "$WORK/manager.log" | tr '\n' ' ')"
  exit 1
fi
cm() { call "$URL" "$TOKEN" "$@"; }
# A daily window that does not contain now: the scheduler runs no backup of it.
h=$(( ($(date -u +%H | sed 's/^0//') + 3) % 24 ))
win=$(printf '%02d:00-%02d:00' "$h" $(( (h + 1) % 24 )))
cm POST /api/v1/clusters/c1/policies "{\"window\": \"$win\", \"keep_last\": 1}"
POLICY=$(jf .id)
[ "$CODE" = 201 ] && [ -n "$POLICY" ] && ok "policy $POLICY: daily $win UTC, keep the last 1" ||
  notok "policy" "$CODE $BODY"

# The job's retention fails: the pool refuses to remove $B3 (its directory
# made read-only). The backup job still succeeds; its result says why.
LOCKED=$POOL/clusters/c1/backups/$B3
chmod 555 "$LOCKED"
cm POST /api/v1/clusters/c1/backups '{}'
JOB=$(jf .job)
if [ "$CODE" = 202 ] && wait_job "$JOB" 1800 && [ "$STATE" = succeeded ]; then
  B4=$(jf .result.backup)
  if [ "$(jf .result.expire.applied)" = true ] && [ "$(jf .result.expire.source)" = "policy $POLICY: keep the last 1" ] &&
    jf .result.expire.error | grep -q "cannot remove .*$B3"; then
    ok "backup job $JOB ($B4) applied policy $POLICY after it; its failure is reported, the job succeeded: $(jf .result.expire.error | cut -c1-160)"
  else
    notok "backup job's retention" "$(echo "$BODY" | jq -c .result)"
  fi
else
  notok "backup job" "$CODE $STATE $(echo "$BODY" | cut -c1-400)"
fi
chmod 755 "$LOCKED"
LOCKED=
grep -q "retention after the backup (policy $POLICY: keep the last 1) of c1 failed, the backup stands" "$WORK/manager.log" &&
  ok "... and the manager's log says so" || notok "failing expire in the log" "$(tail -n 5 "$WORK/manager.log")"

backup b5 --output json
B5=$(exp .id)
if [ "$RC" = 0 ] && [ "$(exp .expire.source)" = "policy $POLICY: keep the last 1" ] &&
  [ "$(exp '[.expire.removed_backups[].id] | join(" ")')" = "$B3 ${B4:-?}" ] && [ -z "$(exp '.expire.error // empty')" ]; then
  ok "strata backup --cluster (CLI) $B5 applies the cluster's policy $POLICY too: removed $B3 and $B4"
else
  notok "CLI backup with the policy" "exit $RC: $OUT $(tail -n 3 "$ERR")"
fi
ids=$(cluster_ids)
[ "$ids" = "$B5" ] && ok "the pool holds the cluster backup $B5 alone" || notok "pool after the policy" "cluster backups: '$ids'"
stop_pid D_PID

# ---- a node backup ----------------------------------------------------------------------
node_backup() {   # NAME: shard1's standby into pool node c1/shard1, --keep 1
  ERR=$WORK/$1.err
  OUT=$("$BIN" backup --pool "$POOL" --node c1/shard1 --pgdata "$DIR/shard1-2/data" \
    --pg-conn "host=127.0.0.1 port=$((BASE + 11)) dbname=postgres" \
    --primary-conn "host=127.0.0.1 port=$((BASE + 10)) dbname=postgres" --archive-timeout 600 \
    --keep 1 --output json 2>"$ERR")
  RC=$?
}
node_backup n1
N1=$(exp .id)
[ "$RC" = 0 ] && [ -n "$N1" ] && [ "$(exp .expire.applied)" = true ] ||
  notok "node backup $N1 --keep 1" "exit $RC: $OUT $(tail -n 3 "$ERR")"
node_backup n2
N2=$(exp .id)
if [ "$RC" = 0 ] && [ -n "$N1" ] && [ "$(exp .expire.applied)" = true ] &&
  [ "$(exp '[.expire.removed_backups[].id] | join(" ")')" = "$N1" ]; then
  ok "node backup $N2 --keep 1: expired the node backup $N1 before it, not the cluster backups' ones"
else
  notok "node backup --keep 1" "exit $RC: $OUT $(tail -n 3 "$ERR")"
fi
"$BIN" verify --pool "$POOL" >"$WORK/verify.out" 2>&1 && ok "strata verify: the pool is clean after it all" ||
  notok "verify" "$(tail -n 5 "$WORK/verify.out" | tr '\n' ' ')"
exit "$FAILED"
