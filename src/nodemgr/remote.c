/* The NodeExecutor of the cluster manager: a replica set's node backup is
 * sent as a task to the node manager of the standby's host, polled until
 * it ends, and its manifest read from the pool (the data went from the
 * node manager to the pool, never through here). Only a node on this host
 * (loopback) without a node manager is backed up in-process; another host
 * without one is an error naming it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "pool/manifest.h"
#include "restore/placement.h"

#define POLL_INTERVAL_MS 500
/* Consecutive unanswered polls (about POLL_FAILURES_MAX * (interval +
 * timeout)) before the node manager counts as gone. */
#define POLL_FAILURES_MAX 3

const char *
nodemgr_url_for(const NodeManagerDirectory *d, const TopoNode *node)
{
    for (size_t i = 0; i < d->n; i++)
        if (node->host && !strcmp(d->hosts[i], node->host))
            return d->urls[i];
    return NULL;
}

static const char *
nm_where(const NodeExecutor *ex, const TopoNode *node)
{
    return nodemgr_url_for(ex->arg, node);
}

static void
local_progress(void *arg, uint64_t done, uint64_t total)
{
    NodeBackupTask *t = arg;
    atomic_store(&t->bytes_done, done);
    atomic_store(&t->bytes_total, total);
}

static const char *
answer_error(json_object *a)
{
    json_object *v;
    return a && json_object_object_get_ex(a, "error", &v) ? json_object_get_string(v) : "(no message)";
}

/* Reads the node manifest the task wrote. */
static int
load_result(const NodeBackupTask *t, const char *url, json_object *task, Manifest *out, Error *err)
{
    json_object *result;
    const char *id = json_object_object_get_ex(task, "result", &result) ? json_member_string(result, "backup") : NULL;
    if (!id)
        return error_set(err, "node manager %s reported the backup of %s done without a backup id", url,
                         t->node->name);
    Pool *pool;
    if (pool_open(t->opt->co.pool, &pool, err) != 0)
        return -1;
    bool missing = false;
    int rc = manifest_load(pool, t->opt->co.node, id, out, &missing, err);
    if (rc == 0 && missing)
    {
        manifest_free(out);
        rc = error_set(err, "node manager %s reported backup %s of %s, but the pool has no manifest for it (another "
                            "pool than the cluster manager's?)", url, id, t->opt->co.node);
    }
    pool_close(pool);
    return rc;
}

json_object *
nodemgr_backup_task_params(const BackupOptions *o, Error *err)
{
    BackupRequest r;
    if (backup_request_of_node_options(o, &r, err) != 0)
        return NULL;
    json_object *req = backup_request_to_json(&r);
    backup_request_free(&r);
    /* A task names its node pool_node, as every task kind does. */
    json_object_object_del(req, "node");
    json_object_object_add(req, "kind", json_object_new_string("backup"));
    json_object_object_add(req, "pool_node", json_object_new_string(o->co.node));
    if (o->cluster_backup)
        json_object_object_add(req, "cluster_backup", json_object_new_string(o->cluster_backup));
    return req;
}

