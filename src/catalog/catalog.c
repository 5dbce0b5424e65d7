#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pg/conn.h"

/* The catalog lives in the metadata database, so it is backed up and
 * restored with the metadata cluster: a restored cluster carries the
 * commit log and the workload's initial total as of its consistency point.
 *
 * backups and consistency_points do not reference clusters: re-registering
 * a topology (a failover, a rebuilt compute node) must not lose the
 * history of what was backed up. shards and nodes are the topology itself
 * and go with their cluster. */
const char catalog_sql[] =
    "CREATE SCHEMA IF NOT EXISTS strata;\n"
    "CREATE TABLE IF NOT EXISTS strata.clusters (\n"
    "    name text PRIMARY KEY,\n"
    "    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    /* business database on shards and compute nodes, and the metadata
     * database on the metadata nodes: needed to reach them */
    "    database text NOT NULL DEFAULT 'bank',\n"
    "    meta_database text NOT NULL DEFAULT 'strata',\n"
    /* the cluster a restored cluster was restored from: its metadata
     * database knows the workload under the origin's name */
    "    origin text\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS strata.shards (\n"
    "    cluster text NOT NULL REFERENCES strata.clusters(name) ON DELETE CASCADE,\n"
    "    name text NOT NULL,\n"
    /* the topology file's order: shard k holds the workload's account ids
     * [k*1000000, (k+1)*1000000), so the order must survive a round trip */
    "    ordinal int NOT NULL,\n"
    "    PRIMARY KEY (cluster, name)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS strata.nodes (\n"
    "    cluster text NOT NULL REFERENCES strata.clusters(name) ON DELETE CASCADE,\n"
    "    shard text,\n" /* 'meta' for the metadata cluster, NULL for compute nodes */
    "    name text NOT NULL,\n"
    "    host text NOT NULL,\n"
    "    port int NOT NULL CHECK (port BETWEEN 1 AND 65535),\n"
    "    role text NOT NULL CHECK (role IN ('primary', 'standby', 'compute')),\n"
    "    data_dir text,\n"
    "    ordinal int NOT NULL DEFAULT 0,\n"
    "    PRIMARY KEY (cluster, name),\n"
    "    CHECK ((shard IS NULL) = (role = 'compute'))\n"
    ");\n"
    /* The global 2PC commit log (DESIGN §1): one row is the commit decision
     * of one global transaction. A consistency point takes SHARE on it. */
    "CREATE TABLE IF NOT EXISTS strata.commit_log (\n"
    "    gtxid text PRIMARY KEY,\n"
    "    participants text[] NOT NULL,\n"
    "    decided_at timestamptz NOT NULL DEFAULT clock_timestamp()\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS strata.consistency_points (\n"
    "    name text PRIMARY KEY,\n"
    "    cluster text NOT NULL,\n"
    "    created_at timestamptz NOT NULL,\n"
    "    pause_ms double precision,\n"
    "    lsns jsonb\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS consistency_points_cluster_time ON strata.consistency_points (cluster, created_at);\n"
    "CREATE TABLE IF NOT EXISTS strata.backups (\n"
    "    cluster text NOT NULL,\n"
    "    id text NOT NULL,\n"
    "    kind text NOT NULL CHECK (kind IN ('cluster', 'node')),\n"
    /* '' on the row of a cluster backup as a whole: a key column cannot be NULL */
    "    node text NOT NULL DEFAULT '',\n"
    "    status text NOT NULL,\n"
    "    started_at timestamptz,\n"
    "    finished_at timestamptz,\n"
    "    info jsonb,\n"
    "    PRIMARY KEY (cluster, id, node)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS strata.workload (\n"
    "    cluster text PRIMARY KEY,\n"
    "    initial_total bigint NOT NULL,\n"
    "    accounts int NOT NULL\n"
    ");\n";

