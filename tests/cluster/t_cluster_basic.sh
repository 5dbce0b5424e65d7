#!/usr/bin/env bash
# t_cluster_basic: a 2-shard cluster from scripts/cluster.sh; the bank
# workload with 2PC and abandoned (in-doubt) transactions; the consistency
# check passes on the quiet cluster and FAILS (exit 1, naming the culprit)
# once consistency is broken on purpose; the compute node sees the shards;
# destroy leaves no process behind.
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/cluster/t_cluster_basic.sh
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# STRATA_TEST_BASE_PORT  first port to try (default 22000)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-cluster.XXXXXX)}
PGBIN=/usr/lib/postgresql/15/bin
DIR=$WORK/cluster
RESOLVE_AFTER=2
WL_PID=

# shellcheck source=lib.sh
. "$HERE/lib.sh"
PSQL_HOST=$DIR/sock

cleanup() {
  if [ -n "$WL_PID" ] && kill -0 "$WL_PID" 2>/dev/null; then
    kill -TERM "$WL_PID" 2>/dev/null
    wait "$WL_PID" 2>/dev/null
  fi
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base "${STRATA_TEST_BASE_PORT:-22000}" 22990 30 0 1 2 3 10 11 12 20 21 22) || { notok "setup" "no free ports"; exit 1; }

# ---- the cluster ---------------------------------------------------------------
t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 2 --base-port "$BASE" --strata "$BIN" \
  --pool "$WORK/pool" 2>"$WORK/create.log"); then
  ok "cluster.sh create: 2 shards x 3 + metadata x 3 + compute in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
# shellcheck disable=SC1091
. "$DIR/cluster.env"

n=$(wc -l <"$DIR/pids")
[ "$n" = 10 ] && ok "10 instances started and recorded" || notok "instances" "DIR/pids has $n lines, expected 10"

for port in $((BASE + 10)) $((BASE + 20)) "$BASE"; do
  s=$(psql_at "$port" postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
  [ "$s" = 2 ] || notok "replication" "primary on port $port has $s streaming standbys, expected 2"
done
ok "every primary streams to two standbys"

mp=$(psql_at $((BASE + 10)) postgres "SHOW max_prepared_transactions")
ac=$(psql_at $((BASE + 10)) postgres "SHOW archive_command")
[ "$mp" -ge 64 ] && case $ac in *"wal-push --pool $WORK/pool --node c1/shard1 %p"*) true ;; *) false ;; esac &&
  ok "shard settings: max_prepared_transactions $mp, archive_command into c1/shard1" ||
  notok "shard settings" "max_prepared_transactions=$mp archive_command=$ac"

out=$("$BIN" cluster show --meta-conn "$META" --cluster c1 --output json 2>&1)
if echo "$out" | grep -q '"name":"shard2"' && [ "$(echo "$out" | grep -c '"role":"standby"')" = 6 ]; then
  ok "cluster show: topology registered"
else
  notok "cluster show" "$out"
fi

# ---- the workload ----------------------------------------------------------------------
if "$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log"; then
  ok "workload --init"
else
  notok "workload --init" "$(cat "$WORK/init.log")"
fi
sum=$(psql_at "$COMPUTE_PORT" bank "SELECT sum(balance) FROM accounts")
[ "$sum" = 200000 ] && ok "compute node: sum over the foreign partitions = 200000" ||
  notok "compute node" "sum(balance) = '$sum', expected 200000"

if "$BIN" workload --meta-conn "$META" --cluster c1 --duration 5 --resolve-after "$RESOLVE_AFTER" \
  --output json >"$WORK/wl.json" 2>"$WORK/wl.log"; then
  cross=$(grep -o '"cross_shard":[0-9]*' "$WORK/wl.json" | cut -d: -f2)
  single=$(grep -o '"single_shard":[0-9]*' "$WORK/wl.json" | cut -d: -f2)
  abp=$(grep -o '"abandoned_after_prepare":[0-9]*' "$WORK/wl.json" | cut -d: -f2)
  abd=$(grep -o '"abandoned_after_decision":[0-9]*' "$WORK/wl.json" | cut -d: -f2)
  if [ "${cross:-0}" -gt 0 ] && [ "${single:-0}" -gt 0 ] && [ $((abp + abd)) -gt 0 ]; then
    ok "workload 5 s: $cross cross-shard, $single single-shard, $abp+$abd abandoned"
  else
    notok "workload" "$(tr -d '\n ' <"$WORK/wl.json")"
  fi
else
  notok "workload" "$(cat "$WORK/wl.log")"
fi

sleep $((RESOLVE_AFTER + 1))
if "$BIN" check-consistency --meta-conn "$META" --cluster c1 >"$WORK/check1.out" 2>&1; then
  ok "check-consistency passes after the workload: $(tail -n 1 "$WORK/check1.out")"
else
  notok "check-consistency after the workload" "$(cat "$WORK/check1.out")"
fi
sum=$(psql_at "$COMPUTE_PORT" bank "SELECT sum(balance) FROM accounts")
[ "$sum" = 200000 ] && ok "compute node: total still 200000 after the workload" ||
  notok "compute node after the workload" "sum(balance) = '$sum'"

