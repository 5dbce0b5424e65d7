/* The node manager's standby tasks: "rebuild-standby", a standby of one
 * of its instances rebuilt from the pool, and "standby", a new streaming
 * standby of a running primary built with pg_basebackup (a restored
 * cluster's standbys). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json_member.h"
#include "common/quote.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"
#include "pg/conn.h"
#include "restore/restore.h"
#include "restore/standby.h"
#include "restore/start.h"

int
task_check_rebuild_standby(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (resolve_instance(cfg, params, true, false, status, err) != 0)
        return -1;
    const char *node = json_member_string(params, "pool_node");
    json_object *v;
    if (!node || !pool_node_ok(node))
        return error_set(err, "\"pool_node\" is required: a valid pool node name (the replica set's, e.g. c1/shard1)");
    if (!json_member_string(params, "primary_conn"))
        return error_set(err, "\"primary_conn\" is required: the primary the rebuilt standby streams from");
    if (!json_object_object_get_ex(params, "port", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1 || json_object_get_int64(v) > 65535)
        return error_set(err, "\"port\" is required: the standby's port, 1-65535 (the backup holds another "
                              "node's configuration)");
    if (json_object_object_get_ex(params, "force", &v) && !json_object_is_type(v, json_type_boolean))
        return error_set(err, "\"force\" must be true or false");
    return check_jobs(params, err);
}

/* A standby rebuilt from the pool instead of pg_basebackup: the newest
 * complete backup of `pool_node` (or "backup") restored into pgdata (which
 * must not belong to a running instance; emptied first only with
 * "force"), the archive replayed through restore_command, then streaming
 * from primary_conn (standby.signal + primary_conninfo); started with
 * pg_ctl. The primary is never read for the data: only the pool is. */
int
task_run_rebuild_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    const char *pgdata = json_member_string(t->params, "pgdata");
    const char *primary = json_member_string(t->params, "primary_conn");
    json_object *v;
    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.co.node = json_member_string(t->params, "pool_node");
    o.target_dir = pgdata;
    o.backup_id = json_member_string(t->params, "backup");
    o.target.kind = TARGET_LATEST;
    o.force = json_object_object_get_ex(t->params, "force", &v) && json_object_get_boolean(v);
    o.port = json_object_object_get_ex(t->params, "port", &v) ? json_object_get_int(v) : 0;
    if (json_object_object_get_ex(t->params, "jobs", &v))
        o.jobs = json_object_get_int(v);
    o.max_rate = cfg->max_rate;
    /* Archives like the set's other members once promoted. */
    o.archive_node = o.co.node;
    o.pg_bin = cfg->pg_bin;
    o.start = false;
    Manifest m;
    double secs;
    StartResult sr;
    if (restore_node(&o, &m, &secs, &sr, err) != 0)
        return error_prefix(err, "rebuilding the standby in %s from the pool (node %s): ", pgdata, o.co.node);
    /* restore_node prepared a recovery to the end of the archive that
     * then promotes; a standby instead follows the primary. The settings
     * appended last win in postgresql.auto.conf. */
    Buffer conf = {0};
    char *path = xprintf("%s/postgresql.auto.conf", pgdata);
    int rc = read_small_file(path, &conf, err);
    if (rc == 0)
    {
        buffer_appendf(&conf, "# strata node-manager rebuild-standby: streams from the primary\n");
        rc = pg_conf_line(&conf, "primary_conninfo", primary, err);
    }
    if (rc == 0)
        rc = write_file_atomic(path, conf.data, conf.len, 0600, err);
    free(path);
    buffer_free(&conf);
    char *recovery = xprintf("%s/recovery.signal", pgdata), *standby = xprintf("%s/standby.signal", pgdata);
    if (rc == 0 && unlink(recovery) != 0 && errno != ENOENT)
        rc = error_errno(err, "cannot remove %s", recovery);
    if (rc == 0)
        rc = write_file_atomic(standby, "", 0, 0600, err);
    free(recovery);
    free(standby);
    json_object *started = NULL;
    if (rc == 0)
    {
        /* The same start as the "start" task. */
        Task start = {.kind = "start", .params = t->params};
        rc = task_run_pg_ctl(&start, cfg, &started, err);
    }
    if (rc == 0)
    {
        *result = json_object_new_object();
        json_object_object_add(*result, "backup", json_object_new_string(m.id));
        json_object_object_add(*result, "pgdata", json_object_new_string(pgdata));
        json_object_object_add(*result, "restore_seconds", json_object_new_double(secs));
        json_object_object_add(*result, "size", json_object_new_int64((int64_t) m.size));
    }
    else
        error_prefix(err, "rebuilding the standby in %s from backup %s of %s: ", pgdata, m.id, o.co.node);
    json_object_put(started);
    manifest_free(&m);
    return rc;
}

int
task_check_standby(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (check_new_dir(cfg, "pgdata", json_member_string(params, "pgdata"), status, err) != 0)
        return -1;
    if (!json_member_string(params, "primary_host"))
        return error_set(err, "\"primary_host\" is required: the host of the primary to stream from");
    if (check_int(params, "primary_port", true, 1, 65535, "the primary's port", err) != 0 ||
        check_int(params, "port", true, 1, 65535, "the standby's port", err) != 0 || check_settings(params, err) != 0)
        return -1;
    return 0;
}

/* A streaming standby of a running primary ("primary_host",
 * "primary_port") built with pg_basebackup into "pgdata", on "port" with
 * "settings", started: a restored cluster's standbys (standby_build). */
int
task_run_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    json_object *v;
    const char *pgdata = json_member_string(t->params, "pgdata");
    const char *host = json_member_string(t->params, "primary_host");
    int primary_port = json_object_get_int(json_object_object_get_ex(t->params, "primary_port", &v) ? v : NULL);
    int port = json_object_get_int(json_object_object_get_ex(t->params, "port", &v) ? v : NULL);
    size_t nsettings;
    char **settings = settings_list(t->params, &nsettings);
    char *bin = pg_bin_dir(cfg->pg_bin, 150000);
    double t0 = now_seconds();
    int rc = standby_build(bin, host, primary_port, pgdata, port, (const char *const *) settings, nsettings, err);
    if (rc == 0)
    {
        *result = json_object_new_object();
        json_object_object_add(*result, "pgdata", json_object_new_string(pgdata));
        json_object_object_add(*result, "port", json_object_new_int(port));
        json_object_object_add(*result, "seconds", json_object_new_double(now_seconds() - t0));
    }
    else
        error_prefix(err, "building a standby of %s:%d in %s: ", host, primary_port, pgdata);
    free(bin);
    settings_free(settings, nsettings);
    return rc;
}
