#!/usr/bin/env bash
# strata.conf and STRATA_<OPTION>: precedence command line > environment >
# file; [global], [global:CMD], [NODE] and [cluster:NAME] sections; errors
# naming the file and line; archive_command = 'strata wal-push %p --node db1'
# with everything else in the file; a node manager reading the same file.
source "$(dirname "$0")/lib.sh"

CONF=$T/strata.conf
P_FILE=$T/pool-file P_ENV=$T/pool-env P_CMD=$T/pool-cmd P_NODE=$T/pool-db2 P_CMDSEC=$T/pool-info
unset STRATA_POOL STRATA_NODE STRATA_CONFIG STRATA_OUTPUT

cat >"$CONF" <<EOF
# strata's configuration
[global]
pool = $P_FILE
log-level = info

; a node's own settings
[db2]
pool = $P_NODE

[cluster:c9]
pool = $T/pool-c9-does-not-exist
EOF

# pool_of ARGS...: the pool `strata info` reports (JSON), or the exit status
pool_of() {
  strata info --output json "$@" 2>"$T/out/pool_of.err" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["pool"])' 2>/dev/null || echo "exit-failed"
}
# node_pool_of ARGS...: the pool named by `strata info --node ...` (the
# node is in none of the pools: the JSON error names the pool looked in)
node_pool_of() {
  strata info --output json "$@" 2>"$T/out/pool_of.err" |
    python3 -c 'import json,sys,re; print(re.search(r"has nothing in pool (\S+)$", json.load(sys.stdin)["error"]).group(1))' \
      2>/dev/null || echo "no-error-naming-a-pool"
}

for p in "$P_FILE" "$P_ENV" "$P_CMD" "$P_NODE" "$P_CMDSEC"; do strata pool-init --pool "$p" --quiet; done

# ---- precedence ----------------------------------------------------------------------
check_eq "--config FILE: the file's [global] pool" "$P_FILE" "$(pool_of --config "$CONF")"
check_eq "STRATA_CONFIG=FILE: the same" "$P_FILE" "$(STRATA_CONFIG=$CONF pool_of)"
check_eq "environment over file: STRATA_POOL wins over [global] pool" "$P_ENV" \
  "$(STRATA_POOL=$P_ENV pool_of --config "$CONF")"
check_eq "command line over environment and file: --pool wins" "$P_CMD" \
  "$(STRATA_POOL=$P_ENV pool_of --config "$CONF" --pool "$P_CMD")"
check_eq "--pool=VALUE form counts as given on the command line" "$P_CMD" \
  "$(STRATA_POOL=$P_ENV pool_of --config "$CONF" --pool="$P_CMD")"
check_eq "[db2] applies with --node db2 (over [global])" "$P_NODE" "$(node_pool_of --config "$CONF" --node db2)"
check_eq "[db2] does not apply to --node db1" "$P_FILE" "$(node_pool_of --config "$CONF" --node db1)"
check_eq "[db2] applies with STRATA_NODE=db2" "$P_NODE" "$(STRATA_NODE=db2 node_pool_of --config "$CONF")"
check_eq "environment over a node section: STRATA_POOL wins over [db2]" "$P_ENV" \
  "$(STRATA_POOL=$P_ENV node_pool_of --config "$CONF" --node db2)"

cp "$CONF" "$T/cmd.conf"
printf '\n[global:info]\npool = %s\n' "$P_CMDSEC" >>"$T/cmd.conf"
check_eq "[global:info] applies to info (over [global])" "$P_CMDSEC" "$(pool_of --config "$T/cmd.conf")"
run verify_cmdsec strata verify --config "$T/cmd.conf" --output json
check_rc "[global:info] does not apply to verify (its pool is [global]'s, which verifies): exit 0" 0

run cp_list_c9 strata cp list --config "$CONF" --cluster c9
check_rc "[cluster:c9] applies with --cluster c9: its (missing) pool: exit 1" 1
check_msg "... and the error names that pool" "pool-c9-does-not-exist"

