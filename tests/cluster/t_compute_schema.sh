#!/usr/bin/env bash
# t_compute_schema: the compute layer is restored, not invented (issue 10).
#
# A 2-shard cluster (scripts/cluster.sh) whose compute node is given a
# schema unlike the bank's: two databases (shop, ops), a schema, list and
# hash partitioning over postgres_fdw foreign tables on the shards (in two
# shard databases, bank and ledger), a server whose name needs quoting, a
# server on a shard's standby, a view, a function, a role with grants. Rows
# are inserted through the compute node; the query outputs are recorded;
# a cluster backup; more rows after its end CP. A restore to that CP into a
# new cluster: every query through the restored compute node returns what
# it returned on the source at the CP, every FDW server points at the new
# cluster, none at the source. Then: a dump corrupted in the pool is refused
# before anything starts; a server that points outside the cluster makes
# the restore fail naming it, leaving nothing running.
#
# Runs as an unprivileged user (the harness runs it as `strata`).
# STRATA_BIN        the strata binary (default: build/strata of this checkout)
# STRATA_TEST_WORK  a directory for the clusters (default: a new one in /tmp)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER_SH=$HERE/../../scripts/cluster.sh
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-compute.XXXXXX)}
DIR=$WORK/cluster
POOL=$WORK/pool
RDIR=$WORK/restored

# shellcheck source=lib.sh
. "$HERE/lib.sh"

cleanup() {
  stop_under "$RDIR"
  [ -f "$DIR/.strata-cluster" ] && bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
BASE=$(pick_base 27300 27700 40 $(seq_offsets 33)) || { notok "setup" "no free block of ports in 27300-27699"; exit 1; }
RBASE=$((BASE + 23))
mkdir -p "$WORK"

t0=$SECONDS
if META=$(bash "$CLUSTER_SH" create "$DIR" --shards 2 --base-port "$BASE" --name c1 --strata "$BIN" \
  --pool "$POOL" --wal-segsize 1 --set archive_timeout=1 --set shared_buffers=8MB 2>"$WORK/create.log"); then
  ok "cluster.sh create c1 (ports from $BASE) in $((SECONDS - t0))s"
else
  notok "cluster.sh create" "$(tail -n 5 "$WORK/create.log" | tr '\n' ' ')"
  exit 1
fi
# shellcheck disable=SC1091
. "$DIR/cluster.env"
S1=$((BASE + 10)) S2=$((BASE + 20))
CP=$COMPUTE_PORT

# ---- the shards' tables (what the compute node's foreign tables read) -------
shard_sql() {   # K: shard K's tables in bank and in ledger
  psql_at "$1" postgres "CREATE DATABASE ledger" &&
    psql_at "$1" bank "CREATE TABLE public.orders_$2 (order_id int PRIMARY KEY, region text NOT NULL,
        customer_id int NOT NULL, amount numeric(10,2) NOT NULL);
      CREATE TABLE public.customers_$2 (customer_id int PRIMARY KEY, name text NOT NULL, tier text);" &&
    psql_at "$1" ledger "CREATE TABLE public.events (id bigint PRIMARY KEY, kind text NOT NULL, at date NOT NULL);"
}
if shard_sql "$S1" 1 && shard_sql "$S2" 2; then ok "shard tables in bank and ledger"; else notok "shard tables" "psql failed"; exit 1; fi

# ---- the compute node's own schema --------------------------------------------
SHOP="CREATE EXTENSION postgres_fdw;
CREATE SERVER s_one FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$S1', dbname 'bank');
CREATE SERVER \"S Two\" FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$S2', dbname 'bank');
CREATE SERVER s_one_ro FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$((S1 + 1))', dbname 'bank');
CREATE USER MAPPING FOR CURRENT_USER SERVER s_one;
CREATE USER MAPPING FOR CURRENT_USER SERVER \"S Two\";
CREATE USER MAPPING FOR CURRENT_USER SERVER s_one_ro;
CREATE SCHEMA sales;
CREATE TABLE sales.orders (order_id int NOT NULL, region text NOT NULL, customer_id int NOT NULL,
  amount numeric(10,2) NOT NULL) PARTITION BY LIST (region);
CREATE FOREIGN TABLE sales.orders_eu PARTITION OF sales.orders FOR VALUES IN ('eu', 'uk')
  SERVER s_one OPTIONS (schema_name 'public', table_name 'orders_1');
CREATE FOREIGN TABLE sales.orders_am PARTITION OF sales.orders FOR VALUES IN ('us', 'br')
  SERVER \"S Two\" OPTIONS (schema_name 'public', table_name 'orders_2');
