/* The API's endpoints that queue jobs (docs/manager.md): a backup, a
 * restore, a consistency check, each checked as far as it can be before
 * it runs and then answered 202 with the job; and the jobs' own
 * endpoints (list, one job, cancel). The jobs run in jobs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/clusters.h"
#include "catalog/jobs.h"
#include "cluster/topology.h"
#include "common/util.h"
#include "consistency/cp_choose.h"
#include "manager/api_handlers.h"
#include "manager/manager.h"
#include "request/backup_request.h"
#include "request/restore_request.h"
#include "restore/target.h"

#define JOBS_LIST_MAX 200

/* A job of `kind` for cluster `name` queued with params: 202 with the
 * job's id, state and URL (and "cp" when given), or a 500. */
static void
queue_job(Manager *m, PGconn *c, const char *name, const char *kind, json_object *params, const char *cp,
          ApiResponse *out)
{
    int64_t id;
    Error err;
    if (catalog_job_insert(c, name, kind, params, &id, &err) != 0)
    {
        http_error(out, 500, "%s", err.msg);
        return;
    }
    jobs_wake(&m->jobs);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "job", json_object_new_int64(id));
    json_object_object_add(o, "state", json_object_new_string("queued"));
    char *url = xprintf("/api/v1/jobs/%lld", (long long) id);
    json_object_object_add(o, "url", json_object_new_string(url));
    free(url);
    if (cp)
        json_object_object_add(o, "cp", json_object_new_string(cp));
    http_reply(out, 202, o);
}

void
api_post_backup(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    /* The body is a backup request (request/backup_request.h), the codec
     * `strata backup` uses; no body: the whole cluster. */
    BackupRequest req;
    backup_request_init(&req);
    Error perr;
    json_object *v;
    int rc = 0;
    if (body && json_object_is_type(body, json_type_object) && json_object_object_get_ex(body, "cluster", &v) &&
        (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), name)))
        rc = error_set(&perr, "\"cluster\" in the body must be the cluster of the path, %s", name);
    if (rc == 0 && ((body && backup_request_from_json(body, &req, &perr) != 0) ||
                    backup_request_set_flag(&req, "cluster", name, &perr) != 0 ||
                    backup_request_validate(&req, BACKUP_AT_MANAGER, &perr) != 0))
        rc = -1;
    if (rc != 0)
    {
        http_error(out, 400, "%s", perr.msg);
        backup_request_free(&req);
        return;
    }
    const char *shard = req.shard;
    if (shard)
    {
        Topology t;
        if (api_load_topology(m, name, &t, out) != 0)
        {
            backup_request_free(&req);
            return;
        }
        bool known = topology_shard(&t, shard) != NULL;
        topology_free(&t);
        if (!known)
        {
            http_error(out, 404, "cluster %s has no shard %s", name, shard);
            backup_request_free(&req);
            return;
        }
    }
    json_object *params = backup_request_to_json(&req);
    backup_request_free(&req);
    PGconn *c = api_meta_conn(m, out);
    if (c)   /* else 503 set */
        queue_job(m, c, name, "backup", params, NULL, out);
    json_object_put(params);
}

/* The body of POST .../restores as a restore request (req, initialised
 * here; the caller frees it), and what the manager's configuration must
 * give it: a directory and ports, unless it is placed on hosts. -1 with a
 * 400 in *out. */
static int
restore_request_accepted(Manager *m, const char *name, json_object *body, RestoreRequest *req, ApiResponse *out)
{
    restore_request_init(req);
    Error err;
    json_object *v;
    if (json_object_is_type(body, json_type_object) && json_object_object_get_ex(body, "cluster", &v) &&
        (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), name)))
    {
        http_error(out, 400, "\"cluster\" in the body must be the cluster of the path, %s", name);
        return -1;
    }
    if (restore_request_from_json(body, req, &err) != 0 || restore_request_set_flag(req, "cluster", name, &err) != 0 ||
        restore_request_validate(req, RESTORE_AT_MANAGER, &err) != 0)
    {
        http_error(out, 400, "%s", err.msg);
        return -1;
    }
    /* Placed on hosts (job_restore.c): no directory or ports of this host. */
    bool placed = req->placement || req->hosts || (!req->dir && !req->base_port && m->cfg.resources.n > 0);
    if (!placed && !req->dir && !m->cfg.restore_root)
    {
        http_error(out, 400, "\"dir\" is required: the manager has no \"restore_root\" configured");
        return -1;
    }
    if (!placed && !req->base_port && !m->cfg.restore_port_from)
    {
        http_error(out, 400, "\"base_port\" is required: the manager has no \"restore_ports\" configured");
        return -1;
    }
    return 0;
}

/* The name is free: no cluster has it and no queued or running restore
 * will give it. Otherwise false with a 409 (500) in *out. */
static bool
new_name_free(PGconn *c, const char *to, ApiResponse *out)
{
    bool name_free = false, taken;
    char *restoring = NULL;
    Error name_err;
    if (catalog_new_cluster_name_state(c, to, &taken, &restoring, &name_err) != 0)
        http_error(out, 500, "%s", name_err.msg);
    else if (taken)
        http_error(out, 409, "cluster %s is already registered: choose a new name", to);
    else if (restoring)
        http_error(out, 409, "restore job %s already restores into %s", restoring, to);
    else
        name_free = true;
    free(restoring);
    return name_free;
}