printf '[global]\npool = %s\noutput = json\n' "$P_FILE" >"$T/json.conf"
run out_file strata info --config "$T/json.conf"
check "output = json in the file: info prints JSON" python3 -m json.tool "$OUT"
run out_cmd strata info --config "$T/json.conf" --output text
check "--output text on the command line overrides the file" grep -q "^pool $P_FILE" "$OUT"

printf '[global]\npool = %s\nquiet = y\n' "$P_FILE" >"$T/quiet.conf"
run quiet_y strata pool-init --config "$T/quiet.conf" --pool "$T/pool-quiet"
check "quiet = y (a flag) applies: pool-init says nothing" test ! -s "$ERR"
printf '[global]\nquiet = n\n' >"$T/quiet-n.conf"
run quiet_n strata pool-init --config "$T/quiet-n.conf" --pool "$T/pool-quiet-n"
check_msg "quiet = n leaves the flag off" "created pool"
run env_quiet env STRATA_QUIET=yes "$STRATA_BIN" pool-init --pool "$T/pool-quiet-env"
check "STRATA_QUIET=yes applies" test ! -s "$ERR"

# ---- errors name the file and the line ----------------------------------------------------
bad_conf() {   # NAME EXPECTED_RC MESSAGE CONTENT...
  local name=$1 want=$2 msg=$3; shift 3
  printf '%s\n' "$@" >"$T/$name.conf"
  run "bad_$name" strata info --config "$T/$name.conf" --pool "$P_FILE"
  check_rc "bad file ($name): exit $want" "$want"
  check_msg "bad file ($name): the error names file and line ($msg)" "$msg"
}
bad_conf before_section 1 "before_section.conf:2" "# no section yet" "pool = /x"
bad_conf no_equals 1 "no_equals.conf:3" "[global]" "pool = /x" "this line has no equals sign"
bad_conf bad_key 1 "bad_key.conf:2" "[global]" "po ol = /x"
bad_conf bad_section 1 "bad_section.conf:1" "[glo bal]" "pool = /x"
bad_conf no_value 1 "no_value.conf:2" "[global]" "pool ="
bad_conf cmdline_only 1 "cmdline_only.conf:3" "[global]" "pool = /x" "force = y"
bad_conf bad_flag 2 "bad_flag.conf:2" "[global]" "quiet = perhaps"
printf '[global]\njobs = many\n' >"$T/bad_value.conf"
run bad_value strata verify --config "$T/bad_value.conf" --pool "$P_FILE"
check_rc "a bad value from the file: exit 2" 2
check_msg "... the error names the option and file:line" "--jobs: 'many' is not a whole number (set in $T/bad_value.conf:2)"
run bad_env env STRATA_JOBS=many "$STRATA_BIN" verify --pool "$P_FILE"
check_rc "a bad value from the environment: exit 2" 2
check_msg "... the error names the variable" "environment STRATA_JOBS"
run bad_env_cmd env STRATA_JOBS=many "$STRATA_BIN" verify --pool "$P_FILE" --jobs 2
check_rc "the command line's value replaces a bad environment value: exit 0" 0
{ printf '[global]\npool = /x\n# '; head -c 5000 /dev/zero | tr '\0' x; echo; } >"$T/long.conf"
run long_line strata info --config "$T/long.conf"
check_rc "a line over 4096 bytes: exit 1" 1
check_msg "... named with its line" "long.conf:3: line longer than 4096 bytes"
{ echo '[global]'; head -c 1100000 /dev/zero | tr '\0' '\n'; } >"$T/big.conf"
run big_file strata info --config "$T/big.conf"
check_rc "a file over 1 MiB: exit 1" 1
check_msg "... says so" "larger than 1048576 bytes"
run missing strata info --config "$T/nope.conf"
check_rc "--config naming a missing file: exit 1" 1
check_msg "... names it" "$T/nope.conf"
run missing_env env STRATA_CONFIG="$T/nope.conf" "$STRATA_BIN" info --pool "$P_FILE"
check_rc "STRATA_CONFIG naming a missing file: exit 1" 1

