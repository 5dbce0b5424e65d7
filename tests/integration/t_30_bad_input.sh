#!/usr/bin/env bash
# Bad input: flags, values, target directories, unreachable instances,
# missing pools, conflicting WAL pushes. Every refusal must be clear
# (exit status per docs/cli.md, message naming the culprit) and lose nothing.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
DEAD_PORT=$(free_port $((PORT_BASE + 3)))   # nothing listens there
PDIR=$(pg_datadir primary)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key); insert into marker select generate_series(1, 10)"
wait_archived "$PPORT" || fail "archiving works" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"

# ---- usage errors: exit 2, the message names the flag ---------------------
run unknown_flag strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --frobnicate
check_rc "backup --frobnicate: exit 2" 2
check_msg "backup --frobnicate: message names the flag" "--frobnicate"
run unknown_flag_r strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/never" --bogus-option=1
check_rc "restore --bogus-option: exit 2" 2
check_msg "restore --bogus-option: message names the flag" "--bogus-option"
run unknown_cmd strata frobnicate
check_rc "unknown subcommand: exit 2" 2
check_msg "unknown subcommand: message names it" "frobnicate"
run no_pool strata info
check_rc_nonzero "info without --pool: fails"
check_msg "info without --pool: message names --pool" "--pool"
run help strata backup --help
check_rc "backup --help: exit 0" 0
check_msg "backup --help documents --pgdata" "--pgdata"

bad_value() {   # LABEL MESSAGE-FLAG ARGS...
  local label=$1 flag=$2; shift 2
  run "badv_$label" strata "$@"
  check_rc "$* : exit 2" 2
  check_msg "$* : message names $flag" "$flag"
}

# malformed restore targets; nothing may be created
bad_target() {   # LABEL FLAG VALUE
  rm -rf "$T/never"
  run "bad_$1" strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/never" "$2" "$3"
  check_rc "restore $2 '$3': exit 2" 2
  check_msg "restore $2 '$3': message names $2" "$2"
  check "restore $2 '$3': creates no target directory" test ! -e "$T/never"
}
bad_target time --time yesterday
bad_target time2 --time "2024-13-45 25:61:00"
bad_target lsn --lsn zz
bad_target lsn2 --lsn 0/XYZ
bad_target xid --xid -1
bad_target xid2 --xid 12abc
bad_target action --target-action explode
# values that used to be taken modulo 2^32 or carried into the next month
bad_target lsn_wide --lsn 0/FFFFFFFFF
bad_target lsn_high --lsn 100000000/0
bad_target lsn_blank --lsn " 1/0"
bad_target feb30 --time "2026-02-30 12:00:00+00"
bad_target apr31 --time "2026-04-31 00:00:00+00"
bad_target xid_big --xid 99999999999999999999999
# --set goes through the same setting-name check and quoting as the node manager's
bad_target set_newline --set $'work_mem=1MB\nrestore_command=touch /tmp/strata-t30-pwned'
bad_target set_cr --set $'work_mem=1MB\rport=1'
bad_target set_name --set "work mem=1MB"
bad_target set_name2 --set $'x\nrestore_command=1'
bad_target set_noeq --set "work_mem"
check "no --set was run as a command" test ! -e /tmp/strata-t30-pwned
# sizes and counts that overflow
bad_value rate_ovf --max-rate backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --max-rate 20000000000G
bad_value jobs_ovf --jobs backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --jobs 99999999999999999999
bad_value label --label backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --label $'two\nlines'
# a file that never ends is refused after a bounded read, not read until memory runs out
run topo_zero timeout 60 "$STRATA_BIN" cluster register --meta-conn "host=127.0.0.1 port=$DEAD_PORT" --topology /dev/zero
check_rc "cluster register --topology /dev/zero: exit 1" 1
check_msg "--topology /dev/zero: refused as too large, naming it" "/dev/zero is larger than"
head -c 17000000 /dev/zero | tr '\0' ' ' >"$T/big-topology.json"
run topo_big strata cluster register --meta-conn "host=127.0.0.1 port=$DEAD_PORT" --topology "$T/big-topology.json"
check_rc "a 17 MB topology: exit 1" 1
check_msg "a 17 MB topology: refused as too large" "is larger than"
rm -f "$T/big-topology.json"

