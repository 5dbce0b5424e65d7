#!/usr/bin/env bash
# A data page with a bad checksum in the instance: backup reports the file
# and block; the backup keeps the page byte for byte. Then the --max-rate,
# --compress lz4 and --compress none variants back up and restore correctly.
source "$(dirname "$0")/lib.sh"

NODE=db
PPORT=$(free_port "$PORT_BASE")
PDIR=$(pg_datadir primary)
BLOCK=3

run pool_init strata pool-init --pool "$POOL"
check_rc "pool-init" 0
PG_NODE=$NODE pg_new_primary primary "$PPORT" || { fail "start primary" "see log"; show "$T/primary/postgres.log"; finish; }
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PPORT" -i -s 1 -q postgres >"$T/out/pgbench_init.log" 2>&1 \
  || { fail "pgbench -i" "failed"; show "$T/out/pgbench_init.log"; finish; }
for sql in "create table t_bad(id int, pad text) with (autovacuum_enabled = false)" \
           "insert into t_bad select g, repeat(md5(g::text), 3) from generate_series(1, 5000) g" \
           "create table t_ok(id int primary key, v text)" \
           "insert into t_ok select g, md5(g::text) from generate_series(1, 20000) g" \
           "vacuum freeze t_bad" "vacuum freeze t_ok" "checkpoint"; do
  psql_at "$PPORT" "$sql" || { fail "setup: $sql" "failed"; finish; }
done
REL=$(psql_at "$PPORT" "select pg_relation_filepath('t_bad')")
NPAGES=$(psql_at "$PPORT" "select pg_relation_size('t_bad') / 8192")
OKSUM=$(psql_at "$PPORT" "select md5(string_agg(id || ':' || v, ',' order by id)) from t_ok")
note "t_bad is $REL, $NPAGES pages; corrupting block $BLOCK"
[ -n "$REL" ] && [ -n "$OKSUM" ] && [ "${NPAGES:-0}" -gt "$BLOCK" ] || { fail "setup" "t_bad: '$REL' $NPAGES pages"; finish; }

pg_stop "$PDIR"
check "primary stopped" no_postmaster_in "$PDIR"
# 8 bytes in the middle of the page: the checksum fails, pd_lsn stays old
for off in $(seq $((BLOCK * 8192 + 4000)) $((BLOCK * 8192 + 4007))); do flip_byte "$PDIR/$REL" "$off"; done
BADSUM=$(sha256sum <"$PDIR/$REL")
_pg_start primary || { fail "restart primary" "see log"; show "$T/primary/postgres.log"; finish; }
if psql_at "$PPORT" "select count(*) from t_bad" >/dev/null 2>"$T/out/read_bad.err"; then
  fail "PostgreSQL sees the corrupt page" "count(*) succeeded"
else
  check_msg_file "PostgreSQL sees the corrupt page" "invalid page in block $BLOCK" "$T/out/read_bad.err"
fi
check_eq "reading it did not change the file" "$BADSUM" "$(sha256sum <"$PDIR/$REL")"
psql_at "$PPORT" "create table marker(id int primary key); insert into marker values (1), (2), (3)"

# ---- the backup that meets the corrupt page ------------------------------
run backup_zstd strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres"
check_rc "backup of an instance with a corrupt page: exit 0 (a warning, not a failure)" 0
B1=$(backup_id "$OUT")
cp "$ERR" "$T/out/backup_zstd.stderr"
if python3 - "$ERR" "$REL" "$BLOCK" <<'EOF'
import re, sys
err, rel, blk = open(sys.argv[1], errors="replace").read().splitlines(), sys.argv[2], sys.argv[3]
sys.exit(0 if any(rel in l and re.search(r"\b%s\b" % blk, l.replace(rel, "")) for l in err) else 1)
EOF
then pass "backup warns on stderr naming $REL and block $BLOCK"
else fail "backup warns on stderr naming $REL and block $BLOCK" "no such line"; show "$ERR"; fi
others=$(grep -iE 'checksum|block' "$ERR" | grep -E '(base|global|pg_tblspc)/' | grep -vF "$REL" | head -n 3)
check_eq "no other file is reported" "" "$others"

run info_json strata info --pool "$POOL" --node "$NODE" --output json
check_rc "info --output json: exit 0" 0
if python3 - "$OUT" "$B1" "$REL" "$BLOCK" <<'EOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))
bid, rel, blk = sys.argv[2], sys.argv[3], int(sys.argv[4])
# the backup's object, then anything inside it that names rel and the block
def find(o, pred):
    if pred(o): yield o
    if isinstance(o, dict):
        for v in o.values(): yield from find(v, pred)
    elif isinstance(o, list):
        for v in o: yield from find(v, pred)
backups = list(find(doc, lambda o: isinstance(o, dict) and bid in [v for v in o.values() if isinstance(v, str)]))
def has_block(o):
    t = json.dumps(o)
    return rel in t and re.search(r"(?<![\w.])%d(?![\w.])" % blk, t.replace(rel, "")) is not None
