#!/usr/bin/env bash
# Encryption at rest and authenticated metadata: a keyed pool (pool-init
# --key-file), an encrypted backup and WAL archive, restore with --start
# and a data check; wrong key, no key, swapped, truncated and forged objects
# refused; key rotation (to a new key file, then to a passphrase) and a
# restore after it; verify without the key says what it could not check.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)
KEY=$T/pool.key
CANARY=plaintext-canary-b7c1e0

run keygen strata key generate --out "$KEY"
check_rc "key generate exits 0" 0
check_eq "the key file is private" "600" "$(stat -c %a "$KEY")"
run keygen_again strata key generate --out "$KEY"
check_rc "key generate never overwrites a key file" 1

run pool_init strata pool-init --pool "$POOL" --key-file "$KEY"
check_rc "pool-init --key-file" 0
check "the pool holds its wrapped pool key" test -s "$POOL/keys/pool.key"
if grep -qF "$(cat "$KEY")" "$POOL/keys/pool.key"; then fail "the user's key is not in the pool" "found in keys/pool.key"
else pass "the user's key is not in the pool"; fi

# archive_command with the key (a file path; the last setting wins)
PG_NODE=$NODE pg_new_primary primary "$PPORT" \
  "archive_command = '$STRATA_BIN wal-push --pool $POOL --node $NODE --key-file $KEY %p'" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key)"
psql_at "$PPORT" "create table secret(t text); insert into secret select '$CANARY-' || g from generate_series(1, 2000) g"
psql_at "$PPORT" "checkpoint"

run backup strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" --key-file "$KEY" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "encrypted backup exits 0" 0
BID=$(backup_id "$OUT")
[ -n "$BID" ] || { fail "backup prints its id" "none"; show "$OUT"; show "$ERR"; finish; }
BDIR=$POOL/nodes/$NODE/backups/$BID
MAN=$BDIR/backup.manifest
check "the backup has its wrapped data key" test -s "$BDIR/backup.key"
check_msg_file "the manifest records the cipher" '"cipher":"aes-256-gcm"' "$MAN"
check "the manifest is sealed with an HMAC" grep -q '^hmac-sha256:' "$MAN"
n_plain=$(find "$BDIR/data" -type f ! -name '*.enc' | wc -l)
check_eq "every data object is encrypted (.enc)" 0 "$n_plain"

for i in 1 2 3; do
  psql_at "$PPORT" "insert into marker values ($i)"
  psql_at "$PPORT" "select pg_switch_wal()" >/dev/null
done
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"
mapfile -t WALS < <(wal_objects "$NODE" | grep -v '/keys/')
check "WAL is archived" test "${#WALS[@]}" -ge 4
n_plain=$(printf '%s\n' "${WALS[@]}" | grep -vc '\.enc$')
check_eq "every WAL object is encrypted (.enc)" 0 "$n_plain"
check "the node has a wrapped WAL key" test -n "$(ls "$POOL/nodes/$NODE/wal/keys/" 2>/dev/null)"
if grep -rqaF "$CANARY" "$PDIR/base"; then pass "the canary is in the data directory's files"
else fail "the canary is in the data directory's files" "not found: the next check would prove nothing"; fi
if grep -rqaF "$CANARY" "$POOL"; then fail "no plaintext in the pool" "$(grep -rlaF "$CANARY" "$POOL" | head -n 3)"
else pass "no plaintext in the pool (data objects and WAL)"; fi

# ---- the WAL index: encrypted too, usable with the key -------------------
psql_at "$PPORT" "select pg_create_restore_point('t85-point')" >/dev/null
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"
mapfile -t IDX < <(find "$POOL/nodes/$NODE/wal-index" -type f -name '*.idx' 2>/dev/null)
check "wal-push indexed the segments" test "${#IDX[@]}" -ge 3
n_plain_idx=0
for f in "${IDX[@]}"; do [ "$(head -c 8 "$f")" = STRATAE1 ] || n_plain_idx=$((n_plain_idx + 1)); done
check_eq "every WAL index object is encrypted" 0 "$n_plain_idx"
run find_rp strata wal-index --pool "$POOL" --node "$NODE" --key-file "$KEY" --find-restore-point t85-point
check_rc "wal-index finds a restore point through the encrypted indexes" 0
check_msg "... and prints its LSN" "/"
run find_rp_nokey strata wal-index --pool "$POOL" --node "$NODE" --find-restore-point t85-point
check_rc_nonzero "wal-index without the key fails"

