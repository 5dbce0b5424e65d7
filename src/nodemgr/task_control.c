/* The node manager's tasks on an instance as it runs: "start" and "stop"
 * (pg_ctl -w, as the daemon's user) and "archive-status" (its
 * pg_stat_archiver and archive settings). */
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/spawn.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"
#include "pg/conn.h"

int
task_check_pg_ctl(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    return resolve_instance(cfg, params, true, false, status, err);
}

/* pg_ctl start|stop -w, as the daemon's user; its output goes to
 * <pgdata>/strata-node-manager.log. */
int
task_run_pg_ctl(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    const char *pgdata = json_member_string(t->params, "pgdata");
    char *bin = pg_bin_dir(cfg->pg_bin, 150000);
    char *pg_ctl = xprintf("%s/pg_ctl", bin);
    char *log = xprintf("%s/strata-node-manager.log", pgdata);
    int rc;
    if (!strcmp(t->kind, "start"))
    {
        char *argv[] = {pg_ctl, "start", "-w", "-t", "120", "-D", (char *) pgdata, "-l", log, NULL};
        rc = spawn_wait(argv, NULL, err);
    }
    else
    {
        char *argv[] = {pg_ctl, "stop", "-w", "-t", "120", "-m", "fast", "-D", (char *) pgdata, NULL};
        rc = spawn_wait(argv, log, err);
    }
    if (rc != 0)
        error_prefix(err, "pg_ctl %s of %s: ", t->kind, pgdata);
    else
    {
        *result = json_object_new_object();
        json_object_object_add(*result, "pgdata", json_object_new_string(pgdata));
        json_object_object_add(*result, "log", json_object_new_string(log));
    }
    free(log);
    free(pg_ctl);
    free(bin);
    return rc;
}

int
task_check_archive_status(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    return resolve_instance(cfg, params, false, true, status, err);
}

int
task_run_archive_status(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    (void) cfg;
    const char *conninfo = json_member_string(t->params, "pg_conn");
    PGconn *c = pg_connect(conninfo, "instance", err);
    if (!c)
        return -1;
    PGresult *r = pg_exec(c, "instance",
                          "SELECT archived_count, last_archived_wal, last_archived_time::text, failed_count, "
                          "last_failed_wal, last_failed_time::text, pg_is_in_recovery(), "
                          "current_setting('archive_mode'), current_setting('archive_command') FROM pg_stat_archiver",
                          0, NULL, err);
    if (!r)
    {
        PQfinish(c);
        return -1;
    }
    static const char *const names[] = {"archived_count", "last_archived_wal", "last_archived_time", "failed_count",
                                        "last_failed_wal", "last_failed_time", "in_recovery", "archive_mode",
                                        "archive_command"};
    json_object *o = json_object_new_object();
    for (int i = 0; i < 9; i++)
    {
        json_object *v = NULL;
        if (!PQgetisnull(r, 0, i))
        {
            const char *s = PQgetvalue(r, 0, i);
            if (i == 0 || i == 3)
                v = json_object_new_int64(strtoll(s, NULL, 10));
            else if (i == 6)
                v = json_object_new_boolean(s[0] == 't');
            else
                v = json_object_new_string(s);
        }
        json_object_object_add(o, names[i], v);
    }
    PQclear(r);
    PQfinish(c);
    *result = o;
    return 0;
}
