/* Jobs of the cluster manager, persisted in strata.jobs so that a restarted
 * manager knows what was running: jobs it finds 'running' at start were
 * interrupted with it and are failed with that reason (none hangs forever);
 * queued jobs are run. One worker thread runs jobs in order, in-process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "catalog/catalog.h"
#include "catalog/jobs.h"
#include "cluster/check_consistency.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "expire/auto_expire.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"

int
job_cancel(JobRunner *jr, PGconn *meta, int64_t id, int *status, json_object **answer, Error *err)
{
    *answer = NULL;
    /* Queued: cancelled here; the row lock orders this against the worker
     * claiming it, so exactly one of the two happens. */
    bool was_queued;
    if (catalog_job_cancel_queued(meta, id, &was_queued, err) != 0)
    {
        *status = 500;
        return -1;
    }
    if (was_queued)
    {
        *status = 200;
        *answer = json_object_new_object();
        json_object_object_add(*answer, "job", json_object_new_int64(id));
        json_object_object_add(*answer, "state", json_object_new_string("cancelled"));
        return 0;
    }
    json_object *job;
    if (catalog_job_get(meta, id, &job, err) != 0)
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
                            "undoes itself only when it fails; an expire is short; a check only reads)", (long long) id, kind);
    else
    {
        /* The worker sets running_id just after claiming the row. */
        for (int i = 0; i < 100 && atomic_load(&jr->running_id) != id; i++)
        {
            sleep_ms(10);
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

/* The retention after a backup job (expire/auto_expire.h): its request's
 * expire_auto, keep or keep_days, else the policy of its scope. A job a
 * policy queued ({"policy": id}) leaves it to that policy's expire job. */
static json_object *
backup_job_expire(const ManagerConfig *cfg, PGconn *c, const char *cluster, json_object *params)
{
    bool by_policy = params && json_object_object_get_ex(params, "policy", NULL);
    BackupRequest req;
    backup_request_init(&req);
    Error perr;
    json_object *report;
    if ((!by_policy && params && backup_request_from_json(params, &req, &perr) != 0) ||
        backup_request_set_flag(&req, "cluster", cluster, &perr) != 0)
    {
        log_warn("retention after the backup of %s not applied: its parameters: %s", cluster, perr.msg);
        report = json_object_new_object();
        json_object_object_add(report, "applied", json_object_new_boolean(false));
        json_object_object_add(report, "error", json_object_new_string(perr.msg));
    }
    else
    {
        if (by_policy && params && json_object_object_get_ex(params, "shard", NULL))
            backup_request_set_flag(&req, "shard", json_object_get_string(json_object_object_get(params, "shard")),
                                    &perr);
        report = auto_expire_after(&req, cfg->pool, cfg->meta_conn, c, by_policy);
    }
    backup_request_free(&req);
    return report;
}

static int
run_backup(const ManagerConfig *cfg, PGconn *c, const char *job_id, const char *cluster, json_object *params,
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
    /* Node backups go to the node managers of the standbys' hosts; only
     * this host's are backed up in-process (DESIGN §2: the manager moves
     * no data bytes of another host). */
    NodeManagerDirectory dir = {.hosts = cfg->node_manager_hosts, .urls = cfg->node_manager_urls,
                                .n = cfg->n_node_managers, .token = cfg->node_token};
    NodeExecutor executor;
    nodemgr_executor_init(&executor, &dir);
    o.executor = &executor;
    json_object *v;
    if (params && json_object_object_get_ex(params, "shard", &v) && json_object_is_type(v, json_type_string))
        o.shard = json_object_get_string(v);
    /* full, incr or diff: the request's (checked by the API) or its policy's */
    if (params && json_object_object_get_ex(params, "type", &v) &&
        backup_type_parse(json_object_get_string(v), &o.type, err) != 0)
        return error_prefix(err, "backup job %s: ", job_id);
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
    json_object_object_add(*result, "expire", backup_job_expire(cfg, c, cluster, params));
    return 0;
}

/* The consistency check of DESIGN §5 (POST .../check) against the
 * cluster's own metadata primary, taken from its topology in the catalog;
 * *result is the report (`strata check-consistency --output json` plus
 * "summary" and "violations"). An inconsistent cluster is a succeeded job
 * whose report says so; the job fails when the check cannot run. */
static int
run_check(PGconn *c, const char *cluster, json_object **result, Error *err)
{
    Topology t;
    if (topology_load(c, cluster, &t, err) != 0)
        return -1;
    char *meta = topology_meta_conninfo(&t, err);
    int rc = meta ? check_consistency_json(meta, cluster, 50, result, err) : -1;
    if (rc != 0)
        error_prefix(err, "consistency check of cluster %s could not run: ", cluster);
    free(meta);
    topology_free(&t);
    return rc;
}

static void
finish_job(PGconn *c, const char *id, const char *state, const char *reason, json_object *result)
{
    Error err;
    if (catalog_job_finish(c, id, state, reason, result, &err) != 0)
        log_error("job %s: %s (%s)", id, err.msg, state);
}

/* Claims and runs the oldest queued job; 1 if there was one. */
static int
run_one(PGconn *c, JobRunner *jr)
{
    const ManagerConfig *cfg = jr->cfg;
    Error claim_err;
    PGresult *r = catalog_job_claim_next(c, &claim_err);
    if (!r || PQntuples(r) == 0)
    {
        if (!r)
            log_error("%s", claim_err.msg);
        PQclear(r);
        return 0;
    }
    const char *id = PQgetvalue(r, 0, 0), *cluster = PQgetvalue(r, 0, 1), *kind = PQgetvalue(r, 0, 2);
    json_object *params = json_tokener_parse(PQgetvalue(r, 0, 3));
    json_object *result = NULL;
    Error err;
    int rc;
    long long job_id = strtoll(id, NULL, 10);
    job_log_begin(job_id);
    log_info("job %s: %s of cluster %s started", id, kind, cluster);
    atomic_store(&jr->cancel, false);
    atomic_store(&jr->running_cancellable, !strcmp(kind, "backup"));
    atomic_store(&jr->running_id, (int64_t) strtoll(id, NULL, 10));
    if (!strcmp(kind, "backup"))
        rc = run_backup(cfg, c, id, cluster, params, &jr->cancel, &result, &err);
    else if (!strcmp(kind, "restore"))
        rc = run_restore(cfg, c, id, cluster, params, &result, &err);
    else if (!strcmp(kind, "expire"))
        rc = run_expire(cfg, cluster, params, &result, &err);
    else if (!strcmp(kind, "check"))
        rc = run_check(c, cluster, &result, &err);
    else
        rc = error_set(&err, "unknown job kind '%s'", kind);
    atomic_store(&jr->running_id, 0);
    bool cancelled = rc != 0 && atomic_load(&jr->cancel);
    if (rc == 0)
        log_info("job %s: %s of cluster %s succeeded", id, kind, cluster);
    else
        log_error("job %s%s: %s", id, cancelled ? " (cancelled)" : "", err.msg);
    job_log_end(c, job_id);
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
    job_progress_start(cfg->meta_conn);
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
    job_progress_stop();
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    r->started = false;
}
