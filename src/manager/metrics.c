/* GET /metrics: the Prometheus text exposition format (version 0.0.4).
 * Computed on each scrape from the catalog, the pool and the primaries'
 * pg_stat_archiver: nothing to keep in sync, and a scrape every 15 s or so
 * costs a few small queries and pool listings per cluster. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "cluster/topology.h"
#include "catalog/clusters.h"
#include "catalog/jobs.h"
#include "common/log.h"
#include "common/util.h"
#include "consistency/cp_store.h"
#include "manager/manager.h"

/* The unarchived WAL behind the primary's insert position: from the end of
 * the last archived segment (its name gives its position) to
 * pg_current_wal_lsn(). NULL when nothing was archived yet. */
static const char archiver_sql[] =
    "SELECT CASE WHEN last_archived_wal ~ '^[0-9A-F]{24}$' THEN greatest(0, pg_wal_lsn_diff(pg_current_wal_lsn(), "
    "'0/0'::pg_lsn + (('x' || substr(last_archived_wal, 9, 8))::bit(32)::bigint * 4294967296::numeric "
    "+ (('x' || substr(last_archived_wal, 17, 8))::bit(32)::bigint + 1)::numeric "
    "* pg_size_bytes(current_setting('wal_segment_size'))))) END, failed_count FROM pg_stat_archiver";

/* Connections to a primary that does not answer give up quickly: a scrape
 * must not hang on a dead node (its metric is simply absent). */
#define ARCHIVER_CONNECT_TIMEOUT "2"