CREATE TABLE sales.customers (customer_id int NOT NULL, name text NOT NULL, tier text) PARTITION BY HASH (customer_id);
CREATE FOREIGN TABLE sales.customers_h0 PARTITION OF sales.customers FOR VALUES WITH (MODULUS 2, REMAINDER 0)
  SERVER s_one OPTIONS (schema_name 'public', table_name 'customers_1');
CREATE FOREIGN TABLE sales.customers_h1 PARTITION OF sales.customers FOR VALUES WITH (MODULUS 2, REMAINDER 1)
  SERVER \"S Two\" OPTIONS (schema_name 'public', table_name 'customers_2');
CREATE FOREIGN TABLE sales.orders_eu_replica (order_id int, region text, customer_id int, amount numeric(10,2))
  SERVER s_one_ro OPTIONS (schema_name 'public', table_name 'orders_1');
CREATE FUNCTION sales.band(v numeric) RETURNS text LANGUAGE sql IMMUTABLE
  AS \$\$ SELECT CASE WHEN v >= 100 THEN 'large' WHEN v >= 20 THEN 'medium' ELSE 'small' END \$\$;
CREATE VIEW sales.customer_totals AS
  SELECT c.customer_id, c.name, count(o.order_id) AS orders, coalesce(sum(o.amount), 0) AS total,
         sales.band(coalesce(sum(o.amount), 0)) AS band
  FROM sales.customers c LEFT JOIN sales.orders o USING (customer_id) GROUP BY c.customer_id, c.name;
CREATE ROLE analyst NOLOGIN;
GRANT USAGE ON SCHEMA sales TO analyst;
GRANT SELECT ON sales.customer_totals TO analyst;"
OPS="CREATE EXTENSION postgres_fdw;
CREATE SERVER ledger_a FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$S1', dbname 'ledger');
CREATE SERVER ledger_b FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$S2', dbname 'ledger');
CREATE USER MAPPING FOR CURRENT_USER SERVER ledger_a;
CREATE USER MAPPING FOR CURRENT_USER SERVER ledger_b;
CREATE TABLE public.events (id bigint NOT NULL, kind text NOT NULL, at date NOT NULL) PARTITION BY HASH (id);
CREATE FOREIGN TABLE public.events_0 PARTITION OF public.events FOR VALUES WITH (MODULUS 2, REMAINDER 0)
  SERVER ledger_a OPTIONS (table_name 'events');
CREATE FOREIGN TABLE public.events_1 PARTITION OF public.events FOR VALUES WITH (MODULUS 2, REMAINDER 1)
  SERVER ledger_b OPTIONS (table_name 'events');
CREATE VIEW public.daily AS SELECT at, kind, count(*) AS n FROM public.events GROUP BY at, kind;"
if psql_at "$CP" postgres "CREATE DATABASE shop" && psql_at "$CP" postgres "CREATE DATABASE ops" &&
  psql_at "$CP" shop "$SHOP" && psql_at "$CP" ops "$OPS"; then
  ok "compute schema: databases shop and ops, list and hash partitions over foreign tables, view, function, role"
else
  notok "compute schema" "psql failed"; exit 1
fi

rows() {   # FROM TO: rows [FROM, TO) through the compute node
  psql_at "$CP" shop "INSERT INTO sales.customers SELECT g, 'customer ' || g, CASE WHEN g % 3 = 0 THEN 'gold' END
      FROM generate_series($1, $2 - 1) g;
    INSERT INTO sales.orders SELECT 10 * g + k, (ARRAY['eu', 'uk', 'us', 'br'])[1 + (g + k) % 4], g, (g * 7 + k * 13) % 150 + 0.5
      FROM generate_series($1, $2 - 1) g, generate_series(0, 2) k;" &&
    psql_at "$CP" ops "INSERT INTO public.events SELECT g, (ARRAY['login', 'logout', 'error'])[1 + g % 3],
      date '2026-01-01' + (g % 5) FROM generate_series($1, $2 - 1) g;"
}
rows 1 41 && ok "rows inserted through the compute node" || { notok "rows" "insert failed"; exit 1; }

