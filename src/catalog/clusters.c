/* strata.clusters, strata.shards, strata.nodes: see clusters.h. */
#include "catalog/clusters.h"

#include <stdio.h>

#include "catalog/sql.h"
#include "common/util.h"
#include "pg/conn.h"

int
catalog_cluster_exists(PGconn *meta, const char *name, bool *found, Error *err)
{
    char what[256];
    snprintf(what, sizeof(what), "looking up cluster %s", name);
    const char *p[1] = {name};
    PGresult *r = catalog_exec(meta, what, PGRES_TUPLES_OK, "SELECT 1 FROM strata.clusters WHERE name = $1", 1, p,
                               err);
    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

PGresult *
catalog_cluster_names(PGconn *meta, Error *err)
{
    return catalog_exec(meta, "listing clusters", PGRES_TUPLES_OK, "SELECT name FROM strata.clusters ORDER BY name",
                        0, NULL, err);
}

PGresult *
catalog_clusters_summary(PGconn *meta, const char *what, Error *err)
{
    return pg_exec(meta, what,
                   "SELECT c.name, c.created_at::text, c.origin, "
                   "(SELECT count(*) FROM strata.shards s WHERE s.cluster = c.name), "
                   "(SELECT count(*) FROM strata.nodes n WHERE n.cluster = c.name) "
                   "FROM strata.clusters c ORDER BY c.name",
                   0, NULL, err);
}

PGresult *
catalog_node_ports(PGconn *meta, Error *err)
{
    return catalog_exec(meta, "reading the ports of registered clusters", PGRES_TUPLES_OK,
                        "SELECT DISTINCT port FROM strata.nodes", 0, NULL, err);
}

PGresult *
catalog_node_host_ports(PGconn *meta, Error *err)
{
    return catalog_exec(meta, "reading the hosts and ports of registered clusters", PGRES_TUPLES_OK,
                        "SELECT DISTINCT host, port FROM strata.nodes", 0, NULL, err);
}

int
catalog_new_cluster_name_state(PGconn *meta, const char *name, bool *registered, char **restoring_job, Error *err)
{
    const char *p[1] = {name};
    PGresult *r = catalog_exec(meta, "looking up the new cluster's name", PGRES_TUPLES_OK,
                               "SELECT (SELECT count(*) FROM strata.clusters WHERE name = $1), "
                               "(SELECT min(id) FROM strata.jobs WHERE kind = 'restore' "
                               "AND state IN ('queued', 'running') AND params->>'to' = $1)",
                               1, p, err);
    if (!r)
        return -1;
    *registered = PQgetvalue(r, 0, 0)[0] != '0';
    *restoring_job = PQgetisnull(r, 0, 1) ? NULL : xstrdup(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

static int
run_one(PGconn *meta, const char *what, const char *sql, int n, const char *const *p, Error *err)
{
    PGresult *r = pg_exec(meta, what, sql, n, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

PGresult *
catalog_cluster_row(PGconn *meta, const char *what, const char *name, Error *err)
{
    const char *p[1] = {name};
    return pg_exec(meta, what,
                   "SELECT name, database, meta_database, origin, created_at::text FROM strata.clusters "
                   "WHERE name = $1",
                   1, p, err);
}

PGresult *
catalog_cluster_shards(PGconn *meta, const char *what, const char *name, Error *err)
{
    const char *p[1] = {name};
    return pg_exec(meta, what, "SELECT name FROM strata.shards WHERE cluster = $1 ORDER BY ordinal, name", 1, p, err);
}

PGresult *
catalog_cluster_nodes(PGconn *meta, const char *what, const char *name, Error *err)
{
    const char *p[1] = {name};
    return pg_exec(meta, what,
                   "SELECT coalesce(shard, ''), name, host, port, role, data_dir FROM strata.nodes "
                   "WHERE cluster = $1 ORDER BY ordinal, name",
                   1, p, err);
}

int
catalog_cluster_upsert(PGconn *meta, const char *what, const char *name, const char *database,
                       const char *meta_database, const char *origin, Error *err)
{
    const char *p[4] = {name, database, meta_database, origin};
    return run_one(meta, what,
                   "INSERT INTO strata.clusters (name, database, meta_database, origin) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (name) DO UPDATE SET database = excluded.database, "
                   "meta_database = excluded.meta_database, origin = excluded.origin",
                   4, p, err);
}

int
catalog_cluster_forget_members(PGconn *meta, const char *what, const char *name, Error *err)
{
    const char *p[1] = {name};
    if (run_one(meta, what, "DELETE FROM strata.nodes WHERE cluster = $1", 1, p, err) != 0)
        return -1;
    return run_one(meta, what, "DELETE FROM strata.shards WHERE cluster = $1", 1, p, err);
}

int
catalog_shard_insert(PGconn *meta, const char *what, const char *cluster, const char *name, const char *ordinal,
                     Error *err)
{
    const char *p[3] = {cluster, name, ordinal};
    return run_one(meta, what, "INSERT INTO strata.shards (cluster, name, ordinal) VALUES ($1, $2, $3::int)", 3, p,
                   err);
}

int
catalog_node_insert(PGconn *meta, const char *what, const CatalogNodeRow *n, Error *err)
{
    const char *p[8] = {n->cluster, n->shard, n->name, n->host, n->port, n->role, n->data_dir, n->ordinal};
    return run_one(meta, what,
                   "INSERT INTO strata.nodes (cluster, shard, name, host, port, role, data_dir, ordinal) "
                   "VALUES ($1, $2, $3, $4, $5::int, $6, $7, $8::int)",
                   8, p, err);
}

int
catalog_cluster_forget(PGconn *meta, const char *what, const char *name, Error *err)
{
    if (catalog_cluster_forget_members(meta, what, name, err) != 0)
        return -1;
    const char *p[1] = {name};
    return run_one(meta, what, "DELETE FROM strata.clusters WHERE name = $1", 1, p, err);
}

int
catalog_workload_rename(PGconn *meta, const char *what, const char *from, const char *to, Error *err)
{
    const char *p[2] = {from, to};
    PGresult *r = pg_exec(meta, what, "UPDATE strata.workload SET cluster = $2 WHERE cluster = $1", 2, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}