static void
archive_lag(Buffer *lag, Buffer *failed, const char *cluster, const ReplicaSet *set)
{
    const TopoNode *p = topology_primary(set);
    if (!p)
        return;
    char *ci = topology_conninfo(p, "postgres");
    char *full = xprintf("%s connect_timeout=" ARCHIVER_CONNECT_TIMEOUT " application_name=strata-manager", ci);
    PGconn *c = PQconnectdb(full);
    if (PQstatus(c) == CONNECTION_OK)
    {
        PGresult *r = PQexec(c, archiver_sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        {
            if (!PQgetisnull(r, 0, 0))
                buffer_appendf(lag, "strata_wal_archive_lag_bytes{cluster=\"%s\",shard=\"%s\"} %s\n", cluster,
                               set->name, PQgetvalue(r, 0, 0));
            buffer_appendf(failed, "strata_wal_archive_failed_total{cluster=\"%s\",shard=\"%s\"} %s\n", cluster,
                           set->name, PQgetvalue(r, 0, 1));
        }
        PQclear(r);
    }
    PQfinish(c);
    free(full);
    free(ci);
}

static double
end_epoch(json_object *backup)
{
    json_object *cp, *v;
    if (json_object_object_get_ex(backup, "end_cp", &cp) && json_object_object_get_ex(cp, "epoch", &v))
        return json_object_get_double(v);
    return 0;
}

/* Age of the latest backup of the whole cluster and of each replica set
 * (a shard backup counts for its shard). */
static void
backup_ages(Manager *m, Buffer *out, const char *cluster, double now)
{
    json_object **list;
    size_t n;
    Error err;
    if (cluster_backups_list(m->pool, cluster, &list, &n, &err) != 0)
    {
        log_warn("metrics: %s", err.msg);
        return;
    }
    double whole = 0;
    json_object *sets = json_object_new_object();   /* set -> latest end */
    for (size_t i = 0; i < n; i++)
    {
        double end = end_epoch(list[i]);
        json_object *v, *nodes;
        if (json_object_object_get_ex(list[i], "scope", &v) && !strcmp(json_object_get_string(v), "cluster") && end > whole)
            whole = end;
        if (json_object_object_get_ex(list[i], "nodes", &nodes))
            for (size_t k = 0; k < json_object_array_length(nodes); k++)
                if (json_object_object_get_ex(json_object_array_get_idx(nodes, k), "set", &v))
                {
                    json_object *prev;
                    if (!json_object_object_get_ex(sets, json_object_get_string(v), &prev) ||
                        json_object_get_double(prev) < end)
                        json_object_object_add(sets, json_object_get_string(v), json_object_new_double(end));
                }
        json_object_put(list[i]);
    }
    free(list);
    if (whole > 0)
        buffer_appendf(out, "strata_last_backup_age_seconds{cluster=\"%s\"} %.3f\n", cluster, now - whole);
    json_object_object_foreach(sets, set, end)
        buffer_appendf(out, "strata_last_backup_age_seconds{cluster=\"%s\",shard=\"%s\"} %.3f\n", cluster, set,
                       now - json_object_get_double(end));
    json_object_put(sets);
}

char *
metrics_render(Manager *m)
{
    Buffer b = {0}, ages = {0}, pause = {0}, lag = {0}, failed = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double) ts.tv_sec + ts.tv_nsec / 1e9;
    Error err;

    buffer_appendf(&b, "# HELP strata_up 1 when the cluster manager reaches its metadata database.\n"
                       "# TYPE strata_up gauge\n");
    /* The request's own connection (api.c); down: strata_up 0, no more. */
    ApiResponse down = {0};
    PGconn *meta = api_meta_conn(m, &down);
    free(down.body);
    bool up = meta != NULL;
    buffer_appendf(&b, "strata_up %d\n", up ? 1 : 0);

    buffer_appendf(&b, "# HELP strata_jobs Cluster manager jobs by state.\n# TYPE strata_jobs gauge\n");
    json_object *counts = up ? catalog_jobs_count_by_state(meta, &err) : NULL;
    if (counts)
    {
        json_object_object_foreach(counts, state, count)
            buffer_appendf(&b, "strata_jobs{state=\"%s\"} %lld\n", state, (long long) json_object_get_int64(count));
        json_object_put(counts);
    }

    PGresult *r = up ? catalog_cluster_names(meta, &err) : NULL;
    for (int i = 0; r && i < PQntuples(r); i++)
    {
        const char *cluster = PQgetvalue(r, i, 0);
        backup_ages(m, &ages, cluster, now);
        ConsistencyPoint *cps;
        size_t n;
        if (cp_cache_list(&m->cps, m->pool, cluster, &cps, &n, &err) == 0)
        {
            if (n > 0)
                buffer_appendf(&pause, "strata_cp_pause_ms{cluster=\"%s\"} %.3f\n", cluster, cps[n - 1].pause_ms);
            cp_list_free(cps, n);
        }
        Topology t;
        if (topology_load(meta, cluster, &t, &err) == 0)
        {
            archive_lag(&lag, &failed, cluster, &t.meta);
            for (size_t k = 0; k < t.nshards; k++)
                archive_lag(&lag, &failed, cluster, &t.shards[k]);
            topology_free(&t);
        }
    }
    PQclear(r);

    buffer_appendf(&b, "# HELP strata_last_backup_age_seconds Seconds since the end CP of the latest complete backup, "
                       "per cluster (whole-cluster backups) and per replica set.\n"
                       "# TYPE strata_last_backup_age_seconds gauge\n");
    if (ages.len)
        buffer_append(&b, ages.data, ages.len);
    buffer_appendf(&b, "# HELP strata_cp_pause_ms How long the latest consistency point blocked commit decisions.\n"
                       "# TYPE strata_cp_pause_ms gauge\n");
    if (pause.len)
        buffer_append(&b, pause.data, pause.len);
    buffer_appendf(&b, "# HELP strata_wal_archive_lag_bytes WAL written on the primary after the end of the last "
                       "archived segment.\n# TYPE strata_wal_archive_lag_bytes gauge\n");
    if (lag.len)
        buffer_append(&b, lag.data, lag.len);
    buffer_appendf(&b, "# HELP strata_wal_archive_failed_total Failed archive_command runs (pg_stat_archiver).\n"
                       "# TYPE strata_wal_archive_failed_total counter\n");
    if (failed.len)
        buffer_append(&b, failed.data, failed.len);
    buffer_free(&ages);
    buffer_free(&pause);
    buffer_free(&lag);
    buffer_free(&failed);
    return b.data;
}
