/* The node manager's tasks: each runs in its own thread, in-process;
 * the API reads their state under the table's lock. Finished tasks are
 * kept (the cluster manager polls for the result) up to
 * TASKS_KEEP_FINISHED, then forgotten oldest first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "pg/conn.h"
#include "restore/restore.h"
#include "restore/standby.h"
#include "restore/start.h"

/* What a task runs; params already validated by task_submit. */
typedef int (*TaskMain)(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

typedef struct TaskStart
{
    Task *task;
    TaskMain main;
    const NodeManagerConfig *cfg;
    pthread_mutex_t *lock;
} TaskStart;

static const char *
task_state_name(TaskState s)
{
    switch (s)
    {
        case TASK_RUNNING: return "running";
        case TASK_SUCCEEDED: return "succeeded";
        case TASK_FAILED: return "failed";
    }
    return "?";
}

/* ---- the kinds ---- */

static void
task_progress(void *arg, uint64_t done, uint64_t total)
{
    Task *t = arg;
    atomic_store(&t->bytes_done, done);
    atomic_store(&t->bytes_total, total);
}

static int
run_backup(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
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

/* pg_ctl start|stop -w, as the daemon's user; its output goes to
 * <pgdata>/strata-node-manager.log. */
static int
run_pg_ctl(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
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

static int
run_archive_status(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
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

/* A standby rebuilt from the pool instead of pg_basebackup: the newest
 * complete backup of `pool_node` (or "backup") restored into pgdata (which
 * must not belong to a running instance; emptied first only with
 * "force"), the archive replayed through restore_command, then streaming
 * from primary_conn (standby.signal + primary_conninfo); started with
 * pg_ctl. The primary is never read for the data: only the pool is. */
static int
run_rebuild_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
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
        buffer_appendf(&conf, "# strata node-manager rebuild-standby: streams from the primary\nprimary_conninfo = '");
        for (const char *c = primary; *c; c++)
        {
            if (*c == '\'')
                buffer_append(&conf, "'", 1);   /* a quote doubled */
            buffer_append(&conf, c, 1);
        }
        buffer_appendf(&conf, "'\n");
        rc = write_file_atomic(path, conf.data, conf.len, 0600, err);
    }
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
        rc = run_pg_ctl(&start, cfg, &started, err);
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

/* "settings": {"name": "value", ...} as "name=value" strings (validated
 * by task_submit); caller frees each and the array. */
static char **
settings_list(json_object *params, size_t *n)
{
    json_object *settings;
    *n = 0;
    if (!json_object_object_get_ex(params, "settings", &settings) || !json_object_is_type(settings, json_type_object))
        return NULL;
    char **list = xcalloc((size_t) json_object_object_length(settings) + 1, sizeof(char *));
    json_object_object_foreach(settings, key, val)
        list[(*n)++] = xprintf("%s=%s", key, json_object_get_string(val));
    return list;
}

static void
settings_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* "target": {"kind": "latest"|"name"|"time"|"xid"|"lsn"|"immediate",
 * "value": ...}, parsed as `strata restore` parses its flags; absent:
 * latest. */
static int
target_from_json(json_object *params, Target *t, Error *err)
{
    json_object *target, *v;
    memset(t, 0, sizeof(*t));
    if (!json_object_object_get_ex(params, "target", &target) || json_object_is_type(target, json_type_null))
        return 0;
    if (!json_object_is_type(target, json_type_object))
        return error_set(err, "\"target\" must be an object {\"kind\": ..., \"value\": ...}");
    const char *kind = json_object_object_get_ex(target, "kind", &v) && json_object_is_type(v, json_type_string)
                           ? json_object_get_string(v) : NULL;
    const char *value = json_object_object_get_ex(target, "value", &v) && json_object_is_type(v, json_type_string)
                            ? json_object_get_string(v) : NULL;
    if (!kind)
        return error_set(err, "\"target\" needs \"kind\": latest, name, time, xid, lsn or immediate");
    if (!strcmp(kind, "latest") || !strcmp(kind, "immediate"))
    {
        t->kind = !strcmp(kind, "latest") ? TARGET_LATEST : TARGET_IMMEDIATE;
        return 0;
    }
    int (*parse)(const char *, Target *, Error *) = !strcmp(kind, "name") ? target_parse_name
                                                   : !strcmp(kind, "time") ? target_parse_time
                                                   : !strcmp(kind, "xid") ? target_parse_xid
                                                   : !strcmp(kind, "lsn") ? target_parse_lsn : NULL;
    if (!parse)
        return error_set(err, "unknown target kind '%s': latest, name, time, xid, lsn or immediate", kind);
    if (!value)
        return error_set(err, "target kind '%s' needs a string \"value\"", kind);
    if (parse(value, t, err) != 0)
        return error_prefix(err, "\"target\": ");
    return 0;
}

/* A node restored from the pool (as `strata restore --start` does): the
 * backup ("backup", or the newest one the target needs) of "pool_node"
 * into "target_dir" (new or empty), recovered to "target", archiving into
 * "archive_node", started on "port" with "settings"; what the cluster
 * manager sends for each replica set's new primary of a cluster restore. */
static int
run_restore(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    json_object *v;
    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.co.node = json_member_string(t->params, "pool_node");
    o.backup_id = json_member_string(t->params, "backup");
    o.target_dir = json_member_string(t->params, "target_dir");
    o.archive_node = json_member_string(t->params, "archive_node");
    o.port = json_object_get_int(json_object_object_get_ex(t->params, "port", &v) ? v : NULL);
    if (json_object_object_get_ex(t->params, "jobs", &v))
        o.jobs = json_object_get_int(v);
    if (json_member_string(t->params, "action"))
        o.action = json_member_string(t->params, "action");
    if (json_object_object_get_ex(t->params, "start_timeout", &v))
        o.start_timeout = json_object_get_int(v);
    o.start = !json_object_object_get_ex(t->params, "start", &v) || json_object_get_boolean(v);
    o.max_rate = cfg->max_rate;
    o.pg_bin = cfg->pg_bin;
    o.on_progress = task_progress;
    o.progress_arg = t;
    size_t nsettings;
    char **settings = settings_list(t->params, &nsettings);
    o.sets = (const char **) settings;
    o.nsets = nsettings;
    int rc = target_from_json(t->params, &o.target, err);
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
        error_prefix(err, "restoring %s of pool node %s into %s: ", o.backup_id ? o.backup_id : "a backup", o.co.node,
                     o.target_dir);
    target_free(&o.target);
    settings_free(settings, nsettings);
    return rc;
}

/* A streaming standby of a running primary ("primary_host",
 * "primary_port") built with pg_basebackup into "pgdata", on "port" with
 * "settings", started: a restored cluster's standbys (standby_build). */
static int
run_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
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

/* ---- the table ---- */

static void *
task_thread(void *arg)
{
    TaskStart *s = arg;
    Task *t = s->task;
    json_object *result = NULL;
    Error err;
    int rc = s->main(t, s->cfg, &result, &err);
    pthread_mutex_lock(s->lock);
    t->state = rc == 0 ? TASK_SUCCEEDED : TASK_FAILED;
    t->reason = rc == 0 ? NULL : xstrdup(err.msg);
    t->result = result;
    t->finished = now_seconds();
    pthread_mutex_unlock(s->lock);
    if (rc == 0)
        log_info("task %lld (%s) succeeded", (long long) t->id, t->kind);
    else
        log_error("task %lld (%s) failed: %s", (long long) t->id, t->kind, err.msg);
    free(s);
    return NULL;
}

static void
task_free(Task *t)
{
    free(t->kind);
    free(t->reason);
    json_object_put(t->params);
    json_object_put(t->result);
    free(t);
}

void
tasks_init(Tasks *t, const NodeManagerConfig *cfg)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->next_id = 1;
    pthread_mutex_init(&t->lock, NULL);
}

void
tasks_shutdown(Tasks *t)
{
    /* The API is stopped: no task is added any more. A backup cannot be
     * abandoned half way in-process, so running tasks end first. */
    for (size_t i = 0; i < t->n; i++)
    {
        pthread_join(t->items[i]->thread, NULL);
        task_free(t->items[i]);
    }
    free(t->items);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

/* Forgets the oldest finished tasks beyond TASKS_KEEP_FINISHED. Lock held. */
static void
tasks_trim(Tasks *t)
{
    size_t finished = 0;
    for (size_t i = 0; i < t->n; i++)
        finished += t->items[i]->state != TASK_RUNNING;
    for (size_t i = 0; i < t->n && finished > TASKS_KEEP_FINISHED;)
    {
        Task *x = t->items[i];
        if (x->state == TASK_RUNNING)
        {
            i++;
            continue;
        }
        pthread_join(x->thread, NULL);   /* finished: returns at once */
        task_free(x);
        memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(Task *));
        t->n--;
        finished--;
    }
}

/* A pool node name: relative, no "..", plain characters. */
static bool
pool_node_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 127 || s[0] == '/' || s[n - 1] == '/' || strstr(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.' || *p == '/'))
            return false;
    return true;
}

/* A data directory may be named only if it is one of the configured
 * instances' (any, when none is configured): 403 otherwise. */
static int
check_served_dir(const NodeManagerConfig *cfg, const char *dir, int *status, Error *err)
{
    for (size_t i = 0; i < cfg->ninstances; i++)
        if (!strcmp(cfg->instances[i].pgdata, dir))
            return 0;
    if (cfg->ninstances == 0)
        return 0;
    *status = 403;
    return error_set(err, "data directory %s is not one of this node manager's instances", dir);
}

/* Fills params' pgdata and pg_conn from "instance", or checks the given
 * pgdata against the configured instances. */
static int
resolve_instance(const NodeManagerConfig *cfg, json_object *params, bool need_pgdata, bool need_conn, int *status,
                 Error *err)
{
    const char *name = json_member_string(params, "instance");
    const char *pgdata = json_member_string(params, "pgdata");
    *status = 400;
    if (name)
    {
        for (size_t i = 0; i < cfg->ninstances; i++)
            if (!strcmp(cfg->instances[i].name, name))
            {
                if (!pgdata)
                    json_object_object_add(params, "pgdata", json_object_new_string(cfg->instances[i].pgdata));
                if (!json_member_string(params, "pg_conn"))
                    json_object_object_add(params, "pg_conn", json_object_new_string(cfg->instances[i].pg_conn));
                pgdata = json_member_string(params, "pgdata");
                break;
            }
        if (!json_member_string(params, "pgdata"))
        {
            *status = 404;
            return error_set(err, "this node manager serves no instance named '%s'", name);
        }
    }
    if (need_pgdata && !pgdata)
        return error_set(err, "\"pgdata\" (or \"instance\") is required");
    if (pgdata && pgdata[0] != '/')
        return error_set(err, "\"pgdata\" must be an absolute path, not '%s'", pgdata);
    if (need_conn && !json_member_string(params, "pg_conn"))
        return error_set(err, "\"pg_conn\" (or \"instance\") is required");
    return pgdata ? check_served_dir(cfg, pgdata, status, err) : 0;
}

/* Members must be strings when present. */
static int
check_strings(json_object *params, const char *const *keys, Error *err)
{
    for (; *keys; keys++)
    {
        json_object *v;
        if (json_object_object_get_ex(params, *keys, &v) && !json_object_is_type(v, json_type_string))
            return error_set(err, "\"%s\" must be a string", *keys);
    }
    return 0;
}

#define TASK_KINDS "backup, start, stop, archive-status, rebuild-standby, restore or standby"

/* An integer member in [lo, hi]; required or, when absent, fine. */
static int
check_int(json_object *params, const char *key, bool required, int64_t lo, int64_t hi, const char *what, Error *err)
{
    json_object *v;
    if (!json_object_object_get_ex(params, key, &v))
        return required ? error_set(err, "\"%s\" is required: %s, %lld-%lld", key, what, (long long) lo,
                                    (long long) hi) : 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo || json_object_get_int64(v) > hi)
        return error_set(err, "\"%s\" must be an integer from %lld to %lld (%s)", key, (long long) lo, (long long) hi,
                         what);
    return 0;
}

/* "settings": an object of strings, names of PostgreSQL settings. */
static int
check_settings(json_object *params, Error *err)
{
    json_object *settings;
    if (!json_object_object_get_ex(params, "settings", &settings))
        return 0;
    if (!json_object_is_type(settings, json_type_object))
        return error_set(err, "\"settings\" must be an object {\"name\": \"value\"}");
    json_object_object_foreach(settings, key, val)
    {
        bool name_ok = key[0] != '\0' && strlen(key) < 64;
        for (const char *c = key; *c && name_ok; c++)
            name_ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.';
        if (!name_ok)
            return error_set(err, "\"settings\": '%s' is not a PostgreSQL setting name (lower-case letters, digits, "
                                  "'_', '.')", key);
        if (!json_object_is_type(val, json_type_string) || strpbrk(json_object_get_string(val), "\n\r"))
            return error_set(err, "\"settings\": the value of %s must be a string on one line", key);
    }
    return 0;
}

/* A data directory a task creates: absolute, and one of the configured
 * instances' when any are. */
static int
check_new_dir(const NodeManagerConfig *cfg, const char *key, const char *dir, int *status, Error *err)
{
    *status = 400;
    if (!dir)
        return error_set(err, "\"%s\" is required: the new data directory", key);
    if (dir[0] != '/' || strstr(dir, "/../"))
        return error_set(err, "\"%s\" must be an absolute path without '..', not '%s'", key, dir);
    return check_served_dir(cfg, dir, status, err);
}

static int
check_restore(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
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
        check_settings(params, err) != 0)
        return -1;
    if (json_object_object_get_ex(params, "start", &v) && !json_object_is_type(v, json_type_boolean))
        return error_set(err, "\"start\" must be true or false");
    Target target;
    if (target_from_json(params, &target, err) != 0)
        return -1;
    target_free(&target);
    return 0;
}

