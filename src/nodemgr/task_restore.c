/* The node manager's "restore" task: a node restored from the pool into
 * a new data directory on this host, as `strata restore --start` does;
 * what the cluster manager sends (nodemgr/remote_restore.c) for each
 * replica set's new primary of a cluster restore. */
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_instance.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"
#include "request/restore_request.h"
#include "restore/from_request.h"
#include "restore/restore.h"
#include "restore/start.h"

/* A restore task's params in their wire shape (nodemgr/remote_restore.c:
 * "pool_node", "action", "settings": {"name": "value"}, "target": {"kind":
 * "latest"|"name"|"time"|"xid"|"lsn"|"immediate", "value": ...}, absent:
 * latest) as a RestoreRequest: parsed and validated by the codec of every
 * restore path (request/restore_request.h). */
static int
task_restore_request(json_object *params, RestoreRequest *req, Error *err)
{
    static const char *const same[] = {"backup", "target_dir", "archive_node", "port", "jobs", "start_timeout",
                                       "exclusive"};
    static const char *const renamed[][2] = {{"pool_node", "node"}, {"action", "target_action"}};
    json_object *body = json_object_new_object(), *v, *target;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (json_object_object_get_ex(params, same[i], &v) && v)
            json_object_object_add(body, same[i], json_object_get(v));
    for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
        if (json_object_object_get_ex(params, renamed[i][0], &v) && v)
            json_object_object_add(body, renamed[i][1], json_object_get(v));
    size_t nsettings;
    char **settings = settings_list(params, &nsettings);
    json_object *sets = json_object_new_array();
    for (size_t i = 0; i < nsettings; i++)
        json_object_array_add(sets, json_object_new_string(settings[i]));
    json_object_object_add(body, "settings", sets);
    settings_free(settings, nsettings);
    int rc = 0;
    if (json_object_object_get_ex(params, "target", &target) && target)
    {
        const char *kind = json_object_is_type(target, json_type_object) ? json_member_string(target, "kind") : NULL;
        const char *value = kind ? json_member_string(target, "value") : NULL;
        static const char *const kinds[] = {"latest", "name", "time", "xid", "lsn", "immediate"};
        bool known = false;
        for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
            known = known || !strcmp(kind, kinds[i]);
        bool flag = kind && (!strcmp(kind, "latest") || !strcmp(kind, "immediate"));
        if (!kind)
            rc = error_set(err, "\"target\" must be an object with \"kind\": latest, name, time, xid, lsn or "
                                "immediate");
        else if (!known)
            rc = error_set(err, "unknown target kind '%s': latest, name, time, xid, lsn or immediate", kind);
        else if (!flag && !value)
            rc = error_set(err, "target kind '%s' needs a string \"value\"", kind);
        else
        {
            /* parsed alone first, so that its error says it is the target's */
            json_object *alone = json_object_new_object();
            json_object_object_add(alone, kind, flag ? json_object_new_boolean(1) : json_object_new_string(value));
            RestoreRequest probe;
            restore_request_init(&probe);
            if (restore_request_from_json(alone, &probe, err) != 0)
                rc = error_prefix(err, "\"target\": ");
            restore_request_free(&probe);
            json_object_object_add(body, kind, json_object_get(json_object_object_get(alone, kind)));
            json_object_put(alone);
        }
    }
    if (rc == 0 && (restore_request_from_json(body, req, err) != 0 ||
                    restore_request_validate(req, RESTORE_AT_LOCAL, err) != 0))
        rc = -1;
    json_object_put(body);
    return rc;
}

