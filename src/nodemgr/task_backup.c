/* The node manager's "backup" task: a node backup (backup_node) of one
 * of its instances into the pool, the rate capped by the configuration. */
#include <string.h>

#include "backup/backup.h"
#include "common/json_member.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"
#include "pool/fields.h"

int
task_check_backup(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (resolve_instance(cfg, params, true, true, status, err) != 0)
        return -1;
    const char *node = json_member_string(params, "pool_node");
    json_object *v;
    if (!node)
        return error_set(err, "\"pool_node\" is required (the node's name in the pool, e.g. c1/shard1)");
    if (!pool_node_ok(node))
        return error_set(err, "\"pool_node\" '%s' is not a valid pool node name (letters, digits, '-', '_', '.', "
                              "'/'; relative; no '..')", node);
    if (check_jobs(params, err) != 0)
        return -1;
    if (json_object_object_get_ex(params, "max_rate", &v) &&
        (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
        return error_set(err, "\"max_rate\" must be a positive integer (bytes per second)");
    return 0;
}

int
task_run_backup(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    BackupOptions o;
    backup_options_defaults(&o);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.co.node = json_member_string(t->params, "pool_node");
    o.pgdata = json_member_string(t->params, "pgdata");
    o.pg_conn = json_member_string(t->params, "pg_conn");
    o.primary_conn = json_member_string(t->params, "primary_conn");
    o.cluster_backup = json_member_string(t->params, "cluster_backup");
    o.cancel = &t->cancel;
    json_object *v;
    if (json_object_object_get_ex(t->params, "jobs", &v))
        o.jobs = json_object_get_int(v);
    if (json_object_object_get_ex(t->params, "max_rate", &v))
        o.max_rate = (uint64_t) json_object_get_int64(v);
    if (json_object_object_get_ex(t->params, "nice", &v))
    {
        int n = json_object_get_int(v);
        o.nice = n < 0 ? 0 : n > 19 ? 19 : n;
    }
    if (cfg->max_rate && (o.max_rate == 0 || o.max_rate > cfg->max_rate))
        o.max_rate = cfg->max_rate;
    o.on_progress = task_progress;
    o.progress_arg = t;
    Manifest m;
    if (backup_node(&o, &m, err) != 0)
        return -1;
    char start[32], stop[32];
    lsn_format(m.start_lsn, start);
    lsn_format(m.stop_lsn, stop);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "backup", json_object_new_string(m.id));
    json_object_object_add(r, "pool_node", json_object_new_string(m.node));
    json_object_object_add(r, "start_lsn", json_object_new_string(start));
    json_object_object_add(r, "stop_lsn", json_object_new_string(stop));
    json_object_object_add(r, "timeline", json_object_new_int64(m.timeline));
    json_object_object_add(r, "files", json_object_new_int64((int64_t) m.nfiles));
    json_object_object_add(r, "size", json_object_new_int64((int64_t) m.size));
    json_object_object_add(r, "stored_size", json_object_new_int64((int64_t) m.stored_size));
    json_object_object_add(r, "duration", json_object_new_double(m.duration));
    json_object_object_add(r, "page_errors", json_object_new_int64((int64_t) m.npage_errors));
    manifest_free(&m);
    *result = r;
    return 0;
}
