#!/usr/bin/env bash
# Command line habits: -h and `strata help CMD`; abbreviated options
# refused; the command list aligned; --output json of every command (one
# valid JSON document on stdout, errors in it too, the exit code unchanged);
# the log line format, --log-level and --log-file.
source "$(dirname "$0")/lib.sh"
unset STRATA_POOL STRATA_NODE STRATA_CONFIG STRATA_OUTPUT STRATA_MANAGER

COMMANDS="pool-init backup restore wal-push wal-get wal-index check info verify expire cp cluster workload check-consistency
jobs cluster-manager node-manager version"

# ---- help ----------------------------------------------------------------------------
for c in $COMMANDS; do
  [ "$c" = version ] && continue
  h1=$(strata "$c" -h 2>&1); r1=$?
  h2=$(strata help "$c" 2>&1); r2=$?
  h3=$(strata "$c" --help 2>&1); r3=$?
  if [ "$r1$r2$r3" = 000 ] && [ "$h1" = "$h3" ] && [ "$h2" = "$h3" ] && echo "$h3" | grep -q "usage: strata $c"; then
    pass "$c: -h, 'strata help $c' and --help print the same usage, exit 0"
  else
    fail "$c: -h / help / --help" "exits $r1/$r2/$r3; -h: $(echo "$h1" | head -n 2)"
  fi
done
run help_unknown strata help no-such-command
check_rc "strata help UNKNOWN: exit 2" 2
check_msg "... names it" "unknown command 'no-such-command'"

# ---- the command list aligns ------------------------------------------------------------
strata --help >"$T/out/usage.txt"
cols=$(awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ { match($0, /^  [a-z-]+ +/); print RLENGTH } on && /^$/ {on = 0}' \
  "$T/out/usage.txt" | sort -u)
ncmd=$(awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {n++} on && /^$/ {on = 0} END {print n}' "$T/out/usage.txt")
check_eq "strata --help: the $ncmd commands' summaries start in one column" 1 "$(echo "$cols" | wc -l)"
check "... and check-consistency (the longest name) is listed" grep -q "^  check-consistency  " "$T/out/usage.txt"

# ---- abbreviations are refused -------------------------------------------------------
strata pool-init --pool "$POOL" --quiet
for args in "info --poo $POOL" "verify --poo=$POOL" "expire --pool $POOL --node n --kee 1" "pool-init --po $T/p" \
  "wal-get --pool $POOL --no n 000000010000000000000001 $T/x" "cp list --pool $POOL --clus c1"; do
  # shellcheck disable=SC2086
  run abbrev strata $args
  bad=$(echo "$args" | grep -oE -- '--[a-z]+' | while read -r o; do
    case " --pool --node --keep --cluster " in *" $o "*) ;; *) echo "$o"; break ;; esac; done)
  if [ "$RC" = 2 ] && grep -qF -- "unknown option $bad" "$ERR"; then pass "strata $(echo "$args" | cut -d' ' -f1-2): $bad is not taken for a longer option (exit 2)"
  else fail "abbreviation $bad refused" "exit $RC: $(head -n 2 "$ERR")"; fi
done
run exact strata info --pool="$POOL"
check_rc "the exact name (--pool=VALUE) is taken" 0

# ---- --output json of every command --------------------------------------------------------
# json_case NAME EXPECTED_RC CMD...: CMD's stdout is one JSON document
# (python3 -m json.tool accepts it whole), the exit code is EXPECTED_RC,
# and a failure's document carries a non-empty "error" and that exit code.
json_case() {
  local name=$1 want=$2; shift 2
  run "json_$name" "$@" --output json
  if [ "$RC" != "$want" ]; then fail "$name --output json: exit $want" "exit $RC"; show "$ERR"; show "$OUT"; return; fi
  if ! python3 -m json.tool "$OUT" >/dev/null 2>"$T/out/json_$name.tool"; then
    fail "$name --output json: one JSON document on stdout (exit $want)" "$(head -c 300 "$OUT") / $(cat "$T/out/json_$name.tool")"
    return
  fi
  if [ "$want" != 0 ]; then
    if python3 - "$OUT" "$want" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if isinstance(d, dict) and d.get("error") and d.get("exit_code") == int(sys.argv[2]) else 1)
EOF
    then pass "$name --output json: exit $want, one JSON document with the error and the exit code"
    else fail "$name --output json: the error is in the document" "$(head -c 300 "$OUT")"; fi
  else
    pass "$name --output json: exit 0, one JSON document"
  fi
}

PORT=$(free_port "$PORT_BASE")
pg_new_primary db1 "$PORT" || { fail "start db1" "see log"; finish; }
CONN="host=127.0.0.1 port=$PORT dbname=postgres"
psql_at "$PORT" "create table t(x int); insert into t select generate_series(1, 1000)"
wait_archived "$PORT" >/dev/null
DATA=$(pg_datadir db1)

