#!/usr/bin/env bash
# The S3 pool backend against a real S3 store (radosgw, started by
# tests/run.sh): pool-init, WAL archiving (archive_command into s3://),
# backup from a standby with multipart uploads, info / check / verify,
# restore --start to a named target with a row check, wal-get, a killed
# backup that leaves no visible object (and expire cleaning it up, aborting
# its unfinished upload), corrupted and deleted objects found by verify,
# expire --keep; the configuration's refusals (no credentials, a wrong
# secret, a key in the URL) name the cause and never print the secret; TLS
# with a CA file (socat terminating TLS in front of the store).
STRATA_TEST_POOL=s3
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
SPORT=$(free_port $((PORT_BASE + 1)))
SDIR=$(pg_datadir standby)
SECRET=$(sed -n 's/^aws_secret_access_key *= *//p' "$STRATA_S3_CREDENTIALS_FILE" | head -n 1)
note "pool $POOL at $STRATA_S3_ENDPOINT"

# ---- configuration ----------------------------------------------------------
run no_creds env -u STRATA_S3_CREDENTIALS_FILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
  "$STRATA_BIN" info --pool "$POOL"
check_rc_nonzero "no credentials: refused"
check_msg "... naming where credentials come from" "STRATA_S3_CREDENTIALS_FILE"
run key_in_url strata info --pool "$POOL?access_key=AKIA0000&secret=x"
check_rc_nonzero "credentials in the pool URL: refused"
check_msg "... as an unknown option" "unknown option 'access_key'"
(umask 077; printf '[default]\naws_access_key_id = %s\naws_secret_access_key = wrong%s\n' \
  "$(sed -n 's/^aws_access_key_id *= *//p' "$STRATA_S3_CREDENTIALS_FILE")" "$SECRET" >"$T/bad.credentials")
run bad_secret env STRATA_S3_CREDENTIALS_FILE="$T/bad.credentials" STRATA_S3_MAX_ATTEMPTS=1 \
  "$STRATA_BIN" pool-init --pool "$POOL"
check_rc_nonzero "a wrong secret: refused"
check_msg "... with the store's reason" "SignatureDoesNotMatch"
check "... and the secret is not printed" bash -c "! grep -qF -- '$SECRET' '$OUT' '$ERR'"
chmod 644 "$T/bad.credentials"
run loose_file env STRATA_S3_CREDENTIALS_FILE="$T/bad.credentials" "$STRATA_BIN" info --pool "$POOL"
check_msg "a credentials file readable by others: refused" "chmod 600"
run no_store env STRATA_S3_ENDPOINT=http://127.0.0.1:1 STRATA_S3_MAX_ATTEMPTS=2 "$STRATA_BIN" info --pool "$POOL"
check_rc_nonzero "no store at the endpoint: refused"
check_msg "... after retrying" "after 2 attempt(s)"

# ---- pool ---------------------------------------------------------------------
run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init on s3://" 0
run pool_init2 strata pool-init --pool "$POOL"
check_rc_nonzero "pool-init twice: refused"
check_msg "... it is a pool already" "already a strata pool"
run info_url env -u STRATA_S3_ENDPOINT "$STRATA_BIN" info --pool "$POOL?endpoint=$STRATA_S3_ENDPOINT&style=path"
check_rc "the endpoint as a URL option (no STRATA_S3_ENDPOINT)" 0

# ---- TLS: socat in front of the store, a self-signed certificate ------------------
TLSPORT=$(free_port $((PORT_BASE + 7)))
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" >"$T/out/openssl.log" 2>&1
socat "OPENSSL-LISTEN:$TLSPORT,bind=127.0.0.1,reuseaddr,fork,cert=$T/tls.crt,key=$T/tls.key,verify=0" \
  "TCP:${STRATA_S3_ENDPOINT##*//}" 2>"$T/out/socat.log" &