static int
check_standby(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
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

int
task_submit(Tasks *t, json_object *request, int64_t *id, int *status, Error *err)
{
    *status = 400;
    static const char *const strings[] = {"kind", "instance", "pgdata", "pg_conn", "primary_conn", "pool_node",
                                          "backup", "target_dir", "archive_node", "action", "primary_host", "cluster_backup", NULL};
    if (check_strings(request, strings, err) != 0)
        return -1;
    const char *kind = json_member_string(request, "kind");
    if (!kind)
        return error_set(err, "\"kind\" is required: " TASK_KINDS);
    json_object *params = json_object_get(request);
    TaskMain main = NULL;
    int rc = 0;
    if (!strcmp(kind, "backup"))
    {
        main = run_backup;
        rc = resolve_instance(t->cfg, params, true, true, status, err);
        const char *node = json_member_string(params, "pool_node");
        json_object *v;
        if (rc == 0 && !node)
            rc = error_set(err, "\"pool_node\" is required (the node's name in the pool, e.g. c1/shard1)");
        if (rc == 0 && !pool_node_ok(node))
            rc = error_set(err, "\"pool_node\" '%s' is not a valid pool node name (letters, digits, '-', '_', '.', "
                                "'/'; relative; no '..')", node);
        if (rc == 0 && json_object_object_get_ex(params, "jobs", &v) &&
            (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 || json_object_get_int64(v) > 64))
            rc = error_set(err, "\"jobs\" must be an integer from 1 to 64");
        if (rc == 0 && json_object_object_get_ex(params, "max_rate", &v) &&
            (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
            rc = error_set(err, "\"max_rate\" must be a positive integer (bytes per second)");
    }
    else if (!strcmp(kind, "start") || !strcmp(kind, "stop"))
    {
        main = run_pg_ctl;
        rc = resolve_instance(t->cfg, params, true, false, status, err);
    }
    else if (!strcmp(kind, "archive-status"))
    {
        main = run_archive_status;
        rc = resolve_instance(t->cfg, params, false, true, status, err);
    }
    else if (!strcmp(kind, "rebuild-standby"))
    {
        main = run_rebuild_standby;
        rc = resolve_instance(t->cfg, params, true, false, status, err);
        const char *node = json_member_string(params, "pool_node");
        json_object *v;
        if (rc == 0 && (!node || !pool_node_ok(node)))
            rc = error_set(err, "\"pool_node\" is required: a valid pool node name (the replica set's, e.g. c1/shard1)");
        if (rc == 0 && !json_member_string(params, "primary_conn"))
            rc = error_set(err, "\"primary_conn\" is required: the primary the rebuilt standby streams from");
        if (rc == 0 && (!json_object_object_get_ex(params, "port", &v) || !json_object_is_type(v, json_type_int) ||
                        json_object_get_int64(v) < 1 || json_object_get_int64(v) > 65535))
            rc = error_set(err, "\"port\" is required: the standby's port, 1-65535 (the backup holds another "
                                "node's configuration)");
        if (rc == 0 && json_object_object_get_ex(params, "force", &v) && !json_object_is_type(v, json_type_boolean))
            rc = error_set(err, "\"force\" must be true or false");
        if (rc == 0 && json_object_object_get_ex(params, "jobs", &v) &&
            (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 || json_object_get_int64(v) > 64))
            rc = error_set(err, "\"jobs\" must be an integer from 1 to 64");
    }
    else if (!strcmp(kind, "restore"))
    {
        main = run_restore;
        rc = check_restore(t->cfg, params, status, err);
    }
    else if (!strcmp(kind, "standby"))
    {
        main = run_standby;
        rc = check_standby(t->cfg, params, status, err);
    }
    else
        rc = error_set(err, "unknown task kind '%s': " TASK_KINDS, kind);
    if (rc != 0)
    {
        json_object_put(params);
        return -1;
    }
    Task *task = xcalloc(1, sizeof(Task));
    task->kind = xstrdup(kind);
    task->params = params;
    task->state = TASK_RUNNING;
    task->created = task->started = now_seconds();
    TaskStart *start = xcalloc(1, sizeof(TaskStart));
    start->task = task;
    start->main = main;
    start->cfg = t->cfg;
    start->lock = &t->lock;
    pthread_mutex_lock(&t->lock);
    task->id = t->next_id++;
    /* Created under the lock: the thread's first write to the task waits
     * until the task is in the table. */
    if (pthread_create(&task->thread, NULL, task_thread, start) != 0)
    {
        pthread_mutex_unlock(&t->lock);
        free(start);
        task_free(task);
        *status = 503;
        return error_set(err, "cannot start a thread for the task");
    }
    t->items = xrealloc(t->items, (t->n + 1) * sizeof(Task *));
    t->items[t->n++] = task;
    *id = task->id;
    tasks_trim(t);
    pthread_mutex_unlock(&t->lock);
    log_info("task %lld (%s) started%s%s", (long long) *id, kind,
             json_member_string(params, "pgdata") ? " on " : "", json_member_string(params, "pgdata") ? json_member_string(params, "pgdata") : "");
    return 0;
}

/* Lock held. */
static json_object *
task_json(const Task *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(t->id));
    json_object_object_add(o, "kind", json_object_new_string(t->kind));
    json_object_object_add(o, "state", json_object_new_string(task_state_name(t->state)));
    json_object_object_add(o, "reason", t->reason ? json_object_new_string(t->reason) : NULL);
    const char *keys[] = {"instance", "pgdata", "pool_node", "target_dir"};
    for (size_t i = 0; i < 4; i++)
    {
        const char *v = json_member_string(t->params, keys[i]);
        if (v)
            json_object_object_add(o, keys[i], json_object_new_string(v));
    }
    json_object_object_add(o, "created_epoch", json_object_new_double(t->created));
    double end = t->state == TASK_RUNNING ? now_seconds() : t->finished;
    json_object_object_add(o, "finished_epoch", t->state == TASK_RUNNING ? NULL : json_object_new_double(t->finished));
    uint64_t done = atomic_load(&t->bytes_done), total = atomic_load(&t->bytes_total);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "bytes_done", json_object_new_int64((int64_t) done));
    json_object_object_add(p, "bytes_total", json_object_new_int64((int64_t) total));
    json_object_object_add(p, "rate", json_object_new_int64(end > t->started ? (int64_t) ((double) done / (end - t->started)) : 0));
    json_object_object_add(o, "progress", p);
    json_object_object_add(o, "result", t->result ? json_object_get(t->result) : NULL);
    return o;
}

json_object *
task_get(Tasks *t, int64_t id)
{
    json_object *o = NULL;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n && !o; i++)
        if (t->items[i]->id == id)
            o = task_json(t->items[i]);
    pthread_mutex_unlock(&t->lock);
    return o;
}

int
task_cancel(Tasks *t, int64_t id, int *status, Error *err)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    Task *task = NULL;
    for (size_t i = 0; i < t->n && !task; i++)
        if (t->items[i]->id == id)
            task = t->items[i];
    if (!task)
    {
        *status = 404;
        rc = error_set(err, "no task %lld on this node manager", (long long) id);
    }
    else if (strcmp(task->kind, "backup") != 0)
    {
        *status = 409;
        rc = error_set(err, "task %lld is a %s task: only backup tasks can be cancelled", (long long) id, task->kind);
    }
    else if (task->state != TASK_RUNNING)
    {
        *status = 409;
        rc = error_set(err, "task %lld already ended (%s)", (long long) id, task_state_name(task->state));
    }
    else
    {
        atomic_store(&task->cancel, true);
        log_info("task %lld (backup): cancel requested", (long long) id);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

json_object *
tasks_list(Tasks *t)
{
    json_object *a = json_object_new_array();
    pthread_mutex_lock(&t->lock);
    for (size_t i = t->n; i > 0; i--)
        json_object_array_add(a, task_json(t->items[i - 1]));
    pthread_mutex_unlock(&t->lock);
    return a;
}
