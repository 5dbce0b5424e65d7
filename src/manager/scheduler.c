/* The cluster manager's scheduler: one thread that, about once a second,
 *   - queues a backup job for every enabled policy that is due (period or
 *     daily window), recording last_run_at in the same transaction so a
 *     restarted manager does not run it twice, and never while a job of
 *     the same policy is still queued or running;
 *   - queues an "expire" job (the policy's retention) after each backup
 *     job of the policy that succeeded;
 *   - takes consistency points on the configured period (cp_every_seconds),
 *     as POST /api/v1/clusters/{c}/cps does; a failed CP is logged and the
 *     schedule goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/clusters.h"
#include "catalog/jobs.h"
#include "catalog/policies.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "consistency/cp_store.h"
#include "manager/manager.h"

#define SCHED_TICK_SECONDS 1
#define SCHED_CP_TIMEOUT_MS 2000
#define CP_EVERY_MAX 86400

/* ---- configuration: "cp_every_seconds": N | {"cluster": N, "*": N} ---- */

static int
cp_every_value(json_object *v, const char *path, const char *what, int *out, Error *err)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_int64(v) > CP_EVERY_MAX)
        return error_set(err, "%s: \"cp_every_seconds\"%s must be a whole number of seconds, 0 (none) to %d", path,
                         what, CP_EVERY_MAX);
    *out = (int) json_object_get_int64(v);
    return 0;
}

