#!/usr/bin/env bash
# t_manager_cli: the strata CLI driving a running cluster manager on a real
# 1-shard cluster from scripts/cluster.sh (docs/cli.md).
#   - strata backup --manager URL --token-file F --cluster c1: the job is
#     followed to its end, the backup id printed; on a terminal (script(1))
#     the job's progress line is shown, and never when stderr is not one;
#   - the seed-style command (-clustername -backuptype storage
#     -coldstoragetype file -workdir) with --output json; STRATA_MANAGER /
#     STRATA_TOKEN_FILE with --shard;
#   - -backuptype compute: "stateless", exit 0, no job, nothing in the pool;
#     -coldstoragetype s3: refused (exit 2, "not supported yet");
#   - strata jobs lists the jobs, --id shows one; strata info --manager lists
#     clusters and, with --cluster, the window and the backups;
#   - a wrong token: 401 named, exit 1; no token: refused; an unreachable
#     manager: the URL named, exit 1; an unknown cluster: the manager's 404;
#   - restore through the manager (when the manager has the endpoint; the
#     probe tells 404 from 400): a job that fails (an unwritable --dir) exits
#     1 with the job's reason; the seed-style restore (-origclustername
#     -restoretime <window end> -enable-globalconsistent) succeeds and the
#     restored cluster passes check-consistency;
#   - make install (PREFIX) installs the binary and the systemd units, which
#     pass `systemd-analyze verify` (a broken copy does not: the check can fail).
#
# Runs as an unprivileged user (the harness runs it as `strata`), e.g.
#   runuser -u strata -- env STRATA_BIN=/tmp/x/strata bash tests/manager/t_manager_cli.sh
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the cluster (default: a new one in /tmp)
# Ports (30500-31499 only): the cluster 30500-30599, the daemon 30700-30719,
# an unused port for "unreachable" 30720-30739, restored clusters 30800-30999.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../..
CLUSTER_SH=$SRC/scripts/cluster.sh
BIN=${STRATA_BIN:-$SRC/build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-manager-cli.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RDIR=$WORK/restored
D_PID=

# shellcheck source=lib.sh
. "$HERE/lib.sh"

stop_daemon() { stop_pid D_PID; D_RC=$STOP_RC; }   # the daemon; sets D_RC
cleanup() {
  stop_daemon
  stop_under "$RDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
command -v curl >/dev/null || { notok "setup" "curl is not installed"; exit 1; }
BASE=$(pick_base 30500 30600 20 0 1 2 3 10 11 12) || { notok "setup" "no free cluster ports in 30500-30599"; exit 1; }
PORT=$(pick_base 30700 30720 1 0) || { notok "setup" "no free daemon port in 30700-30719"; exit 1; }
DEAD_PORT=$(pick_base 30720 30740 1 0) || { notok "setup" "no free port in 30720-30739"; exit 1; }
URL=http://127.0.0.1:$PORT

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 1 --base-port "$BASE" --name c1 --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 2>"$WORK/create.log"); then
  ok "cluster.sh create: 1 shard in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(short "$WORK/create.log")"
  exit 1
fi
"$BIN" workload --meta-conn "$META" --cluster c1 --init --duration 0 --quiet 2>"$WORK/init.log" ||
  notok "workload --init" "$(short "$WORK/init.log")"

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOK=$WORK/token
(umask 077 && echo "$TOKEN" >"$TOK")
(umask 077 && echo "not-the-token-but-long-enough" >"$WORK/badtoken")
cat >"$WORK/manager.json" <<JSON
{"listen": "127.0.0.1:$PORT", "token_file": "$TOK", "meta_conn": "$META", "pool": "$POOL"}
JSON
"$BIN" cluster-manager --config "$WORK/manager.json" >>"$WORK/manager.out" 2>>"$WORK/manager.log" &
D_PID=$!
up=0
for ((i = 0; i < 300; i++)); do
  curl -s -o /dev/null "$URL/metrics" 2>/dev/null && { up=1; break; }
  kill -0 "$D_PID" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] && ok "cluster-manager started (pid $D_PID, port $PORT)" ||
  { notok "cluster-manager start" "$(short "$WORK/manager.log")"; exit 1; }

S=("$BIN")   # strata, with the manager's URL and token file as options
M=(--manager "$URL" --token-file "$TOK")
backups_in_pool() { find "$POOL" -name 'cluster.manifest*' 2>/dev/null | wc -l; }
njobs() { "$BIN" jobs "${M[@]}" --output json 2>/dev/null | grep -o '"id":' | wc -l; }