# ---- archive_command = 'strata wal-push %p --node db1', the rest from the file ----------
cat >"$T/node.conf" <<EOF
[global]
pool = $POOL
compress = lz4

[db1]
pg-conn = host=127.0.0.1 port=PORT dbname=postgres
EOF
strata pool-init --pool "$POOL" --quiet
PORT=$(free_port "$PORT_BASE")
sed -i "s/PORT/$PORT/" "$T/node.conf"
export STRATA_CONFIG=$T/node.conf
pg_new_primary db1 "$PORT" "archive_command = '$STRATA_BIN wal-push %p --node db1'" \
  || { fail "start db1 with a config-file archive_command" "see log"; finish; }
psql_at "$PORT" "create table t(x int); insert into t values (1)"
wait_archived "$PORT" >/dev/null || fail "archiving with 'wal-push %p --node db1'" \
  "$(psql_at "$PORT" "select * from pg_stat_archiver")"
check "archive_command 'strata wal-push %p --node db1' archives into the file's pool" \
  test -n "$(wal_objects db1 | head -n 1)"
check "... compressed as the file says (lz4)" test -n "$(find "$POOL/nodes/db1/wal" -name '*.lz4' | head -n 1)"
run check_db1 strata check --node db1 --pg-conn "host=127.0.0.1 port=$PORT dbname=postgres" --archive-timeout 60
check_rc "check --node db1 (pool from the file) accepts that archive_command and sees a segment arrive" 0
run backup_db1 strata backup --node db1 --pgdata "$(pg_datadir db1)" --jobs 2
check_rc "backup --node db1 --pgdata DIR: pool, pg-conn and compression from the file" 0
B1=$(backup_id "$OUT")
check "... the backup is in the file's pool" test -d "$POOL/nodes/db1/backups/$B1"
unset STRATA_CONFIG
pg_stop "$(pg_datadir db1)"

# ---- a node manager reads the same file ------------------------------------------------
NM_PORT=$(free_port $((PORT_BASE + 5)))
head -c 32 /dev/urandom | base64 | tr -d '\n=/+' >"$T/nm.token"; chmod 600 "$T/nm.token"
cat >"$T/daemon.conf" <<EOF
[global]
pool = $POOL

[global:node-manager]
listen = 127.0.0.1:$NM_PORT
token-file = $T/nm.token
log-level = debug

[instance:db1]
pgdata = $(pg_datadir db1)
pg-conn = host=127.0.0.1 port=$PORT dbname=postgres
EOF
"$STRATA_BIN" node-manager --config "$T/daemon.conf" >"$T/out/nm.out" 2>"$T/out/nm.err" &
NM_PID=$!
bg_register "$NM_PID"
up=0
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$NM_PORT/" && { up=1; break; }
  kill -0 "$NM_PID" 2>/dev/null || break
  sleep 0.1
done
check_eq "node-manager --config strata.conf (INI) serves on the file's listen address" 1 "$up"
code=$(curl -s -o "$T/out/nm.inst" -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/nm.token")" \
  "http://127.0.0.1:$NM_PORT/api/v1/instances")
check_eq "... with the file's token" 200 "$code"
check "... and the file's [instance:db1]" grep -q '"db1"' "$T/out/nm.inst"
bg_stop "$NM_PID"
check "... its log lines carry time, pid, level and the command tag" grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{3}[+-][0-9]{4} P$NM_PID INFO \[node-manager\] " "$T/out/nm.err"
printf '[global]\npool = %s\n[global:node-manager]\nlisten = 127.0.0.1:%s\n[node-manager:h1]\nport = 1\n' \
  "$POOL" "$NM_PORT" >"$T/daemon-bad.conf"
run nm_bad strata cluster-manager --config "$T/daemon-bad.conf"
check_rc "cluster-manager with a bad [node-manager:HOST] section: exit 1" 1
check_msg "... named with file and line" "daemon-bad.conf:6"

finish