# ---- wal-get: with the key, without it, with another key -----------------
WOBJ=${WALS[$(( ${#WALS[@]} - 2 ))]}
WNAME=$(wal_name_of "$WOBJ")
run walget strata wal-get --pool "$POOL" --node "$NODE" --key-file "$KEY" "$WNAME" "$T/out/seg.$WNAME"
check_rc "wal-get of an encrypted segment exits 0" 0
check_eq "wal-get writes the whole segment" 16777216 "$(stat -c %s "$T/out/seg.$WNAME" 2>/dev/null)"
check "the segment fetched is a WAL segment (page magic)" \
  test "$(od -An -tx2 -N2 "$T/out/seg.$WNAME" | tr -d ' ')" = d110
run walget_nokey strata wal-get --pool "$POOL" --node "$NODE" "$WNAME" "$T/out/seg2.$WNAME"
check_rc "wal-get without the key exits 126 (fatal, not 'not archived')" 126
check_msg "... saying the key is needed" "--key-file"
KEY2=$T/other.key
strata key generate --out "$KEY2" 2>/dev/null
run walget_wrongkey strata wal-get --pool "$POOL" --node "$NODE" --key-file "$KEY2" "$WNAME" "$T/out/seg3.$WNAME"
check_rc "wal-get with another key exits 126" 126
check_msg "... naming the key mismatch" "is not the key of pool"

# ---- verify with and without the key ------------------------------------
run verify_key strata verify --pool "$POOL" --key-file "$KEY"
check_rc "verify with the key exits 0" 0
if grep -q "NOT CHECKED" "$OUT"; then fail "verify with the key checks everything" "$(cat "$OUT")"; else pass "verify with the key checks everything"; fi
run verify_nokey strata verify --pool "$POOL"
check_rc "verify without the key exits 0 (nothing found wrong)" 0
check_msg "verify without the key says what it could not check" "NOT CHECKED without pool"
check_msg "... the manifests' authentication" "authentication of"
run verify_nokey_json strata verify --pool "$POOL" --output json
check "verify --output json reports the unchecked parts" \
  json_mentions "$OUT" unchecked data_objects_not_decrypted wal_objects_not_checked

# ---- restore: wrong key, no key, then the real one with --start -----------
restore_start r_wrongkey --node "$NODE" --latest --key-file "$KEY2"
check_rc_nonzero "restore with another key fails"
check_msg "... naming the key mismatch" "is not the key of pool"
check "... and writes nothing" test ! -e "$T/r_wrongkey/global/pg_control"
restore_start r_nokey --node "$NODE" --latest
check_rc_nonzero "restore without the key fails"
check_msg "... saying the key is needed" "configure it"

restore_start r_ok --node "$NODE" --latest --key-file "$KEY"
check_rc "restore --latest --start of the encrypted backup" 0
if [ "$RC" = 0 ]; then
  check_eq "restored rows (WAL replayed through encrypted wal-get)" "1,2,3" "$(marker_ids "$RPORT")"
  check_eq "restored canary rows" 2000 "$(psql_at "$RPORT" "select count(*) from secret")"
  check_eq "pgbench invariant holds" t "$(pgbench_consistent "$RPORT")"
else
  show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"

# ---- swapped objects: one encrypted data object moved over another ----------
mapfile -t OBJS < <(find "$BDIR/data" -type f -name '*.enc' -size +1k -printf '%s %p\n' | sort -n | tail -n 2 | cut -d' ' -f2-)
A=${OBJS[0]} B=${OBJS[1]}
cp "$B" "$T/out/saved-B"
cp "$A" "$B"
RELB=${B#"$BDIR/data/"}
restore_start r_swap --node "$NODE" --backup "$BID" --key-file "$KEY"
check_rc_nonzero "restore with one encrypted object copied over another fails"
check_msg "... the object does not authenticate under its own name" "does not authenticate"
check_msg "... naming it" "$RELB"
pg_stop "$RDIR"
cp "$T/out/saved-B" "$B"

# ---- truncated objects: a data object cut at a chunk boundary, a WAL object --
BIG=$(find "$BDIR/data" -type f -name '*.enc' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
BIGSIZE=$(stat -c %s "$BIG")
cp "$BIG" "$T/out/saved-big"
if [ "$BIGSIZE" -gt $((24 + 2 * 65552)) ]; then
  truncate -s $((24 + 65552)) "$BIG"
  note "truncated $BIG from $BIGSIZE to $((24 + 65552)) bytes (one chunk)"
else
  truncate -s $((BIGSIZE - 100)) "$BIG"
  note "truncated $BIG by 100 bytes"
fi
run verify_trunc_nokey strata verify --pool "$POOL" --node "$NODE" --backup "$BID"
check_rc "verify without the key still finds the truncated object (stored size and SHA-256)" 1
check_msg "... naming it" "${BIG#"$BDIR/data/"}"
run verify_trunc strata verify --pool "$POOL" --node "$NODE" --backup "$BID" --key-file "$KEY"
check_rc "verify of a truncated encrypted object exits 1" 1
check_msg "... saying truncated" "truncated"
restore_start r_trunc --node "$NODE" --backup "$BID" --key-file "$KEY"
check_rc_nonzero "restore of a backup with a truncated encrypted object fails"
check_msg "... saying truncated" "truncated"
pg_stop "$RDIR"
cp "$T/out/saved-big" "$BIG"
WSIZE=$(stat -c %s "$WOBJ")
cp "$WOBJ" "$T/out/saved-wal"
truncate -s $((WSIZE - 10)) "$WOBJ"
run walget_trunc strata wal-get --pool "$POOL" --node "$NODE" --key-file "$KEY" "$WNAME" "$T/out/seg4.$WNAME"
check_rc "wal-get of a truncated encrypted WAL object exits 126" 126
check "... and writes nothing" test ! -e "$T/out/seg4.$WNAME"
cp "$T/out/saved-wal" "$WOBJ"

# ---- forged manifests: edited, re-sealed with a plain SHA-256 or an old HMAC --
cp "$MAN" "$T/out/saved-manifest"
python3 - "$MAN" <<'EOF'
import hashlib, json, sys
path = sys.argv[1]
text = open(path).read()
body = text[:text.rindex("\n", 0, len(text) - 1)]
m = json.loads(body)
m["dirs"].append({"path": "../escape", "mode": 448})
m["label"] = "forged"
new = json.dumps(m, indent=2)
open(path, "w").write(new + "\nsha256:" + hashlib.sha256(new.encode()).hexdigest() + "\n")
EOF
restore_start r_forged --node "$NODE" --backup "$BID" --key-file "$KEY"
check_rc_nonzero "restore of a forged manifest re-sealed with SHA-256 fails"
check_msg "... refused as forged" "forged or re-sealed without the key"
check "... and nothing escaped the target" test ! -e "$T/escape"
pg_stop "$RDIR"
run verify_forged strata verify --pool "$POOL" --key-file "$KEY"
check_rc "verify with the key reports the forged manifest" 1
check_msg "... naming it" "$BID"
python3 - "$T/out/saved-manifest" "$MAN" <<'EOF'
import sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
seal = text[text.rindex("\n", 0, len(text) - 1):]
body = text[:len(text) - len(seal)].replace('"label":""', '"label":"edited"', 1)
open(dst, "w").write(body + seal)
EOF
restore_start r_edited --node "$NODE" --backup "$BID" --key-file "$KEY"
check_rc_nonzero "restore of an edited manifest keeping its HMAC line fails"
check_msg "... its authentication fails" "fails its authentication"
pg_stop "$RDIR"
cp "$T/out/saved-manifest" "$MAN"
NJ=$POOL/nodes/$NODE/node.json
cp "$NJ" "$T/out/saved-node.json"
python3 - "$NJ" <<'EOF'
import hashlib, json, sys
path = sys.argv[1]
text = open(path).read()
m = json.loads(text[:text.rindex("\n", 0, len(text) - 1)])
m["system_identifier"] = "1"
new = json.dumps(m, indent=2)
open(path, "w").write(new + "\nsha256:" + hashlib.sha256(new.encode()).hexdigest() + "\n")
EOF
run info_forged_node strata verify --pool "$POOL" --key-file "$KEY"
check_rc_nonzero "a forged node.json is refused"
check_msg "... naming it" "node.json"
cp "$T/out/saved-node.json" "$NJ"

# ---- --cipher on a pool without keys --------------------------------------
strata pool-init --pool "$T/plainpool" 2>/dev/null
run cipher_unkeyed strata backup --pool "$T/plainpool" --node "$NODE" --pgdata "$PDIR" --cipher aes-256-gcm \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "--cipher aes-256-gcm on a pool without keys fails" 1
check_msg "... saying how to make a keyed pool" "pool-init --pool"

# ---- key rotation: the primary stops first (its archive_command has the old key)
pg_stop "$PDIR"
KEY3=$T/new.key
strata key generate --out "$KEY3" 2>/dev/null
DATA_BEFORE=$(find "$POOL" -type f ! -name '*.key' -printf '%P %s %T@\n' | sort | sha256sum)
run rotate strata key rotate --pool "$POOL" --key-file "$KEY" --new-key-file "$KEY3"
check_rc "key rotate to a new key file" 0
check_msg "... re-wraps the pool key, the backup's and the WAL's data keys" "3 key object(s) re-wrapped"
DATA_AFTER=$(find "$POOL" -type f ! -name '*.key' -printf '%P %s %T@\n' | sort | sha256sum)
check_eq "rotation rewrote no data object, manifest or WAL" "$DATA_BEFORE" "$DATA_AFTER"
run verify_oldkey strata verify --pool "$POOL" --key-file "$KEY"
check_rc "the old key no longer opens the pool" 1
check_msg "... naming the mismatch" "is not the key of pool"
run verify_newkey strata verify --pool "$POOL" --key-file "$KEY3"
check_rc "verify with the new key exits 0" 0

PASS_FILE=$T/passphrase
printf 'a long passphrase for strata t_85\n' >"$PASS_FILE"
chmod 600 "$PASS_FILE"
run rotate_pass strata key rotate --pool "$POOL" --key-file "$KEY3" --new-passphrase-file "$PASS_FILE"
check_rc "key rotate to a passphrase (scrypt)" 0
check_msg_file "the pool records scrypt's parameters" '"scrypt"' "$POOL/keys/pool.key"
printf 'a wrong passphrase\n' >"$T/wrongpass"; chmod 600 "$T/wrongpass"
run verify_wrongpass strata verify --pool "$POOL" --passphrase-file "$T/wrongpass"
check_rc "a wrong passphrase is refused" 1
check_msg "... naming the mismatch" "is not the key of pool"
restore_start r_rotated --node "$NODE" --latest --passphrase-file "$PASS_FILE"
check_rc "restore --latest --start after the rotations, with the passphrase" 0
if [ "$RC" = 0 ]; then
  check_eq "restored rows after rotation" "1,2,3" "$(marker_ids "$RPORT")"
  check_eq "restored canary rows after rotation" 2000 "$(psql_at "$RPORT" "select count(*) from secret")"
else
  show_pg_logs "$RDIR"
fi
pg_stop "$RDIR"

finish