int
scheduler_config_load(json_object *conf, const char *path, ManagerConfig *c, Error *err)
{
    json_object *v;
    if (!json_object_object_get_ex(conf, "cp_every_seconds", &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return cp_every_value(v, path, "", &c->cp_every_default, err);
    json_object_object_foreach(v, key, val)
    {
        char *what = xprintf(" for \"%s\"", key);
        int secs = 0, rc = cp_every_value(val, path, what, &secs, err);
        free(what);
        if (rc != 0)
            return -1;
        if (!strcmp(key, "*"))
        {
            c->cp_every_default = secs;
            continue;
        }
        if (topology_name_check("cluster name", key, err) != 0)
            return error_prefix(err, "%s: \"cp_every_seconds\": ", path);
        c->cp_every_cluster = xrealloc(c->cp_every_cluster, (c->ncp_every + 1) * sizeof(char *));
        c->cp_every_value = xrealloc(c->cp_every_value, (c->ncp_every + 1) * sizeof(int));
        c->cp_every_cluster[c->ncp_every] = xstrdup(key);
        c->cp_every_value[c->ncp_every++] = secs;
    }
    return 0;
}

void
scheduler_config_free(ManagerConfig *c)
{
    for (size_t i = 0; i < c->ncp_every; i++)
        free(c->cp_every_cluster[i]);
    free(c->cp_every_cluster);
    free(c->cp_every_value);
    c->cp_every_cluster = NULL;
    c->cp_every_value = NULL;
    c->ncp_every = 0;
}

static int
cp_period_of(const ManagerConfig *c, const char *cluster)
{
    for (size_t i = 0; i < c->ncp_every; i++)
        if (!strcmp(c->cp_every_cluster[i], cluster))
            return c->cp_every_value[i];
    return c->cp_every_default;
}

/* ---- policies ---- */

static bool
sql_ok(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (PQresultStatus(r) == want)
        return true;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    log_error("scheduler: %s: %s", what, msg);
    return false;
}

static void
exec_simple(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    PQclear(r);
}

static bool
insert_job(PGconn *c, const char *cluster, const char *kind, json_object *params, char out_id[32])
{
    int64_t id;
    Error err;
    if (catalog_job_insert(c, cluster, kind, params, &id, &err) != 0)
    {
        log_error("scheduler: queueing a job: %s", err.msg);
        return false;
    }
    snprintf(out_id, 32, "%lld", (long long) id);
    return true;
}

/* The expire request (request/expire_request.h) of a policy's row: its
 * shard, and keep_last (as the request's keep) or keep_days. */
static json_object *
policy_expire_request(PGresult *r, bool has_shard)
{
    json_object *req = json_object_new_object();
    if (has_shard)
        json_object_object_add(req, "shard", json_object_new_string(PQgetvalue(r, 0, 1)));
    if (!PQgetisnull(r, 0, 4))
        json_object_object_add(req, "keep", json_object_new_int(atoi(PQgetvalue(r, 0, 4))));
    else
        json_object_object_add(req, "keep_days", json_object_new_int(atoi(PQgetvalue(r, 0, 5))));
    return req;
}

/* One policy, in one transaction (the row locked): queue its expire job
 * if a backup of it succeeded since the last one, else its backup if due.
 * true if a job was queued. */
static bool
policy_tick(PGconn *c, const char *policy_id)
{
    exec_simple(c, "BEGIN");
    Error err;
    PGresult *r = catalog_policy_lock_for_tick(c, policy_id, &err);
    bool queued = false;
    if (!r)
        log_error("scheduler: %s", err.msg);
    if (!r || PQntuples(r) == 0 || !strcmp(PQgetvalue(r, 0, 9), "t"))
    {
        PQclear(r);
        exec_simple(c, "ROLLBACK");
        return false;
    }
    const char *cluster = PQgetvalue(r, 0, 0);
    bool has_shard = !PQgetisnull(r, 0, 1);
    json_object *params = json_object_new_object();
    json_object_object_add(params, "policy", json_object_new_int64(atoll(policy_id)));
    if (has_shard)
        json_object_object_add(params, "shard", json_object_new_string(PQgetvalue(r, 0, 1)));
    bool retention = !PQgetisnull(r, 0, 4) || !PQgetisnull(r, 0, 5);
    char job[32] = "";
    const char *kind = NULL;
    if (retention && !PQgetisnull(r, 0, 10))
    {
        json_object_object_add(params, "after_job", json_object_new_int64(atoll(PQgetvalue(r, 0, 10))));
        json_object_object_add(params, "request", policy_expire_request(r, has_shard));
        kind = "expire";
        queued = insert_job(c, cluster, kind, params, job);
    }
    else if (!strcmp(PQgetvalue(r, 0, 11), "t"))
    {
        int64_t period = PQgetisnull(r, 0, 2) ? 0 : atoll(PQgetvalue(r, 0, 2));
        const char *window = PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3);
        bool ran = !strcmp(PQgetvalue(r, 0, 6), "t");
        double last = atof(PQgetvalue(r, 0, 7));
        time_t now = (time_t) atof(PQgetvalue(r, 0, 8));
        if (policy_due(period, window, ran, last, now))
        {
            kind = "backup";
            json_object_object_add(params, "type", json_object_new_string(PQgetvalue(r, 0, 12)));
            queued = insert_job(c, cluster, kind, params, job);
            if (queued)
            {
                queued = catalog_policy_mark_run(c, policy_id, &err) == 0;
                if (!queued)
                    log_error("scheduler: %s", err.msg);
            }
        }
    }
    if (queued)
    {
        PGresult *cr = PQexec(c, "COMMIT");
        queued = sql_ok(c, cr, PGRES_COMMAND_OK, "queueing a policy's job");
        PQclear(cr);
        if (queued)
            log_info("policy %s of cluster %s: %s job %s queued", policy_id, cluster, kind, job);
    }
    else
        exec_simple(c, "ROLLBACK");
    json_object_put(params);
    PQclear(r);
    return queued;
}

static bool
run_policies(PGconn *c)
{
    /* Disabled ones too: the retention of their finished backups applies. */
    Error err;
    PGresult *r = catalog_policy_ids(c, &err);
    if (!r)
    {
        log_error("scheduler: %s", err.msg);
        return false;
    }
    bool queued = false;
    for (int i = 0; i < PQntuples(r); i++)
        queued = policy_tick(c, PQgetvalue(r, i, 0)) || queued;
    PQclear(r);
    return queued;
}

/* ---- the CP schedule ---- */

typedef struct CpClock
{
    char *cluster;
    double last;      /* monotonic seconds of the last attempt */
    bool failing;     /* the last attempt failed: log the recovery */
} CpClock;

static int
take_cp(PGconn *c, Pool *pool, const char *cluster, Error *err)
{
    Topology t;
    if (topology_load(c, cluster, &t, err) != 0)
        return -1;
    CpMember *members;
    size_t n;
    ConsistencyPoint cp = {0};
    int rc = cp_members_from_topology(&t, &members, &n, err);
    if (rc == 0)
    {
        char name[CP_NAME_MAX + 1];
        cp_default_name(t.name, name);
        rc = cp_create(t.name, name, members, n, SCHED_CP_TIMEOUT_MS, &cp, err);
        cp_members_free(members, n);
    }
    if (rc == 0)
        rc = cp_save_catalog(c, &cp, err);
    if (rc == 0)
        rc = cp_save_pool(pool, &cp, err);
    cp_free(&cp);
    topology_free(&t);
    return rc;
}

static void
run_cp_schedule(Scheduler *s, PGconn *c, Pool *pool, CpClock **clocks, size_t *nclocks)
{
    if (s->cfg->cp_every_default <= 0 && s->cfg->ncp_every == 0)
        return;
    Error list_err;
    PGresult *r = catalog_cluster_names(c, &list_err);
    if (!r)
    {
        log_error("scheduler: %s for the CP schedule", list_err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++)
    {
        const char *cluster = PQgetvalue(r, i, 0);
        int period = cp_period_of(s->cfg, cluster);
        if (period <= 0)
            continue;
        CpClock *k = NULL;
        for (size_t j = 0; j < *nclocks && !k; j++)
            if (!strcmp((*clocks)[j].cluster, cluster))
                k = &(*clocks)[j];
        if (!k)
        {
            *clocks = xrealloc(*clocks, (*nclocks + 1) * sizeof(CpClock));
            k = &(*clocks)[(*nclocks)++];
            k->cluster = xstrdup(cluster);
            k->last = -1e9;
            k->failing = false;
        }
        double now = now_seconds();
        if (now - k->last < period)
            continue;
        /* The next one is due a period after this attempt, failed or not:
         * a cluster that does not answer is retried, not hammered. */
        k->last = now;
        Error err;
        if (take_cp(c, pool, cluster, &err) != 0)
        {
            pthread_mutex_lock(&s->mu);
            s->cp_failed++;
            pthread_mutex_unlock(&s->mu);
            log_warn("CP schedule: cluster %s: %s (retried in %d s)", cluster, err.msg, period);
            k->failing = true;
        }
        else
        {
            pthread_mutex_lock(&s->mu);
            s->cp_taken++;
            pthread_mutex_unlock(&s->mu);
            if (k->failing)
                log_info("CP schedule: cluster %s: consistency points are taken again", cluster);
            k->failing = false;
        }
    }
    PQclear(r);
}

/* ---- the thread ---- */

static void *
scheduler_main(void *arg)
{
    Scheduler *s = arg;
    PGconn *c = NULL;
    Pool *pool = NULL;
    log_set_tag("scheduler");
    CpClock *clocks = NULL;
    size_t nclocks = 0;
    bool unreachable = false;
    for (;;)
    {
        pthread_mutex_lock(&s->mu);
        if (!s->stop)
        {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += SCHED_TICK_SECONDS;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        Error err;
        if (!c || PQstatus(c) != CONNECTION_OK)
        {
            PQfinish(c);
            c = catalog_connect(s->cfg->meta_conn, false, &err);
            if (!c)
            {
                if (!unreachable)
                    log_error("scheduler: %s (retrying every %d s)", err.msg, SCHED_TICK_SECONDS);
                unreachable = true;
                continue;
            }
            if (unreachable)
                log_info("scheduler: the metadata database answers again");
            unreachable = false;
        }
        if (!pool && pool_open(s->cfg->pool, &pool, &err) != 0)
        {
            log_error("scheduler: %s", err.msg);
            continue;
        }
        if (run_policies(c))
            jobs_wake(s->jobs);
        run_cp_schedule(s, c, pool, &clocks, &nclocks);
    }
    for (size_t i = 0; i < nclocks; i++)
        free(clocks[i].cluster);
    free(clocks);
    pool_close(pool);
    PQfinish(c);
    return NULL;
}

int
scheduler_start(Scheduler *s, const ManagerConfig *cfg, JobRunner *jobs, Error *err)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->jobs = jobs;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0)
    {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        return error_set(err, "starting the scheduler thread failed");
    }
    s->started = true;
    if (cfg->cp_every_default > 0 || cfg->ncp_every > 0)
        log_info("CP schedule: every %d s%s", cfg->cp_every_default,
                 cfg->ncp_every ? " (and per cluster as configured)" : "");
    return 0;
}

void
scheduler_stop(Scheduler *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    s->started = false;
}
