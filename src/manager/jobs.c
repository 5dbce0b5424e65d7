/* Jobs of the cluster manager, persisted in strata.jobs so that a restarted
 * manager knows what was running: jobs it finds 'running' at start were
 * interrupted with it and are failed with that reason (none hangs forever);
 * queued jobs are run. One worker thread runs jobs in order, in-process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "cluster/catalog.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"

static const char jobs_sql[] =
    "SET client_min_messages = warning;\n"
    "CREATE TABLE IF NOT EXISTS strata.jobs (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    cluster text NOT NULL,\n"
    "    kind text NOT NULL,\n"
    "    state text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_state_check\n"
    "        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),\n"
    "    reason text,\n"
    "    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    started_at timestamptz,\n"
    "    finished_at timestamptz,\n"
    "    params jsonb NOT NULL DEFAULT '{}',\n"
    "    result jsonb\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS jobs_state ON strata.jobs (state);\n"
    /* A running job's progress (job_progress_update); added to tables of
     * older versions too. */
    "ALTER TABLE strata.jobs ADD COLUMN IF NOT EXISTS progress jsonb;\n"
    /* 'cancelled' (job_cancel), in tables of older versions too. */
    "DO $$ BEGIN\n"
    "    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'strata.jobs'::regclass\n"
    "                   AND conname = 'jobs_state_check' AND pg_get_constraintdef(oid) LIKE '%cancelled%') THEN\n"
    "        ALTER TABLE strata.jobs DROP CONSTRAINT IF EXISTS jobs_state_check;\n"
    "        ALTER TABLE strata.jobs ADD CONSTRAINT jobs_state_check\n"
    "            CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));\n"
    "    END IF;\n"
    "END $$;\n";

#define JOB_COLUMNS                                                                                  \
    "id, cluster, kind, state, reason, created_at::text, started_at::text, finished_at::text, params::text, " \
    "result::text, progress::text"

static int
pq_fail(PGconn *c, PGresult *r, Error *err, const char *what)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(r);
    return error_set(err, "%s: %s", what, msg);
}