int
catalog_ensure(PGconn *meta, Error *err)
{
    /* Two registrations at once would both see "no schema" and one would
     * fail on a duplicate key in pg_namespace: serialise them. The lock key
     * is arbitrary but fixed ('strata' in ASCII). The simple query protocol
     * (PQexec) because the DDL is many statements in one string. */
    char *sql = xprintf("SET client_min_messages = warning; BEGIN; SELECT pg_advisory_xact_lock(x'737472617461'::bigint); %s COMMIT;", catalog_sql);
    PGresult *r = PQexec(meta, sql);
    free(sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(meta));
        msg[strcspn(msg, "\n")] = '\0';
        PQclear(r);
        PQclear(PQexec(meta, "ROLLBACK"));
        return error_set(err, "creating strata's catalog on the metadata primary failed: %s", msg);
    }
    PQclear(r);
    return 0;
}

char *
conninfo_with_dbname(const char *conninfo, const char *db)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
    Buffer b = {0};
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
    {
        if (!o->val || !strcmp(o->keyword, "dbname"))
            continue;
        buffer_appendf(&b, "%s='", o->keyword);
        for (const char *p = o->val; *p; p++)
        {
            if (*p == '\'' || *p == '\\')
                buffer_append(&b, "\\", 1);
            buffer_append(&b, p, 1);
        }
        buffer_append(&b, "' ", 2);
    }
    PQconninfoFree(opts);
    buffer_appendf(&b, "dbname='");
    for (const char *p = db; *p; p++)
    {
        if (*p == '\'' || *p == '\\')
            buffer_append(&b, "\\", 1);
        buffer_append(&b, p, 1);
    }
    buffer_append(&b, "'", 2); /* with the terminating NUL */
    return b.data;
}

/* The dbname a conninfo names, or NULL. Caller frees. */
static char *
conninfo_dbname(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
    char *db = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
            db = xstrdup(o->val);
    PQconninfoFree(opts);
    return db;
}

PGconn *
catalog_connect(const char *conninfo, bool create_db, Error *err)
{
    char *errmsg = NULL;
    PQconninfoOption *check = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
    if (!check)
    {
        if (errmsg)
            errmsg[strcspn(errmsg, "\n")] = '\0';
        error_set(err, "--meta-conn '%s' is not a valid connection string: %s", conninfo ? conninfo : "",
                  errmsg ? errmsg : "out of memory");
        PQfreemem(errmsg);
        return NULL;
    }
    PQconninfoFree(check);
    char *db = conninfo_dbname(conninfo);
    if (!db)
        db = xstrdup(CATALOG_DEFAULT_DB);
    char *ci = conninfo_with_dbname(conninfo, db);
    PGconn *conn = pg_connect(ci, "metadata primary", err);
    if (!conn && create_db)
    {
        /* Is it the database that is missing, or the server? Ask the
         * server's maintenance database; create ours if it is not there. */
        Error e2;
        char *pci = conninfo_with_dbname(conninfo, "postgres");
        PGconn *pc = pg_connect(pci, "metadata primary", &e2);
        free(pci);
        if (pc)
        {
            const char *params[] = {db};
            PGresult *r = pg_exec(pc, "metadata primary", "SELECT count(*) FROM pg_database WHERE datname = $1", 1,
                                  params, &e2);
            bool missing = r && atol(PQgetvalue(r, 0, 0)) == 0;
            PQclear(r);
            if (missing)
            {
                char *ident = PQescapeIdentifier(pc, db, strlen(db));
                char *sql = xprintf("CREATE DATABASE %s", ident ? ident : "strata");
                PQfreemem(ident);
                r = pg_exec(pc, "metadata primary", sql, 0, NULL, err);
                free(sql);
                if (r)
                {
                    PQclear(r);
                    conn = pg_connect(ci, "metadata primary", err);
                }
            }
            PQfinish(pc);
        }
    }
    free(ci);
    free(db);
    return conn;
}