# ---- backup through the manager ---------------------------------------------------------
t0=$SECONDS
"${S[@]}" backup "${M[@]}" --cluster c1 >"$WORK/b1.out" 2>"$WORK/b1.err"
rc=$?
B1=$(cat "$WORK/b1.out")
if [ "$rc" = 0 ] && [[ $B1 =~ ^[0-9]{8}-[0-9]{6}C$ ]] && grep -q "backup of c1: job [0-9]* on $URL" "$WORK/b1.err"; then
  ok "strata backup --manager --cluster c1: exit 0 in $((SECONDS - t0))s, prints the backup id $B1"
else
  notok "backup --manager" "exit $rc, stdout '$B1': $(short "$WORK/b1.err")"
fi
if grep -q $'\r' "$WORK/b1.err"; then
  notok "no progress when stderr is not a terminal" "$(short "$WORK/b1.err")"
else
  ok "no progress line when stderr is not a terminal"
fi

# the same on a terminal: script(1) gives the command a pty
if command -v script >/dev/null; then
  script -qec "'$BIN' backup --manager '$URL' --token-file '$TOK' --cluster c1" /dev/null >"$WORK/tty.out" 2>&1
  rc=$?
  if [ "$rc" = 0 ] && grep -aq $'\rjob [0-9]* (backup c1): \(queued\|running\|succeeded\)' "$WORK/tty.out"; then
    ok "on a terminal the job's progress line is shown: $(tr '\r' '\n' <"$WORK/tty.out" | grep -a 'job [0-9]* (backup' | tail -n 1 | sed 's/\x1b\[K//g')"
  else
    notok "progress on a terminal" "exit $rc: $(tr '\r' '\n' <"$WORK/tty.out" | tr '\n' ' ' | cut -c1-600)"
  fi
else
  ok "progress on a terminal # SKIP no script(1)"
fi

# the seed's flags, JSON result
"${S[@]}" backup -clustername c1 -backuptype storage -coldstoragetype file -workdir "$WORK" "${M[@]}" \
  --output json >"$WORK/b2.json" 2>"$WORK/b2.err"
rc=$?
B2=$(jget "$WORK/b2.json" result.backup)
J2=$(jget "$WORK/b2.json" id)
if [ "$rc" = 0 ] && [ "$(jget "$WORK/b2.json" state)" = succeeded ] && [ -n "$B2" ] && [ "$B2" != "$B1" ] &&
  grep -q -- '-workdir .*not used' "$WORK/b2.err"; then
  ok "seed style: backup -clustername c1 -backuptype storage -coldstoragetype file -workdir D --output json: job $J2 succeeded, backup $B2 (-workdir noted as unused)"
else
  notok "seed-style backup" "exit $rc: $(short "$WORK/b2.json") $(short "$WORK/b2.err")"
fi

# STRATA_MANAGER / STRATA_TOKEN_FILE, one shard
STRATA_MANAGER=$URL STRATA_TOKEN_FILE=$TOK "$BIN" backup --cluster c1 --shard shard1 --quiet >"$WORK/b3.out" 2>"$WORK/b3.err"
rc=$?
B3=$(cat "$WORK/b3.out")
if [ "$rc" = 0 ] && [[ $B3 =~ ^[0-9]{8}-[0-9]{6}C$ ]] && [ ! -s "$WORK/b3.err" ]; then
  ok "STRATA_MANAGER + STRATA_TOKEN_FILE: backup --cluster c1 --shard shard1 --quiet: $B3, nothing on stderr"
else
  notok "backup from the environment" "exit $rc '$B3': $(short "$WORK/b3.err")"
fi

# compute: stateless, nothing touched. The pool's WAL is left out of the
# comparison: the primaries' archive_command keeps pushing segments (the
# earlier backups' switches) on its own, whatever this command does.
jobs_before=$(njobs)
pool_files() { find "$POOL" -path '*/wal' -prune -o -path '*/wal-index' -prune -o -print | sort; }
pool_files >"$WORK/pool.before"
"${S[@]}" backup -clustername c1 -backuptype compute "${M[@]}" >"$WORK/c.out" 2>"$WORK/c.err"
rc=$?
pool_files >"$WORK/pool.after"
if [ "$rc" = 0 ] && grep -q "stateless" "$WORK/c.out" && [ "$(njobs)" = "$jobs_before" ] &&
  cmp -s "$WORK/pool.before" "$WORK/pool.after"; then
  ok "-backuptype compute: exit 0, '$(cut -c1-60 "$WORK/c.out")...', no job, the pool untouched"