run two_targets strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/never" --xid 1000 --lsn 0/3000000
check_rc "restore with two targets (--xid and --lsn): exit 2" 2
if grep -qE -- '--(xid|lsn)' "$OUT" "$ERR"; then pass "restore with two targets: names one of them"
else fail "restore with two targets: names one of them" "$(head -c 200 "$ERR")"; fi

bad_value jobs0 --jobs backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --jobs 0
bad_value jobsx --jobs backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --jobs many
bad_value rate --max-rate backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --max-rate 5X
bad_value compress --compress backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --compress gzip9
bad_value node --node backup --pool "$POOL" --node 'bad name!' --pgdata "$PDIR"
bad_value output --output info --pool "$POOL" --output yaml

run info0 strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info after usage errors: exit 0" 0
check_eq "usage errors created no backup" "" "$(backup_id "$OUT")"

# ---- restore target directory rules -----------------------------------------
run backup strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "a good backup exits 0" 0
BID=$(backup_id "$OUT")
wait_archived "$PPORT" >/dev/null

mkdir -p "$T/notempty/sub"
echo "precious" >"$T/notempty/keep.txt"
echo "more" >"$T/notempty/sub/also.txt"
snapshot() { (cd "$1" && find . -printf '%p %s %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }
BEFORE=$(snapshot "$T/notempty")
run nonempty strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/notempty"
check_rc "restore into a non-empty directory: exit 1" 1
check_msg "restore into a non-empty directory: message names the directory" "$T/notempty"
check_eq "restore into a non-empty directory: nothing in it changed" "$BEFORE" "$(snapshot "$T/notempty")"

# a running instance's data directory, with and without --force
for force in "" --force; do
  run "running$force" strata restore --pool "$POOL" --node "$NODE" --target-dir "$PDIR" $force
  check_rc "restore ${force:+$force }onto a running instance: exit 1" 1
  check_msg "restore ${force:+$force }onto a running instance: message names the directory" "$PDIR"
  check_eq "restore ${force:+$force }onto a running instance: the instance still serves its rows" \
    "$(seq_csv 1 10)" "$(marker_ids "$PPORT" 2>&1)"
  check "restore ${force:+$force }onto a running instance: its files are still there" \
    test -f "$PDIR/global/pg_control" -a -f "$PDIR/PG_VERSION" -a -f "$PDIR/postgresql.conf"
done
check "the primary's postmaster is the one started by the test" test \
  "$(cat "$T/primary/postmaster.pid.at-start")" = "$(_pm_pid "$PDIR")"

# ---- unreachable instance for backup -----------------------------------------
run unreachable timeout --foreground -k 10 120 "$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$DEAD_PORT dbname=postgres connect_timeout=5"
check_rc "backup of an unreachable instance: exit 1" 1
check_msg "backup of an unreachable instance: message names the port" "$DEAD_PORT"
run info1 strata info --pool "$POOL" --node "$NODE" --output json
ids=$(grep -oE '[0-9]{8}-[0-9]{6}F' "$OUT" | sort -u | paste -sd' ')
check_eq "the failed backup does not appear in info" "$BID" "$ids"
check_eq "the failed backup left no directory in the pool" "$BID" \
  "$(ls "$POOL/nodes/$NODE/backups" 2>/dev/null | paste -sd' ')"

# ---- missing pool ----------------------------------------------------------
missing_pool() {   # CMD ARGS...
  run missing_pool strata "$@"
  check_rc "$1 with a missing pool: exit 1" 1
  check_msg "$1 with a missing pool: message names it" "/nonexistent/pool"
}
missing_pool info --pool /nonexistent/pool
missing_pool verify --pool /nonexistent/pool --node "$NODE"
missing_pool check --pool /nonexistent/pool --node "$NODE"
missing_pool backup --pool /nonexistent/pool --node "$NODE" --pgdata "$PDIR" \
  --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check "nothing created at /nonexistent" test ! -e /nonexistent
run missing_pool_r strata restore --pool /nonexistent/pool --node "$NODE" --target-dir "$T/never"
check_rc "restore from a missing pool: exit 1" 1
check_msg "restore from a missing pool: message names it" "/nonexistent/pool"
check "restore from a missing pool creates no target directory" test ! -e "$T/never"
run missing_node strata restore --pool "$POOL" --node nosuchnode --target-dir "$T/never"
check_rc "restore of an unknown node: exit 1" 1
check_msg "restore of an unknown node: message names it" "nosuchnode"

# pool-init refuses a non-empty directory that is not a pool
BEFORE=$(snapshot "$T/notempty")
run poolinit_nonempty strata pool-init --pool "$T/notempty"
check_rc "pool-init on a non-empty non-pool directory: exit 1" 1
check_eq "pool-init on a non-empty directory changed nothing" "$BEFORE" "$(snapshot "$T/notempty")"

# ---- wal-push / wal-get ------------------------------------------------------
mapfile -t WALS < <(wal_objects "$NODE")
SEG=$(wal_name_of "${WALS[0]}")
mkdir -p "$T/walwork"
run walget strata wal-get --pool "$POOL" --node "$NODE" "$SEG" "$T/walwork/orig"
check_rc "wal-get of an archived segment: exit 0" 0
cp "$T/walwork/orig" "$T/walwork/$SEG"
run walpush_same1 strata wal-push --pool "$POOL" --node "$NODE" "$T/walwork/$SEG"
check_rc "wal-push of an already archived segment, same content: exit 0" 0
run walpush_same2 strata wal-push --pool "$POOL" --node "$NODE" "$T/walwork/$SEG"
check_rc "wal-push of the same segment again: exit 0" 0
flip_byte "$T/walwork/$SEG" 8192100
run walpush_diff strata wal-push --pool "$POOL" --node "$NODE" "$T/walwork/$SEG"
check_rc "wal-push of an archived segment with different content: exit 1" 1
check_msg "wal-push conflict: message names the segment" "$SEG"
run walget2 strata wal-get --pool "$POOL" --node "$NODE" "$SEG" "$T/walwork/again"
check_rc "wal-get after the refused push: exit 0" 0
check "the archived segment is unchanged after the refused push" cmp -s "$T/walwork/orig" "$T/walwork/again"
check_eq "no duplicate object for the segment" 1 "$(wal_objects "$NODE" | grep -c "/$SEG-")"

run walget_absent strata wal-get --pool "$POOL" --node "$NODE" 0000000100000099000000FE "$T/walwork/absent"
check_rc "wal-get of an absent segment: exit 1" 1
check "wal-get of an absent segment creates no file" test ! -e "$T/walwork/absent"
run walget_nopool strata wal-get --pool /nonexistent/pool --node "$NODE" "$SEG" "$T/walwork/nopool"
check_rc "wal-get from a missing pool: exit 126 (abort recovery, do not end it)" 126
run walpush_missing strata wal-push --pool "$POOL" --node "$NODE" "$T/walwork/000000010000000000000099"
check_rc "wal-push of a missing file: exit 1" 1
check_msg "wal-push of a missing file: message names it" "000000010000000000000099"

# the instance still archives fine after all that
psql_at "$PPORT" "insert into marker values (11)"
if wait_archived "$PPORT" 60; then pass "archiving still works"; else fail "archiving still works" "timeout"; fi
check_eq "no failed archive attempts" 0 "$(psql_at "$PPORT" "select failed_count from pg_stat_archiver")"

finish