static int
nm_backup(const NodeExecutor *ex, NodeBackupTask *t, Manifest *out, Error *err)
{
    const NodeManagerDirectory *d = ex->arg;
    const char *url = nm_where(ex, t->node);
    if (!url && !host_is_loopback(t->node->host))
        return error_set(err, "backup of %s: host %s has no node manager registered with the cluster manager "
                              "(\"node_managers\"): the cluster manager backs up only its own host's nodes "
                              "in-process", t->node->name, t->node->host);
    if (!url)
    {
        BackupOptions o = *t->opt;
        o.on_progress = local_progress;
        o.progress_arg = t;
        return backup_node(&o, out, err);
    }
    json_object *req = nodemgr_backup_task_params(t->opt, err);
    if (!req)
        return error_prefix(err, "backup of %s (host %s): ", t->node->name, t->node->host);
    long status;
    json_object *a;
    int rc = nodemgr_call(url, d->token, "POST", "/api/v1/tasks", req, &status, &a, err);
    json_object_put(req);
    if (rc != 0)
    {
        error_prefix(err, "backup of %s (host %s): ", t->node->name, t->node->host);
        return NODE_EXEC_UNREACHABLE;
    }
    if (status != 202)
    {
        rc = error_set(err, "node manager %s refused the backup of %s: HTTP %ld: %s", url, t->node->name, status,
                       answer_error(a));
        json_object_put(a);
        return rc;
    }
    int64_t task = json_member_int(a, "task");
    json_object_put(a);
    char *path = xprintf("/api/v1/tasks/%lld", (long long) task);
    log_info("replica set %s: backup of %s sent to node manager %s (task %lld)", t->set, t->node->name, url,
             (long long) task);
    int failures = 0;
    bool cancel_sent = false;
    for (rc = 1; rc == 1;)
    {
        sleep_ms(POLL_INTERVAL_MS);
        Error perr;
        /* Cancelled: the node manager stops the task, which fails and
         * removes what it wrote; its end is polled like any other. */
        if (backup_cancelled(t->opt) && !cancel_sent)
        {
            char *cpath = xprintf("%s/cancel", path);
            json_object *ca = NULL, *empty = json_object_new_object();
            int crc = nodemgr_call(url, d->token, "POST", cpath, empty, &status, &ca, &perr);
            json_object_put(empty);
            if (crc != 0)
                log_warn("replica set %s: cancelling task %lld on node manager %s: %s", t->set, (long long) task, url,
                         perr.msg);
            else if (status != 202)
                log_warn("replica set %s: node manager %s refused to cancel task %lld: HTTP %ld: %s", t->set, url,
                         (long long) task, status, answer_error(ca));
            json_object_put(ca);
            free(cpath);
            cancel_sent = true;
        }
        if (nodemgr_call(url, d->token, "GET", path, NULL, &status, &a, &perr) != 0)
        {
            if (++failures < POLL_FAILURES_MAX)
                continue;
            error_set(err, "node manager %s stopped answering during task %lld (backup of %s): %s", url,
                      (long long) task, t->node->name, perr.msg);
            rc = NODE_EXEC_UNREACHABLE;
            break;
        }
        failures = 0;
        if (status == 404)
        {
            error_set(err, "node manager %s no longer knows task %lld (backup of %s): it restarted during the backup",
                      url, (long long) task, t->node->name);
            rc = NODE_EXEC_UNREACHABLE;
        }
        else if (status != 200)
            rc = error_set(err, "node manager %s: reading task %lld (backup of %s): HTTP %ld: %s", url,
                           (long long) task, t->node->name, status, answer_error(a));
        else
        {
            json_object *p;
            if (json_object_object_get_ex(a, "progress", &p))
            {
                atomic_store(&t->bytes_done, (uint64_t) json_member_int(p, "bytes_done"));
                atomic_store(&t->bytes_total, (uint64_t) json_member_int(p, "bytes_total"));
            }
            const char *state = json_member_string(a, "state");
            if (state && !strcmp(state, "succeeded"))
                rc = load_result(t, url, a, out, err);
            else if (state && !strcmp(state, "failed"))
                rc = error_set(err, "backup of %s by node manager %s (task %lld) failed: %s", t->node->name, url,
                               (long long) task, json_member_string(a, "reason") ? json_member_string(a, "reason") : "(no reason)");
            else if (!state || strcmp(state, "running") != 0)
                rc = error_set(err, "node manager %s: task %lld is in an unknown state '%s'", url, (long long) task,
                               state ? state : "(none)");
        }
        json_object_put(a);
    }
    free(path);
    return rc;
}

void
nodemgr_executor_init(NodeExecutor *ex, const NodeManagerDirectory *dir)
{
    memset(ex, 0, sizeof(*ex));
    ex->backup = nm_backup;
    ex->where = nm_where;
    ex->arg = (void *) dir;
}
