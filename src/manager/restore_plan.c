/* POST /api/v1/clusters/{c}/restore-plan: what a restore would start
 * from, nothing restored. With a restore request's body (the body of POST
 * .../restores: "cp" | "time" | "gtxid" | "latest", "shard"?, "to"?): the
 * CP and the backup, chosen by the restore's own rule
 * (cluster_restore_plan_json); a gtxid's decision is read from the commit
 * log of the manager's metadata database, as its restore job reads it. A
 * body of only "time": the CP, the backup and the exact cut the restore
 * would make (restore_plan_cut). */
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/util.h"
#include "consistency/cp_choose.h"
#include "manager/api_handlers.h"
#include "manager/manager.h"
#include "request/restore_request.h"
#include "restore/cluster_restore.h"
#include "restore/exact_plan.h"
#include "restore/from_request.h"
#include "restore/target.h"

/* A body with more than "time": a restore request. */
static bool
restore_plan_takes_request(json_object *body)
{
    static const char *const request_only[] = {"cp", "gtxid", "latest", "shard", "to", NULL};
    for (size_t i = 0; request_only[i]; i++)
        if (json_object_is_type(body, json_type_object) && json_object_object_get_ex(body, request_only[i], NULL))
            return true;
    return false;
}

/* 404 for a CP or a shard the pool does not have, else 422: the request
 * was valid, the pool cannot serve it. */
static int
plan_status(const char *msg)
{
    return strstr(msg, "has no consistency point") || strstr(msg, "has no shard") ? 404 : 422;
}

static void
restore_plan_reply(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    RestoreRequest req;
    restore_request_init(&req);
    Error err;
    int rc = restore_request_from_json(body, &req, &err);
    if (rc == 0)
        rc = restore_request_set_flag(&req, "cluster", name, &err);
    /* The plan does not depend on the new name: a placeholder lets the
     * one validator check everything else of the body. */
    if (rc == 0 && !req.to)
    {
        char *placeholder = xprintf("%.50s-plan", name);
        rc = restore_request_set_flag(&req, "to", placeholder, &err);
        free(placeholder);
    }
    if (rc == 0)
        rc = restore_request_validate(&req, RESTORE_AT_MANAGER, &err);
    if (rc != 0)
    {
        http_error(out, 400, "%s", err.msg);
        restore_request_free(&req);
        return;
    }
    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.pool = m->cfg.pool;
    o.co.quiet = true;
    o.meta_conn = m->cfg.meta_conn;
    json_object *plan = NULL;
    if (restore_options_from_request(&req, &o, &err) != 0)
        http_error(out, 400, "%s", err.msg);
    else if (cluster_restore_plan_json(m->pool, &o, &plan, &err) != 0)
        http_error(out, plan_status(err.msg), "%s", err.msg);
    else
        http_reply(out, 200, plan);
    target_free(&o.target);
    free(o.sets);
    restore_request_free(&req);
}

/* The exact cut a whole-cluster restore to a time would make, for the
 * plan preview of a time body: the same planning as the restore
 * (restore/exact_plan.h) over the pool, with the decided set read from the
 * manager's own (source) commit log instead of a restored one, since
 * nothing is restored yet. */
static json_object *
restore_plan_cut(Manager *m, const char *cluster, const Target *time, ConsistencyPoint *cps, size_t ncps,
                 json_object **backups, size_t nbackups, const ConsistencyPoint *cp, json_object *backup)
{
    RestoreOptions o;
    restore_options_defaults(&o);
    o.cluster = cluster;
    o.target = *time;   /* borrowed: not freed here */
    Plan p = {.cps = cps, .ncps = ncps, .cp = cp, .backups = backups, .nbackups = nbackups, .backup = backup};
    return exact_plan_preview(m->pool, &o, &p, EXACT_CUT_AUTO, m->cfg.meta_conn);
}

/* Which CP and backup a whole-cluster restore to `time` would use: the
 * latest CP at or before it, and the latest cluster backup ending at or
 * before that CP (the rule of strata restore --cluster). */
void
api_post_restore_plan(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    if (restore_plan_takes_request(body))
    {
        restore_plan_reply(m, name, body, out);
        return;
    }
    const char *time_text;
    if (api_body_string(body, "time", &time_text, out) != 0)
        return;
    if (!time_text)
    {
        http_error(out, 400, "\"time\" is required (e.g. \"2026-11-24 15:50:37+00\")");
        return;
    }
    Target target = {0};
    Error err;
    if (target_parse_time(time_text, &target, &err) != 0)
    {
        http_error(out, 400, "malformed time: %s", err.msg);
        return;
    }
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
    {
        target_free(&target);
        return;
    }
    const ConsistencyPoint *cp = cp_at_or_before(v.cps, v.ncps, target.time);
    json_object *backup = pool_view_backup_for(&v, cp);
    if (!cp || !backup)
        http_error(out, 422, "time %s is outside the recoverable window of cluster %s (GET .../window): no %s", time_text,
                  name, !cp ? "consistency point at or before it" : "complete cluster backup ending before its CP");
    else
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "cluster", json_object_new_string(name));
        json_object_object_add(o, "time", json_object_new_string(target.text));
        json_object_object_add(o, "cp", cp_to_json(cp));
        json_object_object_add(o, "backup", json_object_new_string(json_member_string(backup, "id") ? json_member_string(backup, "id") : ""));
        /* how the restore would cut each node: exactly (per node the LSN) or at the CP, and why */
        json_object_object_add(o, "cut", restore_plan_cut(m, name, &target, v.cps, v.ncps, v.backups, v.nbackups, cp,
                                                          backup));
        http_reply(out, 200, o);
    }
    pool_view_free(&v);
    target_free(&target);
}
