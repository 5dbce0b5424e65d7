#!/usr/bin/env bash
# A forged pool: whoever can write the pool can rewrite a manifest (and
# reseal it: the seal is a checksum). Every field read back is untrusted:
# directory and file paths that climb out of the target, shell
# metacharacters in the node name (it becomes part of restore_command),
# modes, LSNs, sizes, checksums, oversized objects. Each forgery must be
# refused with a message naming the manifest and the field, create nothing
# outside the target, and run no command. The genuine backup still
# restores and starts afterwards (restore_command quoted as it must be).
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key); insert into marker select generate_series(1, 10)"
run backup strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "a good backup exits 0" 0
BID=$(backup_id "$OUT")
wait_archived "$PPORT" >/dev/null || fail "archiving works" "timeout"
MAN=$POOL/nodes/$NODE/backups/$BID/backup.manifest
cp "$MAN" "$T/manifest.genuine"

# reseal FILE PYTHON: applies PYTHON to the manifest's JSON (as `m`), then
# writes it back sealed again, as a forger with write access would.
reseal() {
  python3 - "$1" "$2" <<'EOF'
import hashlib, json, sys
path, expr = sys.argv[1], sys.argv[2]
raw = open(path).read()
m = json.loads(raw[:raw.rindex("\nsha256:")])
exec(expr)
text = json.dumps(m, indent=2)
open(path, "w").write(text + "\nsha256:" + hashlib.sha256(text.encode()).hexdigest() + "\n")
EOF
}

# Everything a restore of a forged manifest could touch lives under $ARENA:
# the target is $ARENA/target, so "../escape" would be $ARENA/escape.
ARENA=$T/arena
mkdir -p "$T/cwd"
forged() {   # LABEL PYTHON EXPECTED-MESSAGE
  local label=$1 expr=$2 msg=$3
  cp "$T/manifest.genuine" "$MAN"
  reseal "$MAN" "$expr"
  rm -rf "$ARENA"; mkdir -p "$ARENA"
  run "forged_$label" bash -c 'cd "$1" && shift && exec "$@"' _ "$T/cwd" "$STRATA_BIN" restore --pool "$POOL" \
      --node "$NODE" --backup "$BID" --target-dir "$ARENA/target"
  check_rc "forged manifest ($label): restore exits 1" 1
  check_msg "forged manifest ($label): the message names the manifest" "backup.manifest"
  check_msg "forged manifest ($label): the message says why" "$msg"
  check_eq "forged manifest ($label): nothing created beside the target" "" \
    "$(cd "$ARENA" && find . -mindepth 1 -maxdepth 1 ! -name target | paste -sd' ')"
  check_eq "forged manifest ($label): no file in the target" "" \
    "$( [ -d "$ARENA/target" ] && find "$ARENA/target" -mindepth 1 | head -n 3 | paste -sd' ')"
  check_eq "forged manifest ($label): no command ran (no file X anywhere)" "" \
    "$(find "$T" /tmp/X -name X 2>/dev/null | head -n 1)"
}