bg_register $!
for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$TLSPORT") 2>/dev/null && break; sleep 0.1; done
run tls_untrusted env STRATA_S3_ENDPOINT="https://127.0.0.1:$TLSPORT" STRATA_S3_MAX_ATTEMPTS=1 "$STRATA_BIN" info --pool "$POOL"
check_rc_nonzero "https to a certificate not in the trusted CAs: refused"
check_msg "... naming the certificate" "certificate"
run tls_ca env STRATA_S3_ENDPOINT="https://127.0.0.1:$TLSPORT" STRATA_S3_CA_FILE="$T/tls.crt" "$STRATA_BIN" info --pool "$POOL"
check_rc "https with STRATA_S3_CA_FILE" 0
run tls_ca_url env -u STRATA_S3_ENDPOINT "$STRATA_BIN" info --pool "$POOL?endpoint=https://127.0.0.1:$TLSPORT&ca_file=$T/tls.crt"
check_rc "https with endpoint= and ca_file= on the URL" 0

# ---- instances archiving into S3 ------------------------------------------------
PG_NODE=$NODE pg_new_primary primary "$PPORT" \
  || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
pg_new_standby standby "$SPORT" "$PPORT" \
  || { fail "start standby" "see log"; show "$T/standby/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 4 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
psql_at "$PPORT" "create table marker(id int primary key)"
wait_replay "$SPORT" "$PPORT" || fail "standby catches up" "timeout"
if wait_archived "$PPORT" 60; then pass "archive_command pushes WAL into the S3 pool"
else fail "archive_command pushes WAL into the S3 pool" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"; show "$T/primary/postgres.log"; fi

# ---- backup: uncompressed, 5 MiB parts: pgbench_accounts is many parts --------------
run backup env STRATA_S3_PART_SIZE=5M "$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
  --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres" \
  --compress none
check_rc "backup from the standby into S3" 0
BID=$(backup_id "$OUT")
[ -n "$BID" ] || { fail "backup prints its id" "none"; show "$OUT"; show "$ERR"; finish; }
BIG=$(s3_tool list "$S3_PREFIX/nodes/$NODE/backups/$BID/" | sort -t"$(printf '\t')" -k2,2n | tail -n 1)
BIGKEY=${BIG%%$'\t'*}
ETAG=$(s3_tool etag "$BIGKEY")
note "largest object: $BIG, ETag $ETAG"
case $ETAG in
  *-[0-9]*) if [ "${ETAG##*-}" -gt 1 ]; then pass "the largest object went up in ${ETAG##*-} parts (multipart)"
            else fail "multipart upload" "ETag $ETAG: one part"; fi ;;
  *) fail "multipart upload of the largest object" "ETag $ETAG is not a multipart ETag" ;;
esac
check_eq "no unfinished multipart upload left by the backup" "" "$(s3_tool uploads "$S3_PREFIX/")"

for i in $(seq 1 10); do psql_at "$PPORT" "insert into marker values ($i)"; done
psql_at "$PPORT" "select pg_create_restore_point('rp10')" >/dev/null
for i in $(seq 11 15); do psql_at "$PPORT" "insert into marker values ($i)"; done
wait_archived "$PPORT" 60 || fail "WAL after the markers archived" "timeout"

run info strata info --pool "$POOL" --node "$NODE"
check_rc "info" 0
check_msg "info lists the backup" "$BID"
run check strata check --pool "$POOL" --node "$NODE"
check_rc "check: the archive in S3 has no gap" 0
run verify strata verify --pool "$POOL" --node "$NODE" --jobs 4
check_rc "verify re-reads every object from S3" 0

# ---- restore and wal-get ------------------------------------------------------------
restore_start r1 --node "$NODE" --name rp10
check_rc "restore --name rp10 --start from S3" 0
check_eq "restored rows are those before rp10" "$(seq_csv 1 10)" "$(marker_ids "$RPORT")"
check_eq "restored pgbench tables are consistent" t "$(pgbench_consistent "$RPORT")"
check "restore_command of a restore from S3 reads WAL ahead (--prefetch 8)" grep -q -- "--prefetch 8" "$RDIR/postgresql.auto.conf"
check "... and the promoted instance keeps no prefetch spool" test ! -e "$RDIR/pg_wal/strata-prefetch"
pg_stop "$RDIR"