else
  notok "-backuptype compute" "exit $rc, jobs $jobs_before -> $(njobs), pool changes: $(diff "$WORK/pool.before" "$WORK/pool.after" | head -5 | tr '\n' ' '): $(short "$WORK/c.out") $(short "$WORK/c.err")"
fi
"${S[@]}" backup -clustername c1 -coldstoragetype s3 "${M[@]}" >/dev/null 2>"$WORK/s3.err"
rc=$?
[ "$rc" = 2 ] && grep -q "coldstoragetype 's3': not supported yet" "$WORK/s3.err" && [ "$(njobs)" = "$jobs_before" ] &&
  ok "-coldstoragetype s3: exit 2, not supported yet, no job" || notok "-coldstoragetype s3" "exit $rc: $(short "$WORK/s3.err")"

# ---- jobs, info ---------------------------------------------------------------------------
"${S[@]}" jobs "${M[@]}" >"$WORK/jobs.out" 2>"$WORK/jobs.err"
rc=$?
if [ "$rc" = 0 ] && grep -q "^ID  *CLUSTER" "$WORK/jobs.out" && grep -Eq "^$J2 +c1 +backup +succeeded .*backup $B2" "$WORK/jobs.out" &&
  [ "$(grep -Ec '^[0-9]+ +c1 +backup +succeeded' "$WORK/jobs.out")" -ge 4 ]; then
  ok "strata jobs lists the four backup jobs, succeeded, with their backups"
else
  notok "strata jobs" "exit $rc: $(short "$WORK/jobs.out") $(short "$WORK/jobs.err")"
fi
"${S[@]}" jobs "${M[@]}" --id "$J2" --output json >"$WORK/job.json" 2>&1
rc=$?
"${S[@]}" jobs "${M[@]}" --id "$J2" >"$WORK/job.txt" 2>&1
[ "$rc" = 0 ] && [ "$(jget "$WORK/job.json" result.backup)" = "$B2" ] && grep -q "^job $J2: backup of c1, succeeded" "$WORK/job.txt" &&
  ok "strata jobs --id $J2: the job (json and text)" || notok "jobs --id" "exit $rc: $(short "$WORK/job.json") $(short "$WORK/job.txt")"
"${S[@]}" jobs "${M[@]}" --id 99999999 >/dev/null 2>"$WORK/nojob.err"
rc=$?
[ "$rc" = 1 ] && grep -q "HTTP 404" "$WORK/nojob.err" && ok "strata jobs --id <unknown>: exit 1, the manager's 404" ||
  notok "jobs --id unknown" "exit $rc: $(short "$WORK/nojob.err")"

"${S[@]}" info "${M[@]}" >"$WORK/info.out" 2>&1
rc1=$?
"${S[@]}" info "${M[@]}" --cluster c1 >"$WORK/info1.out" 2>&1
rc2=$?
"${S[@]}" info "${M[@]}" --cluster c1 --output json >"$WORK/info1.json" 2>&1
rc3=$?
WINDOW_TO=$(jget "$WORK/info1.json" window.to)
if [ "$rc1$rc2$rc3" = 000 ] && grep -q "^c1 " "$WORK/info.out" && grep -q "^cluster c1: recoverable from .* to " "$WORK/info1.out" &&
  grep -q "^$B1 " "$WORK/info1.out" && grep -q "^$B2 " "$WORK/info1.out" && grep -q "^$B3 *shard shard1" "$WORK/info1.out" &&
  [ -n "$WINDOW_TO" ]; then
  ok "strata info --manager: clusters; --cluster c1: window (to $WINDOW_TO) and the 4 backups"
else
  notok "strata info --manager" "exit $rc1/$rc2/$rc3: $(short "$WORK/info.out") $(short "$WORK/info1.out")"
fi