# paths
forged dir_escape "m['dirs'].append({'path': '../escape', 'mode': 0o700})" "'..'"
forged dir_escape_deep "m['dirs'].insert(0, {'path': 'base/../../escape', 'mode': 0o700})" "'..'"
forged dir_absolute "m['dirs'].insert(0, {'path': '$ARENA/escape', 'mode': 0o700})" "absolute"
forged dir_dot "m['dirs'].insert(0, {'path': 'base/./x', 'mode': 0o700})" "part '.'"
forged dir_empty_part "m['dirs'].insert(0, {'path': 'base//x', 'mode': 0o700})" "part ''"
forged file_escape "m['files'][0]['path'] = '../escape'" "'..'"
forged file_newline "m['files'][0]['path'] = 'base/x\\ny'" "control character"
forged page_error_path "m['page_errors'].append({'path': '../../x', 'block': 1})" "'..'"
# names that reach restore_command, comments and pool paths
forged node_shell "m['node'] = 'db;touch X;true'" "';'"
forged node_other "m['node'] = 'other'" "node other's, not db's"
forged node_subst "m['node'] = 'db\$(touch X)'" "'\$'"
forged id_other "m['id'] = '20000101-000000F'" "not $BID's"
forged id_slash "m['id'] = '../x'" "field 'id'"
forged cluster_backup "m['cluster_backup'] = 'cb;touch X'" "cluster_backup"
forged type "m['type'] = 'incremental'" "backup type"
forged label_newline "m['label'] = 'a\\nrestore_command = touch X'" "control character"
forged compression "m['compression'] = 'gzip'" "gzip"
# modes
forged file_type_bits "m['files'][0]['mode'] = 0o100644" "field 'mode'"
forged dir_mode_big "m['dirs'][0]['mode'] = 0o170000" "field 'mode'"
forged dir_unwritable "m['dirs'][0]['mode'] = 0o500" "could not write"
forged mode_string "m['files'][0]['mode'] = '0600'" "field 'mode' is a string"
# LSNs, sizes, numbers
forged lsn_wide "m['stop_lsn'] = '0/FFFFFFFFF'" "stop_lsn"
forged lsn_high "m['start_lsn'] = '100000000/0'" "start_lsn"
forged lsn_order "m['start_lsn'], m['stop_lsn'] = m['stop_lsn'], m['start_lsn']" "before start_lsn"
forged size_negative "m['files'][0]['size'] = -1" "field 'size'"
forged size_huge "m['files'][0]['stored_size'] = 2**62" "stored_size"
forged total_negative "m['size'] = -5" "field 'size'"
forged sha_bad "m['files'][0]['sha256'] = 'zz' * 32" "SHA-256"
forged sha_upper "m['files'][0]['sha256'] = m['files'][0]['sha256'].upper()" "SHA-256"
forged sysid_overflow "m['system_identifier'] = '99999999999999999999'" "system_identifier"
forged sysid_text "m['system_identifier'] = '12abc'" "system_identifier"
forged segsize_zero "m['wal_segment_size'] = 0" "wal_segment_size"
forged segsize_odd "m['wal_segment_size'] = 3 * 1024 * 1024" "wal_segment_size"
forged timeline_zero "m['timeline'] = 0" "timeline"
forged timeline_big "m['timeline'] = 2**33" "timeline"
forged duration_nan "m['duration'] = -1.5" "duration"
forged mtime_huge "m['files'][0]['mtime'] = 2**62" "mtime"
forged missing_files "del m['files']" "'files' is missing"
forged files_object "m['files'] = {}" "'files' is an object"
forged entry_not_object "m['files'][0] = 5" "expected an object"

# an oversized manifest is refused by its size before it is parsed
cp "$T/manifest.genuine" "$MAN"
truncate -s 300M "$MAN"
run oversized strata restore --pool "$POOL" --node "$NODE" --backup "$BID" --target-dir "$T/oversized"
check_rc "an oversized manifest: restore exits 1" 1
check_msg "an oversized manifest: refused by its size" "larger than"
check "an oversized manifest: no target created" test ! -e "$T/oversized/base"

# a data object swapped for a huge one is refused as it streams in
cp "$T/manifest.genuine" "$MAN"
OBJ=$(ls "$POOL/nodes/$NODE/backups/$BID/data/PG_VERSION".* | head -n 1)
cp "$OBJ" "$T/object.genuine"
head -c 50000000 /dev/zero >"$OBJ"
run big_object strata restore --pool "$POOL" --node "$NODE" --backup "$BID" --target-dir "$T/bigobj"
check_rc "a data object larger than its manifest entry: restore exits 1" 1
check_msg "a data object larger than its manifest entry: refused by its size" "is larger than the"
check "a data object larger than its manifest entry: no 50 MB file written" \
  bash -c "[ ! -e '$T/bigobj' ] || [ \$(du -sk '$T/bigobj' | cut -f1) -lt 40000 ]"
cp "$T/object.genuine" "$OBJ"
rm -rf "$T/bigobj"

# a forged manifest is not listed as usable, the genuine one is again
cp "$T/manifest.genuine" "$MAN"
reseal "$MAN" "m['dirs'].append({'path': '../escape', 'mode': 0o700})"
run info_forged strata info --pool "$POOL" --node "$NODE" --output json
check_msg "info describes the forged backup's problem" "'..'"
cp "$T/manifest.genuine" "$MAN"