# The queries and what they return (each database's, one file each).
QSHOP=(
  "SELECT count(*), sum(amount) FROM sales.orders"
  "SELECT region, count(*), sum(amount) FROM sales.orders GROUP BY region ORDER BY region"
  "SELECT tableoid::regclass, count(*) FROM sales.customers GROUP BY 1 ORDER BY 1"
  "SELECT * FROM sales.customer_totals ORDER BY customer_id"
  "SELECT band, count(*) FROM sales.customer_totals GROUP BY band ORDER BY band"
  "SELECT count(*), sum(amount) FROM sales.orders_eu_replica"
  "SELECT sales.band(42)"
  "SELECT has_table_privilege('analyst', 'sales.customer_totals', 'SELECT'), has_schema_privilege('analyst', 'sales', 'USAGE')"
)
QOPS=(
  "SELECT * FROM public.daily ORDER BY at, kind"
  "SELECT tableoid::regclass, count(*), min(id), max(id) FROM public.events GROUP BY 1 ORDER BY 1"
)
record() {   # PORT OUT
  local q
  : >"$2"
  for q in "${QSHOP[@]}"; do echo "shop> $q" >>"$2"; psql_at "$1" shop "$q" >>"$2" 2>&1; done
  for q in "${QOPS[@]}"; do echo "ops> $q" >>"$2"; psql_at "$1" ops "$q" >>"$2" 2>&1; done
}
# the replica table reads the standby: wait until it caught up
for ((i = 0; i < 50; i++)); do
  [ "$(psql_at "$CP" shop "SELECT (SELECT count(*) FROM sales.orders_eu) = (SELECT count(*) FROM sales.orders_eu_replica)")" = t ] && break
  sleep 0.2
done
record "$CP" "$WORK/source.out"
if ! grep -q "ERROR:" "$WORK/source.out" && [ "$(sed -n 2p "$WORK/source.out")" = "120|9240.00" ]; then
  ok "source queries recorded ($(wc -l <"$WORK/source.out") lines)"
else
  notok "source queries" "$(head -c 600 "$WORK/source.out")"
fi

# ---- the backup, then rows after its end CP ------------------------------------
t0=$SECONDS
if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 1 --output json \
  >"$WORK/backup.json" 2>"$WORK/backup.log"; then
  ok "cluster backup $(jget "$WORK/backup.json" id) in $((SECONDS - t0))s"
else
  notok "cluster backup" "$(short "$WORK/backup.log")"; exit 1
fi
ID=$(jget "$WORK/backup.json" id)
ENDCP=$(jget "$WORK/backup.json" end_cp.name)
OBJ=$POOL/clusters/c1/backups/$ID/compute/compute-1.sql
if [ "$(jget "$WORK/backup.json" compute.0.node)" = compute-1 ] &&
  [ "$(jget "$WORK/backup.json" compute.0.size)" = "$(stat -c %s "$OBJ" 2>/dev/null)" ] &&
  [ "$(jget "$WORK/backup.json" compute.0.sha256)" = "$(sha256sum <"$OBJ" | cut -d' ' -f1)" ] &&
  grep -q 'CREATE SERVER "S Two"' "$OBJ" && grep -q 'PARTITION BY HASH' "$OBJ"; then
  ok "the cluster manifest lists compute-1's schema dump ($(stat -c %s "$OBJ") bytes, sha256 matches)"
else
  notok "compute schema in the pool" "manifest: $(short "$WORK/backup.json")"
fi
rows 41 61 && ok "more rows after the end CP $ENDCP" || notok "rows after" "insert failed"

# ---- restore into a new cluster --------------------------------------------------
t0=$SECONDS
"$BIN" restore --cluster c1 --to c2 --cp "$ENDCP" --pool "$POOL" --dir "$RDIR" --base-port "$RBASE" \
  --output json >"$WORK/restore.json" 2>"$WORK/restore.err"
rc=$?
if [ "$rc" = 0 ]; then
  ok "restore --to c2 --cp $ENDCP in $((SECONDS - t0))s"
else
  notok "restore" "exit $rc: $(short "$WORK/restore.err")"; exit 1
fi
RCP=$(jget "$WORK/restore.json" topology.compute.0.port)
RS1=$(jget "$WORK/restore.json" topology.shards.0.nodes.0.port)
RS1B=$(jget "$WORK/restore.json" topology.shards.0.nodes.1.port)
RS2=$(jget "$WORK/restore.json" topology.shards.1.nodes.0.port)
for ((i = 0; i < 50; i++)); do
  [ "$(psql_at "$RCP" shop "SELECT (SELECT count(*) FROM sales.orders_eu) = (SELECT count(*) FROM sales.orders_eu_replica)" 2>/dev/null)" = t ] && break
  sleep 0.2
done
record "$RCP" "$WORK/restored.out"
if cmp -s "$WORK/source.out" "$WORK/restored.out"; then
  ok "every query through the restored compute node (port $RCP) returns what it returned on the source at the CP"