# ---- errors ----------------------------------------------------------------------------------
"$BIN" backup --manager "$URL" --token-file "$WORK/badtoken" --cluster c1 >"$WORK/bt.out" 2>"$WORK/bt.err"
rc=$?
[ "$rc" = 1 ] && grep -q "refused POST /api/v1/clusters/c1/backups (HTTP 401): invalid API token" "$WORK/bt.err" && [ ! -s "$WORK/bt.out" ] &&
  ok "a wrong token: exit 1, '$(cut -c1-150 "$WORK/bt.err")'" || notok "wrong token" "exit $rc: $(short "$WORK/bt.err")"
"$BIN" jobs --manager "$URL" >/dev/null 2>"$WORK/nt.err"
rc=$?
[ "$rc" != 0 ] && grep -q "needs the API token: give --token-file FILE or set STRATA_TOKEN_FILE" "$WORK/nt.err" &&
  ok "no token file: refused (exit $rc) before any request" || notok "no token" "exit $rc: $(short "$WORK/nt.err")"
"$BIN" backup --manager "http://127.0.0.1:$DEAD_PORT" --token-file "$TOK" --cluster c1 >/dev/null 2>"$WORK/dead.err"
rc=$?
[ "$rc" = 1 ] && grep -q "cannot reach the cluster manager at http://127.0.0.1:$DEAD_PORT" "$WORK/dead.err" &&
  ok "an unreachable manager: exit 1, the URL named: '$(cut -c1-160 "$WORK/dead.err")'" ||
  notok "unreachable manager" "exit $rc: $(short "$WORK/dead.err")"
"${S[@]}" backup "${M[@]}" --cluster nosuch >/dev/null 2>"$WORK/nc.err"
rc=$?
[ "$rc" = 1 ] && grep -q "HTTP 404): cluster nosuch is not registered" "$WORK/nc.err" &&
  ok "an unknown cluster: exit 1 with the manager's message" || notok "unknown cluster" "exit $rc: $(short "$WORK/nc.err")"
"${S[@]}" backup "${M[@]}" --cluster c1 --pgdata /x >/dev/null 2>"$WORK/pg.err"
rc=$?
[ "$rc" = 2 ] && grep -q -- "--pgdata does not apply through the cluster manager" "$WORK/pg.err" &&
  ok "a local option with --manager: exit 2, named" || notok "local option with --manager" "exit $rc: $(short "$WORK/pg.err")"
kill -0 "$D_PID" 2>/dev/null && ok "the daemon is still up" || notok "daemon" "died: $(short "$WORK/manager.log")"