json_case pool-init 0 strata pool-init --pool "$T/pool2"
json_case pool-init-again 1 strata pool-init --pool "$DATA"
json_case pool-init-usage 2 strata pool-init
json_case backup 0 strata backup --pool "$POOL" --node db1 --pgdata "$DATA" --pg-conn "$CONN"
B1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT" 2>/dev/null)
json_case backup-fail 1 strata backup --pool "$POOL" --node db1 --pgdata "$T/nowhere" --pg-conn "host=127.0.0.1 port=1"
json_case backup-usage 2 strata backup --pool "$POOL" --node db1 --jobs lots
json_case restore 0 strata restore --pool "$POOL" --node db1 --target-dir "$T/r1" --backup "$B1"
json_case restore-fail 1 strata restore --pool "$POOL" --node db1 --target-dir "$DATA"
SEG=$(psql_at "$PORT" "select last_archived_wal from pg_stat_archiver")
json_case wal-push 0 strata wal-push --pool "$POOL" --node db1 "$DATA/pg_wal/$SEG"
json_case wal-push-fail 1 strata wal-push --pool "$POOL" --node db1 "$DATA/pg_wal/000000010000000F000000FF"
json_case wal-get 0 strata wal-get --pool "$POOL" --node db1 "$SEG" "$T/seg"
json_case wal-get-missing 1 strata wal-get --pool "$POOL" --node db1 000000010000000F000000FF "$T/seg2"
json_case wal-index 0 strata wal-index --pool "$POOL" --node db1
json_case wal-index-text 2 strata wal-index --pool "$POOL" --node db1 --show "$SEG"
json_case check 0 strata check --pool "$POOL" --node db1 --pg-conn "$CONN" --archive-timeout 60
json_case check-fail 1 strata check --pool "$POOL" --node nobody
json_case info 0 strata info --pool "$POOL"
json_case info-fail 1 strata info --pool "$T/not-a-pool"
json_case verify 0 strata verify --pool "$POOL" --node db1
json_case verify-fail 1 strata verify --pool "$T/not-a-pool"
json_case expire 0 strata expire --pool "$POOL" --node db1 --keep 5 --dry-run
json_case expire-fail 1 strata expire --pool "$POOL" --node nobody --keep 1
json_case expire-usage 2 strata expire --pool "$POOL" --node db1
json_case cp-list 0 strata cp list --pool "$POOL" --cluster c1
json_case cp-create-fail 1 strata cp create --meta-conn "host=127.0.0.1 port=1" --cluster c1
json_case cluster-list-fail 1 strata cluster list --meta-conn "host=127.0.0.1 port=1"
json_case cluster-usage 2 strata cluster show
json_case workload-fail 1 strata workload --meta-conn "host=127.0.0.1 port=1" --cluster c1 --duration 1
json_case check-consistency-fail 1 strata check-consistency --meta-conn "host=127.0.0.1 port=1" --cluster c1
json_case jobs-usage 2 strata jobs
json_case jobs-fail 1 strata jobs --manager "http://127.0.0.1:1" --token-file "$T/nope"
json_case cluster-manager-fail 1 strata cluster-manager --config "$T/nope.json"
json_case node-manager-fail 1 strata node-manager --config "$T/nope.json"
json_case version 0 strata version
json_case help 0 strata info --help
pg_stop "$DATA"

# ---- the log line format -----------------------------------------------------------------
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} P[0-9]+ (ERROR|WARN|INFO|DETAIL|DEBUG) \[[a-z -]+[0-9]*\] '
run log_info strata pool-init --pool "$T/pool3" --log-file "$T/out/strata.log"
n_lines=$(wc -l <"$ERR"); n_ok=$(grep -cE "$LINE_RE" "$ERR")
if [ "$n_lines" -gt 0 ] && [ "$n_lines" = "$n_ok" ]; then pass "every log line: time with ms and zone, P<pid>, level, [command] ($n_lines line(s))"
else fail "log line format" "$n_ok of $n_lines lines match: $(head -n 2 "$ERR")"; fi
check "... the pid is the command's" grep -qE " P[0-9]+ INFO \[pool-init\] created pool" "$ERR"
check "--log-file FILE gets the same lines" cmp -s "$ERR" "$T/out/strata.log"
n_lines=$(wc -l <"$T/out/json_backup.err"); n_ok=$(grep -cE "$LINE_RE" "$T/out/json_backup.err")
if [ "$n_lines" -gt 0 ] && [ "$n_lines" = "$n_ok" ] && ! grep -vqE "\[backup\] " "$T/out/json_backup.err"; then
  pass "a backup (a long command, worker threads): each of its $n_lines log line(s) has the format and [backup]"
else fail "backup's log line format" "$n_ok of $n_lines lines match: $(grep -vE "$LINE_RE" "$T/out/json_backup.err" | head -n 2)"; fi
run log_err strata info --pool "$T/not-a-pool"
check "an error line: ERROR level, the command's tag" grep -qE "$LINE_RE" "$ERR"
check_msg "... and the message" "not a strata pool"
run log_quiet strata pool-init --pool "$T/pool4" --log-level error
check "--log-level error: no INFO line" test ! -s "$ERR"
run log_bad strata info --pool "$POOL" --log-level chatty
check_rc "--log-level chatty: exit 2" 2
check_msg "... lists the levels" "error, warn, info, detail or debug"
run log_debug strata info --pool "$POOL" --log-level debug
check_rc "--log-level debug: accepted" 0
run log_file_bad strata info --pool "$POOL" --log-file "$T/no/such/dir/x.log"
check_rc "--log-file in a missing directory: exit 1" 1
check_msg "... names the file" "$T/no/such/dir/x.log"

finish