int
jobs_ensure(PGconn *meta, Error *err)
{
    if (catalog_ensure(meta, err) != 0)
        return -1;
    PGresult *r = PQexec(meta, jobs_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pq_fail(meta, r, err, "creating strata.jobs");
    PQclear(r);
    return 0;
}

int
jobs_recover(PGconn *meta, long *n, Error *err)
{
    PGresult *r = PQexec(meta, "UPDATE strata.jobs SET state = 'failed', finished_at = clock_timestamp(), "
                               "reason = 'cluster manager restarted while the job was running' "
                               "WHERE state = 'running'");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return pq_fail(meta, r, err, "failing interrupted jobs");
    *n = atol(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

int
job_create(PGconn *meta, const char *cluster, const char *kind, json_object *params, int64_t *id, Error *err)
{
    const char *p[3] = {cluster, kind, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN)};
    PGresult *r = PQexecParams(meta, "INSERT INTO strata.jobs (cluster, kind, params) VALUES ($1, $2, $3) RETURNING id",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pq_fail(meta, r, err, "recording the job");
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static json_object *
text_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

static json_object *
job_row(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
    json_object_object_add(o, "cluster", text_or_null(r, i, 1));
    json_object_object_add(o, "kind", text_or_null(r, i, 2));
    json_object_object_add(o, "state", text_or_null(r, i, 3));
    json_object_object_add(o, "reason", text_or_null(r, i, 4));
    json_object_object_add(o, "created_at", text_or_null(r, i, 5));
    json_object_object_add(o, "started_at", text_or_null(r, i, 6));
    json_object_object_add(o, "finished_at", text_or_null(r, i, 7));
    json_object_object_add(o, "params", PQgetisnull(r, i, 8) ? NULL : json_tokener_parse(PQgetvalue(r, i, 8)));
    json_object_object_add(o, "result", PQgetisnull(r, i, 9) ? NULL : json_tokener_parse(PQgetvalue(r, i, 9)));
    json_object_object_add(o, "progress", PQgetisnull(r, i, 10) ? NULL : json_tokener_parse(PQgetvalue(r, i, 10)));
    return o;
}

int
job_get(PGconn *meta, int64_t id, json_object **out, Error *err)
{
    char ids[32];
    snprintf(ids, sizeof(ids), "%lld", (long long) id);
    const char *p[1] = {ids};
    PGresult *r = PQexecParams(meta, "SELECT " JOB_COLUMNS " FROM strata.jobs WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    *out = NULL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pq_fail(meta, r, err, "reading the job");
    if (PQntuples(r) == 1)
        *out = job_row(r, 0);
    PQclear(r);
    return 0;
}

json_object *
jobs_list(PGconn *meta, int limit, Error *err)
{
    char lim[32];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[1] = {lim};
    PGresult *r = PQexecParams(meta, "SELECT " JOB_COLUMNS " FROM strata.jobs ORDER BY id DESC LIMIT $1", 1, NULL, p,
                               NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        pq_fail(meta, r, err, "listing jobs");
        return NULL;
    }
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(a, job_row(r, i));
    PQclear(r);
    return a;
}

json_object *
jobs_count_by_state(PGconn *meta, Error *err)
{
    PGresult *r = PQexec(meta, "SELECT s, count(j.id) FROM unnest(ARRAY['queued','running','succeeded','failed']) s "
                               "LEFT JOIN strata.jobs j ON j.state = s GROUP BY s ORDER BY s");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        pq_fail(meta, r, err, "counting jobs");
        return NULL;
    }
    json_object *o = json_object_new_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_object_add(o, PQgetvalue(r, i, 0), json_object_new_int64(strtoll(PQgetvalue(r, i, 1), NULL, 10)));
    PQclear(r);
    return o;
}

/* ---- progress ---- */

/* job_progress_update's own connection (callers may be on any thread, and
 * the worker's connection is busy with the job), opened on first use. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static PGconn *progress_conn;
static char *progress_conninfo;

void
job_progress_update(const char *job_id, json_object *progress)
{
    pthread_mutex_lock(&progress_lock);
    if (progress_conninfo && (!progress_conn || PQstatus(progress_conn) != CONNECTION_OK))
    {
        Error err;
        PQfinish(progress_conn);
        progress_conn = catalog_connect(progress_conninfo, false, &err);
        if (!progress_conn)
            log_warn("job %s: progress not recorded: %s", job_id, err.msg);
    }
    if (progress_conn)
    {
        const char *p[2] = {job_id, json_object_to_json_string_ext(progress, JSON_C_TO_STRING_PLAIN)};
        PGresult *r = PQexecParams(progress_conn, "UPDATE strata.jobs SET progress = $2::jsonb WHERE id = $1", 2, NULL,
                                   p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            log_warn("job %s: recording its progress: %s", job_id, PQerrorMessage(progress_conn));
        PQclear(r);
    }
    pthread_mutex_unlock(&progress_lock);
}

int
job_cancel(JobRunner *jr, PGconn *meta, int64_t id, int *status, json_object **answer, Error *err)
{
    *answer = NULL;
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "%lld", (long long) id);
    const char *p[1] = {idtext};
    /* Queued: cancelled here; the row lock orders this against the worker
     * claiming it, so exactly one of the two happens. */
    PGresult *r = PQexecParams(meta, "UPDATE strata.jobs SET state = 'cancelled', finished_at = clock_timestamp(), "
                                     "reason = 'cancelled before it started' WHERE id = $1 AND state = 'queued' "
                                     "RETURNING id", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        *status = 500;
        return pq_fail(meta, r, err, "cancelling a queued job");
    }
    bool was_queued = PQntuples(r) == 1;
    PQclear(r);
    if (was_queued)
    {
        *status = 200;
        *answer = json_object_new_object();
        json_object_object_add(*answer, "job", json_object_new_int64(id));
        json_object_object_add(*answer, "state", json_object_new_string("cancelled"));
        return 0;
    }
    json_object *job;
    if (job_get(meta, id, &job, err) != 0)
    {
        *status = 500;
        return -1;
    }
    if (!job)
    {
        *status = 404;
        return error_set(err, "no job %lld", (long long) id);
    }
    const char *state = json_object_get_string(json_object_object_get(job, "state"));
    const char *kind = json_object_get_string(json_object_object_get(job, "kind"));
    int rc = 0;
    *status = 409;
    if (strcmp(state, "running") != 0)
        rc = error_set(err, "job %lld already ended (%s)", (long long) id, state);
    else if (strcmp(kind, "backup") != 0)
        rc = error_set(err, "job %lld is a running %s: only backup jobs can be cancelled while they run (a restore "
                            "undoes itself only when it fails; an expire is short)", (long long) id, kind);
    else
    {
        /* The worker sets running_id just after claiming the row. */
        for (int i = 0; i < 100 && atomic_load(&jr->running_id) != id; i++)
        {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&jr->running_id) != id || !atomic_load(&jr->running_cancellable))
            rc = error_set(err, "job %lld is running but not in this cluster manager's worker (another manager on "
                                "the same catalog?)", (long long) id);
        else
        {
            atomic_store(&jr->cancel, true);
            log_info("job %lld: cancel requested", (long long) id);
            *status = 202;
            *answer = json_object_new_object();
            json_object_object_add(*answer, "job", json_object_new_int64(id));
            json_object_object_add(*answer, "state", json_object_new_string("running"));
            json_object_object_add(*answer, "cancelling", json_object_new_boolean(true));
        }
    }
    json_object_put(job);
    return rc;
}

/* ---- the worker ---- */

static void
backup_progress(void *arg, json_object *progress)
{
    job_progress_update(arg, progress);
}

static int
run_backup(const ManagerConfig *cfg, const char *job_id, const char *cluster, json_object *params,
           const atomic_bool *cancel, json_object **result, Error *err)
{
    BackupOptions o;
    backup_options_defaults(&o);
    o.cancel = cancel;
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.cluster = cluster;
    o.meta_conn = cfg->meta_conn;
    o.on_cluster_progress = backup_progress;
    o.cluster_progress_arg = (void *) job_id;
    /* Node backups go to the node managers of the standbys' hosts. */
    NodeManagerDirectory dir = {.hosts = cfg->node_manager_hosts, .urls = cfg->node_manager_urls,
                                .n = cfg->n_node_managers, .token = cfg->node_token};
    NodeExecutor executor;
    if (cfg->n_node_managers > 0)
    {
        nodemgr_executor_init(&executor, &dir);
        o.executor = &executor;
    }
    json_object *v;
    if (params && json_object_object_get_ex(params, "shard", &v) && json_object_is_type(v, json_type_string))
        o.shard = json_object_get_string(v);
    json_object *m;
    if (cluster_backup(&o, &m, err) != 0)
        return -1;
    json_object *v2, *cp;
    *result = json_object_new_object();
    if (json_object_object_get_ex(m, "id", &v2))
        json_object_object_add(*result, "backup", json_object_get(v2));
    if (json_object_object_get_ex(m, "end_cp", &cp) && json_object_object_get_ex(cp, "name", &v2))
        json_object_object_add(*result, "end_cp", json_object_get(v2));
    json_object_put(m);
    return 0;
}

static void
finish_job(PGconn *c, const char *id, const char *state, const char *reason, json_object *result)
{
    const char *p[4] = {id, state, reason,
                        result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : NULL};
    PGresult *r = PQexecParams(c, "UPDATE strata.jobs SET state = $2, reason = $3, result = $4::jsonb, "
                                  "finished_at = clock_timestamp() WHERE id = $1", 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        log_error("job %s: recording its end (%s): %s", id, p[1], PQerrorMessage(c));
    PQclear(r);
}

/* Claims and runs the oldest queued job; 1 if there was one. */
static int
run_one(PGconn *c, JobRunner *jr)
{
    const ManagerConfig *cfg = jr->cfg;
    PGresult *r = PQexec(c, "UPDATE strata.jobs SET state = 'running', started_at = clock_timestamp() WHERE id = "
                            "(SELECT id FROM strata.jobs WHERE state = 'queued' ORDER BY id LIMIT 1 "
                            "FOR UPDATE SKIP LOCKED) RETURNING id, cluster, kind, params::text");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
    {
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            log_error("taking a queued job: %s", PQerrorMessage(c));
        PQclear(r);
        return 0;
    }
    const char *id = PQgetvalue(r, 0, 0), *cluster = PQgetvalue(r, 0, 1), *kind = PQgetvalue(r, 0, 2);
    json_object *params = json_tokener_parse(PQgetvalue(r, 0, 3));
    json_object *result = NULL;
    Error err;
    int rc;
    log_info("job %s: %s of cluster %s started", id, kind, cluster);
    atomic_store(&jr->cancel, false);
    atomic_store(&jr->running_cancellable, !strcmp(kind, "backup"));
    atomic_store(&jr->running_id, (int64_t) strtoll(id, NULL, 10));
    if (!strcmp(kind, "backup"))
        rc = run_backup(cfg, id, cluster, params, &jr->cancel, &result, &err);
    else if (!strcmp(kind, "restore"))
        rc = run_restore(cfg, c, id, cluster, params, &result, &err);
    else if (!strcmp(kind, "expire"))
        rc = run_expire(cfg, cluster, params, &result, &err);
    else
        rc = error_set(&err, "unknown job kind '%s'", kind);
    atomic_store(&jr->running_id, 0);
    bool cancelled = rc != 0 && atomic_load(&jr->cancel);
    if (rc == 0)
        log_info("job %s: %s of cluster %s succeeded", id, kind, cluster);
    else
        log_error("job %s%s: %s", id, cancelled ? " (cancelled)" : "", err.msg);
    finish_job(c, id, rc == 0 ? "succeeded" : cancelled ? "cancelled" : "failed", rc == 0 ? NULL : err.msg, result);
    json_object_put(result);
    json_object_put(params);
    PQclear(r);
    return 1;
}

static void *
worker_main(void *arg)
{
    JobRunner *jr = arg;
    PGconn *c = NULL;
    for (;;)
    {
        pthread_mutex_lock(&jr->mu);
        if (!jr->wake && !jr->stop)
        {
            /* Woken by a new job; the timeout also picks up jobs queued by
             * another process and retries after a lost connection. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 2;
            pthread_cond_timedwait(&jr->cv, &jr->mu, &ts);
        }
        bool stop = jr->stop;
        jr->wake = false;
        pthread_mutex_unlock(&jr->mu);
        if (stop)
            break;
        if (!c || PQstatus(c) != CONNECTION_OK)
        {
            Error err;
            PQfinish(c);
            c = catalog_connect(jr->cfg->meta_conn, false, &err);
            if (!c)
            {
                log_error("job worker: %s", err.msg);
                continue;
            }
        }
        /* Drain the queue, but stop between jobs when asked to. */
        while (run_one(c, jr))
        {
            pthread_mutex_lock(&jr->mu);
            stop = jr->stop;
            pthread_mutex_unlock(&jr->mu);
            if (stop)
                break;
        }
    }
    PQfinish(c);
    return NULL;
}

int
jobs_start(JobRunner *r, const ManagerConfig *cfg, Error *err)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->wake = true;   /* jobs queued before a restart run at once */
    pthread_mutex_lock(&progress_lock);
    free(progress_conninfo);
    progress_conninfo = xstrdup(cfg->meta_conn);
    pthread_mutex_unlock(&progress_lock);
    if (pthread_create(&r->thread, NULL, worker_main, r) != 0)
    {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        return error_set(err, "starting the job worker thread failed");
    }
    r->started = true;
    return 0;
}

void
jobs_wake(JobRunner *r)
{
    pthread_mutex_lock(&r->mu);
    r->wake = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void
jobs_stop(JobRunner *r)
{
    if (!r->started)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_lock(&progress_lock);
    PQfinish(progress_conn);
    progress_conn = NULL;
    free(progress_conninfo);
    progress_conninfo = NULL;
    pthread_mutex_unlock(&progress_lock);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    r->started = false;
}