# ---- restore through the manager ---------------------------------------------------------
PCODE=$(curl -s -o "$WORK/probe" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" --data-binary '{}' \
  "$URL/api/v1/clusters/c1/restores")
if [ "$PCODE" = 404 ]; then
  ok "restore through the manager # SKIP the manager has no POST /api/v1/clusters/{c}/restores yet (404: $(cat "$WORK/probe"))"
elif ! RBASE=$(pick_base 30800 31000 20 0 1 2 3 4 5 6 7 8 9 10 11 12); then
  notok "restore" "no free block of ports in 30800-30999"
else
  # a job that fails: its reason comes back, exit 1
  "${S[@]}" restore "${M[@]}" --cluster c1 --to c1fail --latest --base-port "$RBASE" --dir /proc/strata-not-writable \
    >"$WORK/rf.out" 2>"$WORK/rf.err"
  rc=$?
  if [ "$rc" = 1 ] && grep -q "job [0-9]* (restore of c1 into c1fail) failed: .*/proc/strata-not-writable" "$WORK/rf.err"; then
    ok "a restore job that fails: exit 1 with the job's reason: '$(grep -o 'failed: .*' "$WORK/rf.err" | cut -c1-160)'"
  else
    notok "failing restore job" "exit $rc: $(short "$WORK/rf.err")"
  fi
  FJ=$("$BIN" jobs "${M[@]}" --output json | python3 -c 'import json,sys; print(next((j["id"] for j in json.load(sys.stdin)["jobs"] if j["kind"]=="restore"), ""))' 2>/dev/null)
  "$BIN" jobs "${M[@]}" --id "${FJ:-0}" --wait --quiet >/dev/null 2>&1
  rc=$?
  [ -n "$FJ" ] && [ "$rc" = 1 ] && ok "strata jobs --id $FJ --wait on the failed job: exit 1" ||
    notok "jobs --wait on a failed job" "job '$FJ' exit $rc"

  # the seed's restore: to the end of the window, globally consistent
  t0=$SECONDS
  "${S[@]}" restore -origclustername c1 -restoretime "$WINDOW_TO" -restoretype storage -enable-globalconsistent true \
    --to c1r "${M[@]}" --base-port "$RBASE" --dir "$RDIR" --output json >"$WORK/r.json" 2>"$WORK/r.err"
  rc=$?
  MPORT=$(jget "$WORK/r.json" result.topology.meta.0.port)
  if [ "$rc" = 0 ] && [ "$(jget "$WORK/r.json" state)" = succeeded ] && [ -n "$MPORT" ]; then
    ok "seed style: restore -origclustername c1 -restoretime '$WINDOW_TO' -restoretype storage -enable-globalconsistent true --to c1r: succeeded in $((SECONDS - t0))s at CP $(jget "$WORK/r.json" result.cp)"
    if "$BIN" check-consistency --meta-conn "host=127.0.0.1 port=$MPORT dbname=strata" --cluster c1r >"$WORK/check.out" 2>&1; then
      ok "the restored cluster c1r passes check-consistency: $(tail -n 1 "$WORK/check.out")"
    else
      notok "check-consistency of c1r" "$(short "$WORK/check.out")"
    fi
    "${S[@]}" info "${M[@]}" >"$WORK/info2.out" 2>&1
    grep -q "^c1r " "$WORK/info2.out" && ok "strata info --manager lists the restored cluster c1r" ||
      notok "info after restore" "$(short "$WORK/info2.out")"
  else
    notok "seed-style restore through the manager" "exit $rc: $(short "$WORK/r.err") $(short "$WORK/r.json")"
  fi
  stop_under "$RDIR"
fi

# ---- systemd units, make install ---------------------------------------------------------
if [ -f "$SRC/Makefile" ] && [ -d "$SRC/dist/systemd" ]; then
  INST=$WORK/inst
  if make -s -C "$SRC" install INSTALL_BIN="$BIN" PREFIX="$INST" >"$WORK/install.log" 2>&1 &&
    [ -x "$INST/bin/strata" ] && [ -f "$INST/lib/systemd/system/strata-cluster-manager.service" ] &&
    [ -f "$INST/lib/systemd/system/strata-node-manager.service" ] &&
    grep -q "^ExecStart=$INST/bin/strata cluster-manager --config /etc/strata/manager.json$" \
      "$INST/lib/systemd/system/strata-cluster-manager.service"; then
    ok "make install PREFIX=...: the binary and both units, ExecStart rewritten to PREFIX"
  else
    notok "make install" "$(short "$WORK/install.log")"
  fi
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$INST"/lib/systemd/system/strata-*.service >"$WORK/verify.log" 2>&1
    rc=$?
    [ "$rc" = 0 ] && [ ! -s "$WORK/verify.log" ] && ok "systemd-analyze verify: both units, no warning" ||
      notok "systemd-analyze verify" "exit $rc: $(short "$WORK/verify.log")"
    sed 's/^Type=simple/Type=simpel/' "$INST/lib/systemd/system/strata-cluster-manager.service" >"$WORK/broken.service"
    systemd-analyze verify "$WORK/broken.service" >"$WORK/verify2.log" 2>&1
    [ -s "$WORK/verify2.log" ] && ok "systemd-analyze verify flags a broken copy (the check can fail)" ||
      notok "verify of a broken unit" "no complaint"
    for u in cluster-manager node-manager; do
      f=$INST/lib/systemd/system/strata-$u.service
      miss=""
      for k in Type=simple User=strata Restart=on-failure NoNewPrivileges=yes ProtectSystem=strict \
        ReadWritePaths=/var/lib/strata PrivateTmp=yes; do grep -qx "$k" "$f" || miss="$miss $k"; done
      [ -z "$miss" ] && ok "strata-$u.service: Type=simple, User=strata, Restart=on-failure, hardening" ||
        notok "strata-$u.service" "missing:$miss"
    done
  else
    ok "systemd-analyze verify # SKIP systemd-analyze is not installed"
  fi
else
  notok "make install" "no Makefile or dist/systemd next to the tests ($SRC)"
fi

stop_daemon
[ "$D_RC" = 0 ] && ok "SIGTERM: the daemon exits 0" || notok "SIGTERM" "exit $D_RC: $(short "$WORK/manager.log")"
if bash "$CLUSTER_SH" destroy "$DIR" 2>"$WORK/destroy.log"; then
  ok "cluster destroyed"
else
  notok "destroy" "$(short "$WORK/destroy.log")"
fi
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
