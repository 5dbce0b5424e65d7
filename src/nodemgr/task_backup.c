/* The node manager's "backup" task: a node backup (backup_node) of one
 * of its instances into the pool, the rate capped by the configuration.
 * Its members are a backup request's (request/backup_request.h, the codec
 * the CLI and the cluster manager use), with the node named pool_node as
 * in every task kind, plus what only a task has: instance (for pgdata and
 * pg_conn) and the cluster backup it belongs to. */
#include <string.h>

#include "backup/backup.h"
#include "common/json_member.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"
#include "pool/fields.h"

static bool
task_only_member(const char *key)
{
    static const char *const keys[] = {"kind", "instance", "pool_node", "cluster_backup"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

int
task_backup_request(json_object *params, BackupRequest *r, Error *err)
{
    json_object *body = json_object_new_object();
    json_object_object_foreach(params, key, val)
    {
        if (!task_only_member(key))
            json_object_object_add(body, key, json_object_get(val));
    }
    backup_request_init(r);
    const char *node = json_member_string(params, "pool_node");
    int rc = backup_request_from_json(body, r, err);
    json_object_put(body);
    if (rc == 0 && !node)
        rc = error_set(err, "\"pool_node\" is required (the node's name in the pool, e.g. c1/shard1)");
    if (rc == 0 && backup_request_set_flag(r, "node", node, err) != 0)
        rc = -1;
    if (rc == 0 && r->cluster)
        rc = error_set(err, "a node manager backs up one instance of its host: \"cluster\" does not apply (the "
                            "cluster manager runs cluster backups)");
    if (rc == 0 && (r->keep > 0 || r->keep_days > 0 || r->expire_auto != EXPIRE_AUTO_UNSET))
        rc = error_set(err, "retention after a backup is the cluster manager's (its expire jobs): \"keep\", "
                            "\"keep_days\" and \"expire_auto\" do not apply to a task");
    if (rc == 0)
        rc = backup_request_validate(r, BACKUP_AT_LOCAL, err);
    if (rc != 0)
        backup_request_free(r);
    return rc;
}

int
task_check_backup(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (resolve_instance(cfg, params, true, true, status, err) != 0)
        return -1;
    const char *node = json_member_string(params, "pool_node");
    if (!node)
        return error_set(err, "\"pool_node\" is required (the node's name in the pool, e.g. c1/shard1)");
    if (!pool_node_ok(node))
        return error_set(err, "\"pool_node\" '%s' is not a valid pool node name (letters, digits, '-', '_', '.', "
                              "'/'; relative; no '..')", node);
    if (check_jobs(params, err) != 0)
        return -1;
    BackupRequest r;
    if (task_backup_request(params, &r, err) != 0)
        return -1;
    backup_request_free(&r);
    return 0;
}

static json_object *
backup_result(const Manifest *m)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "backup", json_object_new_string(m->id));
    json_object_object_add(r, "pool_node", json_object_new_string(m->node));
    backup_result_members(r, m);
    return r;
}

int
task_run_backup(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    BackupRequest req;
    if (task_backup_request(t->params, &req, err) != 0)
        return -1;
    BackupOptions o;
    backup_options_defaults(&o);
    backup_options_from_request(&o, &req);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.co.node = req.node;
    o.cluster_backup = json_member_string(t->params, "cluster_backup");
    o.cancel = &t->cancel;
    if (cfg->max_rate && (o.max_rate == 0 || o.max_rate > cfg->max_rate))
        o.max_rate = cfg->max_rate;
    o.on_progress = task_progress;
    o.progress_arg = t;
    Manifest m;
    int rc = backup_node(&o, &m, err);
    if (rc == 0)
    {
        *result = backup_result(&m);
        manifest_free(&m);
    }
    backup_request_free(&req);
    return rc;
}