# an oversized lease (a backup without a manifest) is described, not read
FAKE=$POOL/nodes/$NODE/backups/20000101-000000F
mkdir -p "$FAKE"
head -c 10000 /dev/zero | tr '\0' ' ' >"$FAKE/lease.json"
run info_lease strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info with an oversized lease: exit 0" 0
check_msg "info with an oversized lease: it is refused by its size" "larger than 4096"
printf '{"host": "h", "pid": -1, "token": "../x", "started": 1, "renewed": 1}' >"$FAKE/lease.json"
run info_lease2 strata info --pool "$POOL" --node "$NODE" --output json
check_msg "info with a forged lease: the bad field is named" "field 'pid'"
rm -rf "$FAKE"

# a forged node.json
cp "$POOL/nodes/$NODE/node.json" "$T/node.json.genuine"
reseal "$POOL/nodes/$NODE/node.json" "m['wal_segment_size'] = 12345"
run node_json strata info --pool "$POOL" --node "$NODE"
check_msg "a forged node.json: info names it" "node.json"
check_msg "a forged node.json: and the field" "wal_segment_size 12345"
cp "$T/node.json.genuine" "$POOL/nodes/$NODE/node.json"

# a directory whose name is not a node name is not taken for a node
mkdir -p "$POOL/nodes/bad;touch X"
cp "$POOL/nodes/$NODE/node.json" "$POOL/nodes/bad;touch X/node.json"
run info_badnode strata info --pool "$POOL" --output json
check_rc "info with an odd node directory: exit 0" 0
check_msg "info with an odd node directory: it is named and ignored" "ignoring nodes/bad;touch X"
check "info with an odd node directory: not listed as a node" bash -c "! grep -q 'bad;touch' '$OUT'"
rm -rf "$POOL/nodes/bad;touch X"

# a forged consistency point in the pool
mkdir -p "$POOL/clusters/c1/cps"
CPF=$POOL/clusters/c1/cps/cp-x.json
cat >"$CPF" <<'EOF'
{"name": "cp-x", "cluster": "c1", "time": "2026-01-01 00:00:00+00", "epoch": 1.0,
 "lsns": {"meta": "0/1000000", "shard1": "0/FFFFFFFFF"}}
sha256:0
EOF
reseal "$CPF" "pass"
run cp_forged strata cp list --pool "$POOL" --cluster c1
check_rc_nonzero "a CP with an overflowing LSN: cp list fails"
check_msg "a CP with an overflowing LSN: the field is named" "shard1"
reseal "$CPF" "m['lsns'] = {'../meta': '0/1000000'}"
run cp_forged2 strata cp list --pool "$POOL" --cluster c1
check_msg "a CP with a path for a replica set: refused" "replica set"
reseal "$CPF" "m['lsns'] = {'meta': '0/1000000'}; m['cluster'] = 'c2'"
run cp_forged3 strata cp list --pool "$POOL" --cluster c1
check_msg "a CP of another cluster: refused" "cluster c2"
rm -rf "$POOL/clusters"

# the genuine backup restores and starts: restore_command and
# archive_command are quoted as one shell word each
psql_at "$PPORT" "insert into marker values (11)"
wait_archived "$PPORT" >/dev/null
restore_start good --node "$NODE" --backup "$BID" --archive-node restored --set "work_mem=8MB" \
    --set "strata_test.note=it's a \\ test"
check_rc "the genuine backup restores and starts" 0
check_eq "the restored instance has every row" "$(seq_csv 1 11)" "$(marker_ids "$RPORT" 2>&1)"
check_eq "--set with a quote and a backslash arrives intact" "it's a \\ test" \
  "$(psql_at "$RPORT" "show strata_test.note" 2>&1)"
check_msg_file "restore_command is one quoted shell word per argument" \
  "--node ''$NODE'' \"%f\" \"%p\"'" "$RDIR/postgresql.auto.conf"
check_msg_file "archive_command likewise" "--node ''restored'' \"%p\"'" "$RDIR/postgresql.auto.conf"
pg_stop "$RDIR"

finish