SEG=$(wal_objects "$NODE" | head -n 1)
SEG=$(wal_name_of "$SEG")
run wal_get strata wal-get --pool "$POOL" --node "$NODE" "$SEG" "$T/out/$SEG"
check_rc "wal-get $SEG from S3" 0
check_eq "... a whole segment" 16777216 "$(stat -c %s "$T/out/$SEG" 2>/dev/null)"
run wal_get_missing strata wal-get --pool "$POOL" --node "$NODE" 0000000100000000000000FE "$T/out/missing"
check_rc "wal-get of a segment not archived: exit 1" 1

# ---- wal-get --prefetch: the next segments read ahead, then served from the spool ---------
mapfile -t SEGS < <(wal_objects "$NODE" | while read -r o; do wal_name_of "$o"; done | grep -E '^[0-9A-F]{24}$' | sort -u)
PF=$T/pf/pg_wal
mkdir -p "$PF"
run wal_get_pf strata wal-get --pool "$POOL" --node "$NODE" --prefetch 4 "${SEGS[0]}" "$PF/RECOVERYXLOG"
check_rc "wal-get --prefetch 4 ${SEGS[0]}" 0
check_eq "... reads the next 3 segments ahead into pg_wal/strata-prefetch" \
  "${SEGS[1]} ${SEGS[2]} ${SEGS[3]}" "$(ls "$PF/strata-prefetch" 2>/dev/null | paste -sd' ')"
# served from the spool: the call succeeds with the object out of the pool
OBJ1=$(wal_objects "$NODE" | grep "/${SEGS[1]}-" | head -n 1)
pool_take "$OBJ1" "$T/out/pf.saved"
run wal_get_pf1 strata wal-get --pool "$POOL" --node "$NODE" --prefetch 4 "${SEGS[1]}" "$PF/RECOVERYXLOG"
check_rc "wal-get --prefetch of ${SEGS[1]} is served from the spool (its object out of the pool)" 0
pool_put_back "$T/out/pf.saved" "$OBJ1"
run wal_get_direct strata wal-get --pool "$POOL" --node "$NODE" "${SEGS[1]}" "$T/out/direct.${SEGS[1]}"
check "... and is the archived segment, byte for byte" cmp -s "$PF/RECOVERYXLOG" "$T/out/direct.${SEGS[1]}"
check_eq "... and has left the spool" "${SEGS[2]} ${SEGS[3]}" "$(ls "$PF/strata-prefetch" 2>/dev/null | paste -sd' ')"
run wal_get_pf_end strata wal-get --pool "$POOL" --node "$NODE" --prefetch 4 0000000100000000000000FE "$PF/RECOVERYXLOG"
check_rc "wal-get --prefetch past the end of the archive: exit 1" 1
check "... and the spool is removed" test ! -e "$PF/strata-prefetch"
run wal_get_pf_bad strata wal-get --pool "$POOL" --node "$NODE" --prefetch 65 "${SEGS[0]}" "$PF/RECOVERYXLOG"
check_rc "wal-get --prefetch 65 is refused" 2
check_msg "... naming the flag" "--prefetch"

# ---- a killed backup leaves no visible object ---------------------------------------
env STRATA_S3_PART_SIZE=5M "$STRATA_BIN" backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
  --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres" \
  --compress none --max-rate 4M --jobs 1 >"$T/out/killed.out" 2>"$T/out/killed.err" &
KPID=$!
bg_register "$KPID"
UPLOADS=
for ((i = 0; i < 600; i++)); do
  UPLOADS=$(s3_tool uploads "$S3_PREFIX/nodes/$NODE/backups/" 2>/dev/null)
  [ -n "$UPLOADS" ] && break
  kill -0 "$KPID" 2>/dev/null || break
  sleep 0.1