# Until a signal: SIGINT ends the run cleanly, with a report and nothing in doubt.
"$BIN" workload --meta-conn "$META" --cluster c1 --resolve-after 30 >"$WORK/wl2.out" 2>&1 &
WL_PID=$!
sleep 2
kill -INT "$WL_PID"
wait "$WL_PID"
rc=$?
WL_PID=
if [ "$rc" = 0 ] && grep -q "left in doubt: 0" "$WORK/wl2.out"; then
  ok "workload until SIGINT: exit 0, abandoned transactions resolved at exit"
else
  notok "workload until SIGINT" "exit $rc: $(cat "$WORK/wl2.out")"
fi
"$BIN" check-consistency --meta-conn "$META" --cluster c1 >"$WORK/check2.out" 2>&1 &&
  ok "check-consistency passes after SIGINT" || notok "check-consistency after SIGINT" "$(cat "$WORK/check2.out")"

# ---- negative controls: the checker must be able to fail --------------------------------
psql_at $((BASE + 10)) bank "BEGIN; INSERT INTO public.transfers (transfer_id, account_id, delta) VALUES ('g-fake-1', 1, 5);
PREPARE TRANSACTION 'g-fake-1'" >/dev/null
"$BIN" check-consistency --meta-conn "$META" --cluster c1 >"$WORK/neg1.out" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q "VIOLATION prepared: shard1: prepared transaction 'g-fake-1'" "$WORK/neg1.out"; then
  ok "negative: a leftover prepared transaction fails the check (exit 1, names g-fake-1)"
else
  notok "negative: leftover prepared transaction" "exit $rc: $(cat "$WORK/neg1.out")"
fi
psql_at $((BASE + 10)) bank "ROLLBACK PREPARED 'g-fake-1'" >/dev/null

gtx=$(psql_at "$BASE" strata "SELECT gtxid FROM strata.commit_log WHERE participants = '{shard1,shard2}' OR participants = '{shard2,shard1}' LIMIT 1")
psql_at $((BASE + 20)) bank "DELETE FROM public.transfers WHERE transfer_id = '$gtx'" >/dev/null
"$BIN" check-consistency --meta-conn "$META" --cluster c1 >"$WORK/neg2.out" 2>&1
rc=$?
"$BIN" check-consistency --meta-conn "$META" --cluster c1 --output json >"$WORK/neg2.json" 2>/dev/null
rcj=$?
if [ "$rc" = 1 ] && grep -q "VIOLATION atomicity: $gtx is on shard1 but not on participant(s) shard2" "$WORK/neg2.out" &&
  grep -q "VIOLATION commit_log: $gtx is decided" "$WORK/neg2.out"; then
  ok "negative: a committed gtxid missing on one participant fails the check (exit 1, names $gtx)"
else
  notok "negative: missing participant rows" "exit $rc: $(cat "$WORK/neg2.out")"
fi
if [ "$rcj" = 1 ] && grep -q '"consistent":false' "$WORK/neg2.json" && grep -q "\"transfer_id\":\"$gtx\"" "$WORK/neg2.json"; then
  ok "negative: --output json reports consistent=false with the transfer id"
else
  notok "negative: json report" "exit $rcj: $(tr -d '\n ' <"$WORK/neg2.json" | cut -c1-400)"
fi

psql_at $((BASE + 20)) bank "UPDATE public.accounts SET balance = balance + 7 WHERE id = 1000001" >/dev/null
"$BIN" check-consistency --meta-conn "$META" --cluster c1 >"$WORK/neg3.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "VIOLATION total_balance: the balances add up to" "$WORK/neg3.out" &&
  ok "negative: money created from nothing fails the total balance check" ||
  notok "negative: total balance" "exit $rc: $(cat "$WORK/neg3.out")"

# ---- bad input -----------------------------------------------------------------------------
"$BIN" workload --meta-conn "$META" >/dev/null 2>&1
rc1=$?
"$BIN" check-consistency --meta-conn "$META" --cluster nosuch >"$WORK/bad.out" 2>&1
rc2=$?
"$BIN" workload --meta-conn "$META" --cluster c1 --cross-shard-ratio 2 >/dev/null 2>&1
rc3=$?
if [ "$rc1" = 2 ] && [ "$rc2" = 1 ] && grep -q "cluster nosuch is not registered" "$WORK/bad.out" && [ "$rc3" = 2 ]; then
  ok "bad input: usage errors exit 2, an unknown cluster exits 1 naming it"
else
  notok "bad input" "exits $rc1/$rc2/$rc3: $(cat "$WORK/bad.out")"
fi

# ---- destroy ---------------------------------------------------------------------------------
pids=$(awk '{print $2}' "$DIR/pids" | paste -sd' ')
if bash "$CLUSTER_SH" destroy "$DIR" 2>"$WORK/destroy.log"; then
  left=""
  # a zombie waiting for its (reparented) parent to reap it runs no more
  alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
  for p in $pids; do alive "$p" && left="$left $p"; done
  # and no process at all whose command line names the cluster directory
  for p in /proc/[0-9]*; do
    case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in *"$DIR/"*) alive "${p#/proc/}" && left="$left ${p#/proc/}" ;; esac
  done
  [ -z "$left" ] && [ ! -e "$DIR" ] && ok "destroy: every instance stopped, directory removed" ||
    notok "destroy" "still running:$left"
else
  notok "destroy" "$(cat "$WORK/destroy.log")"
fi
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