int
task_check_restore(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (check_new_dir(cfg, "target_dir", json_member_string(params, "target_dir"), status, err) != 0)
        return -1;
    const char *node = json_member_string(params, "pool_node"), *archive = json_member_string(params, "archive_node");
    const char *action = json_member_string(params, "action");
    json_object *v;
    if (!node || !pool_node_ok(node))
        return error_set(err, "\"pool_node\" is required: a valid pool node name (the backed-up node's, e.g. c1/shard1)");
    if (archive && !pool_node_ok(archive))
        return error_set(err, "\"archive_node\" '%s' is not a valid pool node name", archive);
    if (archive && !strcmp(archive, node))
        return error_set(err, "\"archive_node\" must differ from \"pool_node\" %s: the restored instance must not "
                              "write into its source's archive", node);
    if (action && strcmp(action, "promote") && strcmp(action, "pause") && strcmp(action, "shutdown"))
        return error_set(err, "\"action\" '%s' is not promote, pause or shutdown", action);
    if (check_int(params, "port", true, 1, 65535, "the restored instance's port", err) != 0 ||
        check_int(params, "jobs", false, 1, 64, "parallel copy threads", err) != 0 ||
        check_int(params, "start_timeout", false, 1, 86400, "seconds to reach the target", err) != 0 ||
        check_settings(params, err) != 0 || task_check_hba(params, err) != 0)
        return -1;
    if (json_object_object_get_ex(params, "start", &v) && !json_object_is_type(v, json_type_boolean))
        return error_set(err, "\"start\" must be true or false");
    RestoreRequest req;
    restore_request_init(&req);
    int rc = task_restore_request(params, &req, err);
    restore_request_free(&req);
    return rc;
}

/* A node restored from the pool (as `strata restore --start` does): the
 * backup ("backup", or the newest one the target needs) of "pool_node"
 * into "target_dir" (new or empty), recovered to "target", archiving into
 * "archive_node", started on "port" with "settings"; what the cluster
 * manager sends for each replica set's new primary of a cluster restore. */
int
task_run_restore(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    json_object *v;
    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    RestoreRequest req;
    restore_request_init(&req);
    int rc = task_restore_request(t->params, &req, err);
    if (rc == 0)
        rc = restore_options_from_request(&req, &o, err);
    /* a task starts the restored instance unless told not to */
    o.start = !json_object_object_get_ex(t->params, "start", &v) || json_object_get_boolean(v);
    o.max_rate = cfg->max_rate;
    o.pg_bin = cfg->pg_bin;
    o.on_progress = task_progress;
    o.progress_arg = t;
    const char **hba = task_hba_lines(t->params, &o.nhba);   /* before the source's pg_hba.conf lines */
    o.hba = hba;
    Manifest m;
    double secs = 0;
    StartResult sr = {0};
    if (rc == 0)
        rc = restore_node(&o, &m, &secs, &sr, err);
    if (rc == 0)
    {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "backup", json_object_new_string(m.id));
        json_object_object_add(r, "target_dir", json_object_new_string(o.target_dir));
        json_object_object_add(r, "size", json_object_new_int64((int64_t) m.size));
        json_object_object_add(r, "seconds", json_object_new_double(secs));
        json_object_object_add(r, "started", json_object_new_boolean(sr.started));
        if (sr.started)
        {
            json_object_object_add(r, "state", json_object_new_string(sr.state));
            json_object_object_add(r, "reached_lsn", json_object_new_string(sr.reached_lsn));
            json_object_object_add(r, "reached_time", sr.reached_time[0] ? json_object_new_string(sr.reached_time)
                                                                         : NULL);
            json_object_object_add(r, "timeline", json_object_new_int64(sr.timeline));
            json_object_object_add(r, "pid", json_object_new_int64(sr.pid));
            json_object_object_add(r, "port", json_object_new_int(sr.port));
        }
        *result = r;
        manifest_free(&m);
    }
    else
        error_prefix(err, "restoring %s of pool node %s into %s: ", o.backup_id ? o.backup_id : "a backup",
                     o.co.node ? o.co.node : "?", o.target_dir ? o.target_dir : "?");
    target_free(&o.target);
    free(o.sets);
    free(hba);
    restore_request_free(&req);
    return rc;
}