/* The restore queued if the pool can serve it: the same choice
 * cluster_restore makes, a CP and a cluster backup ending at or before
 * it (gtxid and shard restores: their CP and backup are chosen by the job,
 * which reads the commit log). */
static void
queue_restore(Manager *m, PGconn *c, const char *name, const RestoreRequest *req, const Target *target,
              ApiResponse *out)
{
    const char *cp = req->target_kind == RESTORE_TARGET_CP ? req->target_value : NULL;
    const char *time_text = req->target_kind == RESTORE_TARGET_TIME ? req->target_value : NULL;
    bool plan_here = req->target_kind != RESTORE_TARGET_GTXID && !req->shard;
    PoolView pv;
    if (pool_view(m, name, &pv, out) != 0)
        return;
    const ConsistencyPoint *chosen = cp ? cp_named(pv.cps, pv.ncps, cp)
                                     : time_text ? cp_at_or_before(pv.cps, pv.ncps, target->time)
                                                 : cp_latest(pv.cps, pv.ncps);
    bool backup = pool_view_backup_for(&pv, chosen) != NULL;
    char *window = pool_view_window_text(&pv);
    if (cp && !chosen)
        http_error(out, 404, "cluster %s has no consistency point %s in the pool (GET .../cps)", name, cp);
    else if (plan_here && (!chosen || !backup))
        http_error(out, 422, "%s%s is outside the recoverable window of cluster %s, which is %s",
                  cp ? "consistency point " : time_text ? "time " : "the latest consistency point",
                  cp ? cp : time_text ? time_text : "", name, window);
    else
    {
        json_object *params = restore_request_to_json(req);
        queue_job(m, c, name, "restore", params, plan_here ? chosen->name : NULL, out);
        json_object_put(params);
    }
    free(window);
    pool_view_free(&pv);
}

/* A restore job: the body is a restore request (request/restore_request.h:
 * {"to": NEW, at most one of "cp" | "time" | "gtxid" | "latest": true,
 * "shard"?, "base_port"?, "dir"?}), parsed and validated by the codec the
 * CLI uses. Everything that can be known before the restore is checked
 * here, so that a job is queued only when it can run. */
void
api_post_restore(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    RestoreRequest req;
    if (restore_request_accepted(m, name, body, &req, out) != 0)
    {
        restore_request_free(&req);
        return;
    }
    Error err;
    Target target = {0};
    const char *time_text = req.target_kind == RESTORE_TARGET_TIME ? req.target_value : NULL;
    PGconn *c = NULL;
    if (time_text && target_parse_time(time_text, &target, &err) != 0)
        http_error(out, 400, "malformed time: %s", err.msg);
    else if ((c = api_meta_conn(m, out)) && new_name_free(c, req.to, out))
        queue_restore(m, c, name, &req, &target, out);
    target_free(&target);
    restore_request_free(&req);
}

/* The consistency check (DESIGN §5) of the cluster, as a job (it reads
 * every shard: seconds on a small cluster, far longer on a large one): 202
 * with the job; its result is the report (run_check, jobs.c). */
void
api_post_check(Manager *m, const char *name, ApiResponse *out)
{
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    json_object *params = json_object_new_object();
    queue_job(m, c, name, "check", params, NULL, out);
    json_object_put(params);
}

void
api_get_jobs(Manager *m, ApiResponse *out)
{
    Error err;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    json_object *a = catalog_jobs_list(c, JOBS_LIST_MAX, &err);
    if (!a)
    {
        http_error(out, 500, "%s", err.msg);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jobs", a);
    http_reply(out, 200, o);
}

bool
api_job_id_arg(const char *id_text, long *id, ApiResponse *out)
{
    Error err;
    if (parse_int_range(id_text, 1, 999999999999L, id, &err) == 0)
        return true;
    http_error(out, 400, "job id '%s': %s", id_text, err.msg);
    return false;
}

/* The metadata connection for a request about job {id}: NULL with a 400
 * (malformed id) or 503 in *out. */
static PGconn *
job_request_conn(Manager *m, const char *id_text, long *id, ApiResponse *out)
{
    return api_job_id_arg(id_text, id, out) ? api_meta_conn(m, out) : NULL;
}

void
api_get_job(Manager *m, const char *id_text, ApiResponse *out)
{
    long id;
    Error err;
    PGconn *c = job_request_conn(m, id_text, &id, out);
    if (!c)
        return;
    json_object *o;
    if (catalog_job_get(c, id, &o, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else if (!o)
        http_error(out, 404, "no job %ld", id);
    else
        http_reply(out, 200, o);
}

void
api_post_job_cancel(Manager *m, const char *id_text, ApiResponse *out)
{
    long id;
    Error err;
    PGconn *c = job_request_conn(m, id_text, &id, out);
    if (!c)
        return;
    int status;
    json_object *answer;
    if (job_cancel(&m->jobs, c, id, &status, &answer, &err) != 0)
        http_error(out, status, "%s", err.msg);
    else
        http_reply(out, status, answer);
}