done
kill -KILL "$KPID" 2>/dev/null
wait "$KPID" 2>/dev/null
KILLED_AT=$(date +%s)
if [ -n "$UPLOADS" ]; then pass "killed during a multipart upload ($(echo "$UPLOADS" | cut -f1 | head -n 1))"
else fail "killed during a multipart upload" "no upload seen"; show "$T/out/killed.err"; fi
KID=$(s3_tool list "$S3_PREFIX/nodes/$NODE/backups/" | cut -f1 | sed "s|^$S3_PREFIX/nodes/$NODE/backups/||; s|/.*||" | sort -u | grep -v "^$BID\$" | head -n 1)
note "killed backup: ${KID:-none}"
VISIBLE=$(s3_tool list "$S3_PREFIX/" | cut -f1)
for k in $(echo "$UPLOADS" | cut -f1); do
  if grep -qxF -- "$k" <<<"$VISIBLE"; then fail "the object being uploaded is not visible" "$k is listed"
  else pass "the object being uploaded ($k) is not visible"; fi
done
run info_k strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info after the kill" 0
st=$(json_backup_status "$OUT" "${KID:-none}")
case $st in complete*|ok*|usable*|valid*) fail "the killed backup is not usable" "status $st" ;;
  *) pass "the killed backup is not usable ($st)" ;; esac
run restore_after_kill strata restore --pool "$POOL" --node "$NODE" --target-dir "$T/r2" --pg-bin "$PG_BIN"
check_rc "restore after the kill picks the complete backup" 0
check_msg "... $BID" "$BID"
wait_s=$((KILLED_AT + 21 - $(date +%s)))
[ "$wait_s" -gt 0 ] && sleep "$wait_s"
run expire_k strata expire --pool "$POOL" --node "$NODE" --keep 1 --interrupted-after 20s --output json
check_rc "expire removes the interrupted backup" 0
check_eq "... its objects are gone" "" "$(s3_tool list "$S3_PREFIX/nodes/$NODE/backups/${KID:-none}/")"
check_eq "... and its unfinished upload is aborted" "" "$(s3_tool uploads "$S3_PREFIX/")"

# ---- corruption and loss found by verify ------------------------------------------
OBJ=$(s3_tool list "$S3_PREFIX/nodes/$NODE/backups/$BID/data/" | cut -f1 | grep -v '/pg_' | head -n 1)
s3_tool get "$OBJ" "$T/out/obj.orig" && cp "$T/out/obj.orig" "$T/out/obj.bad" && flip_byte "$T/out/obj.bad" 0 \
  && s3_tool put "$T/out/obj.bad" "$OBJ"
run verify_bad strata verify --pool "$POOL" --node "$NODE" --backup "$BID" --jobs 4
check_rc_nonzero "verify: a corrupted object in S3 is found"
check_msg "... named" "${OBJ#"$S3_PREFIX/nodes/$NODE/backups/$BID/"}"
s3_tool delete "$OBJ"
run verify_gone strata verify --pool "$POOL" --node "$NODE" --backup "$BID" --jobs 4
check_rc_nonzero "verify: a deleted object is found"
check_msg "... named" "${OBJ#"$S3_PREFIX/nodes/$NODE/backups/$BID/"}"
s3_tool put "$T/out/obj.orig" "$OBJ"
run verify_ok strata verify --pool "$POOL" --node "$NODE" --backup "$BID" --jobs 4
check_rc "verify after putting it back" 0

# ---- expire --keep 1 after a second backup ----------------------------------------
run backup2 strata backup --pool "$POOL" --node "$NODE" --pgdata "$SDIR" \
  --pg-conn "host=127.0.0.1 port=$SPORT dbname=postgres" --primary-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "a second backup (zstd, single PUTs)" 0
B2=$(backup_id "$OUT")
run expire strata expire --pool "$POOL" --node "$NODE" --keep 1
check_rc "expire --keep 1" 0
check_eq "the first backup's objects are gone" "" "$(s3_tool list "$S3_PREFIX/nodes/$NODE/backups/$BID/")"
run info2 strata info --pool "$POOL" --node "$NODE"
check_msg "info lists the second backup" "$B2"
run verify2 strata verify --pool "$POOL" --node "$NODE" --jobs 4
check_rc "verify after expire" 0

finish