else
  notok "restored queries" "$(diff "$WORK/source.out" "$WORK/restored.out" | head -n 20 | tr '\n' ' ' | cut -c1-900)"
fi
srv=$( (psql_at "$RCP" shop "SELECT srvname || '=' || (SELECT string_agg(o, ',' ORDER BY o) FROM unnest(srvoptions) o) FROM pg_foreign_server ORDER BY 1";
  psql_at "$RCP" ops "SELECT srvname || '=' || (SELECT string_agg(o, ',' ORDER BY o) FROM unnest(srvoptions) o) FROM pg_foreign_server ORDER BY 1") | paste -sd' ')
want="S Two=dbname=bank,host=127.0.0.1,port=$RS2 s_one=dbname=bank,host=127.0.0.1,port=$RS1 s_one_ro=dbname=bank,host=127.0.0.1,port=$RS1B ledger_a=dbname=ledger,host=127.0.0.1,port=$RS1 ledger_b=dbname=ledger,host=127.0.0.1,port=$RS2"
[ "$srv" = "$want" ] && ok "FDW servers re-pointed at the new shards (primary and standby by position)" ||
  notok "FDW servers" "got '$srv', expected '$want'"
if psql_at "$RCP" shop "INSERT INTO sales.orders VALUES (99999, 'br', 1, 1.00)" &&
  [ "$(psql_at "$RS2" bank "SELECT count(*) FROM public.orders_2 WHERE order_id = 99999")" = 1 ] &&
  [ "$(psql_at "$S2" bank "SELECT count(*) FROM public.orders_2 WHERE order_id = 99999")" = 0 ]; then
  ok "a row inserted through the restored compute node lands on the new shard, not the source's"
else
  notok "restored compute writes" "the row is not on the new shard2 only"
fi
stop_under "$RDIR"
left=$(procs_under "$RDIR")
[ -z "$left" ] && rm -rf "$RDIR" && ok "restored cluster stopped and removed" || notok "stop c2" "still running:$left"

# ---- a corrupted dump is refused before anything starts ----------------------------
cp "$OBJ" "$WORK/dump.orig"
sed -i 's/CREATE SERVER s_one /CREATE SERVER s_onf /' "$OBJ"   # same size: the checksum catches it
"$BIN" restore --cluster c1 --to c3 --cp "$ENDCP" --pool "$POOL" --dir "$RDIR" --base-port "$RBASE" \
  >"$WORK/corrupt.out" 2>"$WORK/corrupt.err"
rc=$?
if [ "$rc" != 0 ] && grep -q "compute-1.sql: checksum mismatch" "$WORK/corrupt.err" &&
  grep -q "nothing was started" "$WORK/corrupt.err" && [ -z "$(procs_under "$RDIR")" ]; then
  ok "a dump altered in the pool is refused before anything starts: $(short "$WORK/corrupt.err" | cut -c1-200)"
else
  notok "corrupted dump" "exit $rc: $(short "$WORK/corrupt.err")"
fi
cp "$WORK/dump.orig" "$OBJ"
rm -rf "$RDIR"

# ---- a server outside the cluster: the restore fails naming it -----------------------
psql_at "$CP" ops "CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'x')"
if "$BIN" backup --cluster c1 --meta-conn "$META" --pool "$POOL" --jobs 1 --output json \
  >"$WORK/backup2.json" 2>"$WORK/backup2.log"; then
  "$BIN" restore --cluster c1 --to c4 --cp "$(jget "$WORK/backup2.json" end_cp.name)" --pool "$POOL" --dir "$RDIR" \
    --base-port "$RBASE" >"$WORK/outside.out" 2>"$WORK/outside.err"
  rc=$?
  if [ "$rc" != 0 ] && grep -q "postgres_fdw server elsewhere in database ops points at 127.0.0.1:1, which is no node" \
    "$WORK/outside.err" && [ -z "$(procs_under "$RDIR")" ]; then
    ok "a server outside the source cluster fails the restore, naming it; nothing left running"
  else
    notok "server outside the cluster" "exit $rc: $(short "$WORK/outside.err")"
  fi
else
  notok "second cluster backup" "$(short "$WORK/backup2.log")"
fi
stop_under "$RDIR"

bash "$CLUSTER_SH" destroy "$DIR" >/dev/null 2>"$WORK/destroy.log" || notok "destroy" "$(short "$WORK/destroy.log")"
left=$(procs_under "$WORK")
[ -z "$left" ] && ok "nothing left running" || notok "leftovers" "still running:$left"
[ -z "${STRATA_TEST_WORK:-}" ] && [ "$FAILED" = 0 ] && rm -rf "$WORK"
exit "$FAILED"
