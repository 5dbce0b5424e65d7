/* The RestoreExecutor of the cluster manager: a cluster restore's new
 * primaries (kind "restore") and standbys (kind "standby") are sent as
 * tasks to the node manager of the new node's host and polled until they
 * end; the data goes from the pool to that host, never through here. So
 * are a compute node's fresh instance (kind "init") and, after a failed
 * restore, the stop and emptying of a new node (kind "discard"). Only a
 * node on this host (loopback) may be restored in-process by
 * cluster_restore; another host without a node manager is refused. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"

#define POLL_INTERVAL_MS 500
/* Consecutive unanswered polls before the node manager counts as gone. */
#define POLL_FAILURES_MAX 3

static const char *
nm_where(const RestoreExecutor *ex, const TopoNode *node)
{
    return nodemgr_url_for(ex->arg, node);
}

/* Submits `req` to the node manager at url and polls the task to its end.
 * `what` names the work and the node ("restore of primary shard1-1"). */
static int
run_task(const NodeManagerDirectory *d, const char *url, json_object *req, const char *what, Error *err)
{
    long status;
    json_object *a;
    if (nodemgr_call(url, d->token, "POST", "/api/v1/tasks", req, &status, &a, err) != 0)
        return error_prefix(err, "%s: ", what);
    if (status != 202)
    {
        json_object *e;
        int rc = error_set(err, "node manager %s refused the %s: HTTP %ld: %s", url, what, status,
                           a && json_object_object_get_ex(a, "error", &e) ? json_object_get_string(e)
                                                                           : "(no message)");
        json_object_put(a);
        return rc;
    }
    json_object *v;
    int64_t task = a && json_object_object_get_ex(a, "task", &v) ? json_object_get_int64(v) : 0;
    json_object_put(a);
    log_info("%s sent to node manager %s (task %lld)", what, url, (long long) task);
    char *path = xprintf("/api/v1/tasks/%lld", (long long) task);
    int failures = 0, rc;
    for (rc = 1; rc == 1;)
    {
        sleep_ms(POLL_INTERVAL_MS);
        Error perr;
        if (nodemgr_call(url, d->token, "GET", path, NULL, &status, &a, &perr) != 0)
        {
            if (++failures < POLL_FAILURES_MAX)
                continue;
            rc = error_set(err, "node manager %s stopped answering during task %lld (%s): %s", url, (long long) task,
                           what, perr.msg);
            break;
        }
        failures = 0;
        const char *state = json_member_string(a, "state");
        if (status == 404)
            rc = error_set(err, "node manager %s no longer knows task %lld (%s): it restarted during the task", url,
                           (long long) task, what);
        else if (status != 200)
            rc = error_set(err, "node manager %s: reading task %lld (%s): HTTP %ld", url, (long long) task, what,
                           status);
        else if (state && !strcmp(state, "succeeded"))
            rc = 0;
        else if (state && !strcmp(state, "failed"))
            rc = error_set(err, "%s by node manager %s (task %lld) failed: %s", what, url, (long long) task,
                           json_member_string(a, "reason") ? json_member_string(a, "reason") : "(no reason)");
        else if (!state || strcmp(state, "running") != 0)
            rc = error_set(err, "node manager %s: task %lld (%s) is in an unknown state '%s'", url, (long long) task,
                           what, state ? state : "(none)");
        json_object_put(a);
    }
    free(path);
    return rc;
}

static json_object *
settings_json(const char *const *settings, size_t n)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < n; i++)
    {
        const char *eq = strchr(settings[i], '=');
        if (!eq)
            continue;
        char *name = xprintf("%.*s", (int) (eq - settings[i]), settings[i]);
        json_object_object_add(o, name, json_object_new_string(eq + 1));
        free(name);
    }
    return o;
}

static json_object *
hba_json(const char *const *hba, size_t n)
{
    json_object *lines = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(lines, json_object_new_string(hba[i]));
    return lines;
}