for b in backups:
    hits = list(find(b, lambda o: isinstance(o, (dict, list)) and has_block(o)))
    # the smallest object naming both
    if hits and min(len(json.dumps(h)) for h in hits) < 2000:
        sys.exit(0)
sys.exit(1)
EOF
then pass "info --output json shows the page error ($REL block $BLOCK) on the backup"
else fail "info --output json shows the page error" "no entry naming $REL and block $BLOCK under backup $B1"; show "$OUT" 30; fi

# ---- variants -------------------------------------------------------------
psql_at "$PPORT" "insert into marker values (4)"
DBSIZE=$(du -sb --exclude=pg_wal "$PDIR" | cut -f1)
RATE_MB=2
t0=$(date +%s.%N)
run backup_lz4 strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --compress lz4 --max-rate "${RATE_MB}M"
T_LZ4=$(elapsed "$t0" "$(date +%s.%N)")
check_rc "backup --compress lz4 --max-rate ${RATE_MB}M: exit 0" 0
B2=$(backup_id "$OUT")
MIN=$(awk -v s="$DBSIZE" -v r="$RATE_MB" 'BEGIN { printf "%.1f", 0.6 * s / (r * 1048576) }')
note "lz4 backup of $DBSIZE bytes took ${T_LZ4}s at --max-rate ${RATE_MB}M (at least ${MIN}s expected)"
if awk -v a="$T_LZ4" -v b="$MIN" 'BEGIN { exit !(a >= b) }'; then pass "--max-rate ${RATE_MB}M is honoured (${T_LZ4}s >= ${MIN}s)"
else fail "--max-rate ${RATE_MB}M is honoured" "took ${T_LZ4}s for $DBSIZE bytes, expected >= ${MIN}s"; fi
exts() { find "$POOL/nodes/$NODE/backups/$1/data" -type f 2>/dev/null | sed 's/.*\.//' | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '; }
E2=$(exts "$B2")
case " $E2 " in
  *" lz4="*) if echo "$E2" | grep -q "zst="; then fail "lz4 backup stores lz4 objects" "$E2"; else pass "lz4 backup stores lz4 objects ($E2)"; fi ;;
  *) fail "lz4 backup stores lz4 objects" "extensions: ${E2:-none}" ;;
esac

psql_at "$PPORT" "insert into marker values (5)"
run backup_none strata backup --pool "$POOL" --node "$NODE" --pgdata "$PDIR" \
    --pg-conn "host=127.0.0.1 port=$PPORT dbname=postgres" --compress none --jobs 3
check_rc "backup --compress none --jobs 3: exit 0" 0
B3=$(backup_id "$OUT")
E3=$(exts "$B3")
check_eq "uncompressed backup stores raw objects only" "raw" "$(echo "$E3" | sed 's/=[0-9]*//g')"
if [ -f "$POOL/nodes/$NODE/backups/$B3/data/$REL.raw" ]; then
  check_eq "the raw object of the corrupt file is the file, byte for byte" "$BADSUM" \
    "$(sha256sum <"$POOL/nodes/$NODE/backups/$B3/data/$REL.raw")"
else
  fail "raw object for $REL exists" "no $POOL/nodes/$NODE/backups/$B3/data/$REL.raw"
fi
psql_at "$PPORT" "insert into marker values (6)"
wait_archived "$PPORT" || fail "archiving" "$(psql_at "$PPORT" "select * from pg_stat_archiver")"
ACC=$(psql_at "$PPORT" "select count(*) || ':' || sum(abalance) from pgbench_accounts")

# ---- restores of each -------------------------------------------------------
restore_check() {   # LABEL BACKUP-ID [RESTORE-ARGS...]
  local label=$1 bid=$2; shift 2
  if [ -z "$bid" ]; then fail "restore $label" "no backup id"; return; fi
  restore_start "r_$label" --node "$NODE" --backup "$bid" --latest "$@"
  check_rc "restore of the $label backup: exit 0" 0
  if [ "$RC" = 0 ]; then
    check_eq "restore $label: t_ok content" "$OKSUM" \
      "$(psql_at "$RPORT" "select md5(string_agg(id || ':' || v, ',' order by id)) from t_ok" 2>&1)"
    check_eq "restore $label: pgbench_accounts" "$ACC" \
      "$(psql_at "$RPORT" "select count(*) || ':' || sum(abalance) from pgbench_accounts" 2>&1)"
    check_eq "restore $label: marker rows (latest)" "$(seq_csv 1 6)" "$(marker_ids "$RPORT" 2>&1)"
    check_eq "restore $label: the corrupt file restored byte for byte" "$BADSUM" "$(sha256sum <"$RDIR/$REL" 2>&1)"
  else
    show_pg_logs "$RDIR"
  fi
  pg_stop "$RDIR"
  check "restore $label: instance stopped" no_postmaster_in "$RDIR"
}
restore_check zstd "$B1"
restore_check lz4 "$B2" --max-rate 20M
restore_check none "$B3" --jobs 3

finish