static int
nm_restore(const RestoreExecutor *ex, const char *set, const TopoNode *node, const RestoreOptions *opt, Error *err)
{
    const NodeManagerDirectory *d = ex->arg;
    json_object *req = json_object_new_object();
    json_object_object_add(req, "kind", json_object_new_string("restore"));
    json_object_object_add(req, "pool_node", json_object_new_string(opt->co.node));
    if (opt->backup_id)
        json_object_object_add(req, "backup", json_object_new_string(opt->backup_id));
    json_object_object_add(req, "target_dir", json_object_new_string(opt->target_dir));
    json_object_object_add(req, "port", json_object_new_int(opt->port));
    json_object *target = json_object_new_object();
    json_object_object_add(target, "kind", json_object_new_string(target_kind_name(opt->target.kind)));
    if (opt->target.text)
        json_object_object_add(target, "value", json_object_new_string(opt->target.text));
    json_object_object_add(req, "target", target);
    if (opt->exclusive)   /* an exact cut stops before its LSN */
        json_object_object_add(req, "exclusive", json_object_new_boolean(1));
    json_object_object_add(req, "settings", settings_json(opt->sets, opt->nsets));
    if (opt->nhba)
        json_object_object_add(req, "hba", hba_json(opt->hba, opt->nhba));
    if (opt->archive_node)
        json_object_object_add(req, "archive_node", json_object_new_string(opt->archive_node));
    json_object_object_add(req, "action", json_object_new_string(opt->action));
    json_object_object_add(req, "jobs", json_object_new_int(opt->jobs));
    json_object_object_add(req, "start_timeout", json_object_new_int(opt->start_timeout));
    json_object_object_add(req, "start", json_object_new_boolean(opt->start));
    char *what = xprintf("restore of primary %s (replica set %s, host %s)", node->name, set, node->host);
    int rc = run_task(d, nm_where(ex, node), req, what, err);
    free(what);
    json_object_put(req);
    return rc;
}

static int
nm_standby(const RestoreExecutor *ex, const TopoNode *primary, const TopoNode *standby, const char *const *settings,
           size_t nsettings, Error *err)
{
    const NodeManagerDirectory *d = ex->arg;
    json_object *req = json_object_new_object();
    json_object_object_add(req, "kind", json_object_new_string("standby"));
    json_object_object_add(req, "pgdata", json_object_new_string(standby->data_dir));
    json_object_object_add(req, "primary_host", json_object_new_string(primary->host));
    json_object_object_add(req, "primary_port", json_object_new_int(primary->port));
    json_object_object_add(req, "port", json_object_new_int(standby->port));
    json_object_object_add(req, "settings", settings_json(settings, nsettings));
    char *what = xprintf("build of standby %s of %s (host %s)", standby->name, primary->name, standby->host);
    int rc = run_task(d, nm_where(ex, standby), req, what, err);
    free(what);
    json_object_put(req);
    return rc;
}

static int
nm_init(const RestoreExecutor *ex, const TopoNode *node, const char *sockdir, const char *const *hba, size_t nhba,
        Error *err)
{
    const NodeManagerDirectory *d = ex->arg;
    json_object *req = json_object_new_object();
    json_object_object_add(req, "kind", json_object_new_string("init"));
    json_object_object_add(req, "pgdata", json_object_new_string(node->data_dir));
    json_object_object_add(req, "port", json_object_new_int(node->port));
    json_object_object_add(req, "listen", json_object_new_string(node->host));
    json_object_object_add(req, "socket_dir", json_object_new_string(sockdir));
    json_object_object_add(req, "hba", hba_json(hba, nhba));
    char *what = xprintf("fresh instance of %s (host %s)", node->name, node->host);
    int rc = run_task(d, nm_where(ex, node), req, what, err);
    free(what);
    json_object_put(req);
    return rc;
}

static int
nm_discard(const RestoreExecutor *ex, const TopoNode *node, Error *err)
{
    const NodeManagerDirectory *d = ex->arg;
    json_object *req = json_object_new_object();
    json_object_object_add(req, "kind", json_object_new_string("discard"));
    json_object_object_add(req, "pgdata", json_object_new_string(node->data_dir));
    char *what = xprintf("discard of %s (host %s)", node->name, node->host);
    int rc = run_task(d, nm_where(ex, node), req, what, err);
    free(what);
    json_object_put(req);
    return rc;
}

void
nodemgr_restore_executor_init(RestoreExecutor *ex, const NodeManagerDirectory *dir)
{
    memset(ex, 0, sizeof(*ex));
    ex->where = nm_where;
    ex->restore = nm_restore;
    ex->standby = nm_standby;
    ex->init = nm_init;
    ex->discard = nm_discard;
    ex->arg = (void *) dir;
}
