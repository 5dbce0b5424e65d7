/* The cluster manager's API (docs/manager.md): a request's path routed to
 * its handler (api_handlers.h: api_clusters.c, api_pool.c, api_jobs.c,
 * restore_plan.c; policy.c, job_log.c, node_health.c, metrics.c), and
 * what changes state admitted one request at a time. Every failure is a
 * status with a JSON body {"error": "..."} that names the thing and the
 * cause: bad input is a 4xx, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/clusters.h"
#include "cluster/topology.h"
#include "common/util.h"
#include "manager/api_handlers.h"
#include "manager/manager.h"

int
api_body_string(json_object *o, const char *key, const char **val, ApiResponse *out)
{
    json_object *v;
    *val = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
    {
        http_error(out, 400, "\"%s\" must be a string", key);
        return -1;
    }
    *val = json_object_get_string(v);
    return 0;
}

/* 0 if registered; otherwise the response is set (400 bad name, 404 unknown). */
static int
cluster_check(Manager *m, const char *name, ApiResponse *out)
{
    Error err;
    if (topology_name_check("cluster name", name, &err) != 0)
    {
        http_error(out, 400, "%s", err.msg);
        return -1;
    }
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return -1;
    bool found;
    int rc = 0;
    if (catalog_cluster_exists(c, name, &found, &err) != 0)
        rc = -1, http_error(out, 500, "%s", err.msg);
    else if (!found)
        rc = -1, http_error(out, 404, "cluster %s is not registered (strata cluster register)", name);
    return rc;
}

/* ---- routing ---- */

#define MAX_SEGMENTS 8

static bool
method_is(const char *method, const char *want, const char *allow, ApiResponse *out)
{
    if (!strcmp(method, want))
        return true;
    out->allow = allow;
    http_error(out, 405, "method %s is not allowed here (allowed: %s)", method, allow);
    return false;
}

/* /api/v1/jobs[/{id}[/log|/cancel]] */
static void
route_jobs(Manager *m, const char *method, char **seg, int n, ApiResponse *out)
{
    if (n == 5 && !strcmp(seg[4], "log"))
    {
        long id;
        if (method_is(method, "GET", "GET", out) && api_job_id_arg(seg[3], &id, out))
            job_log_get(m, id, out);
    }
    else if (n == 5 && !strcmp(seg[4], "cancel"))
    {
        if (method_is(method, "POST", "POST", out))
            api_post_job_cancel(m, seg[3], out);
    }
    else if (method_is(method, "GET", "GET", out))
    {
        if (n == 3)
            api_get_jobs(m, out);
        else
            api_get_job(m, seg[3], out);
    }
}

/* /api/v1/clusters/{c}[/what]; a POST's body is parsed into *json (the
 * caller frees it). */
static void
route_cluster(Manager *m, const char *method, const char *url, char **seg, int n, const char *body, size_t body_len,
              json_object **json, ApiResponse *out)
{
    bool post = !strcmp(method, "POST");
    const char *name = seg[3], *what = n == 5 ? seg[4] : "";
    const char *allow = !*what || !strcmp(what, "window") ? "GET"
                        : !strcmp(what, "backups") || !strcmp(what, "cps") || !strcmp(what, "policies")
                            ? "GET, POST"
                        : !strcmp(what, "restore-plan") || !strcmp(what, "restores") || !strcmp(what, "check")
                            ? "POST" : NULL;
    if (!allow)
        http_error(out, 404, "no such endpoint: %s", url);
    else if (strcmp(method, "GET") && !(post && strstr(allow, "POST")))
        method_is(method, "", allow, out);
    else if (post && !(*json = http_json_object(body, body_len, true, out)))
        ;   /* 400 set */
    else if (cluster_check(m, name, out) != 0)
        ;   /* 400/404 set */
    else if (!*what)
        api_get_cluster(m, name, out);
    else if (!strcmp(what, "window"))
        api_get_window(m, name, out);
    else if (!strcmp(what, "backups"))
        post ? api_post_backup(m, name, *json, out) : api_get_backups(m, name, out);
    else if (!strcmp(what, "cps"))
        post ? api_post_cp(m, name, *json, out) : api_get_cps(m, name, out);
    else if (!strcmp(what, "policies"))
        post ? policy_api_create(m, name, *json, out) : policy_api_list(m, name, out);
    else if (!strcmp(what, "restores"))
        api_post_restore(m, name, *json, out);
    else if (!strcmp(what, "check"))
        api_post_check(m, name, out);
    else
        api_post_restore_plan(m, name, *json, out);
}

/* A request whose path is split into seg[0..n-1]. */
static void
route(Manager *m, const char *method, const char *url, char **seg, int n, const char *body, size_t body_len,
      json_object **json, ApiResponse *out)
{
    if (n == 1 && !strcmp(seg[0], "metrics"))
    {
        if (method_is(method, "GET", "GET", out))
        {
            out->status = 200;
            out->body = metrics_render(m);
            out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        }
    }
    else if (n < 3 || strcmp(seg[0], "api") || strcmp(seg[1], "v1"))
        http_error(out, 404, "no such endpoint: %s (the API is under /api/v1)", url);
    else if (!strcmp(seg[2], "node-managers") && n == 3)
    {
        /* A GET: it waits for the node managers without holding anything. */
        if (method_is(method, "GET", "GET", out))
            node_managers_health(m, out);
    }
    else if (!strcmp(seg[2], "jobs") && (n <= 4 || (n == 5 && (!strcmp(seg[4], "log") || !strcmp(seg[4], "cancel")))))
        route_jobs(m, method, seg, n, out);
    else if (!strcmp(seg[2], "clusters") && n == 3)
    {
        if (method_is(method, "GET", "GET", out))
            api_get_clusters(m, out);
    }
    else if (!strcmp(seg[2], "clusters") && n <= 5)
        route_cluster(m, method, url, seg, n, body, body_len, json, out);
    else if (!strcmp(seg[2], "policies") && n == 4)
    {
        if (!strcmp(method, "DELETE"))
            policy_api_delete(m, seg[3], out);
        else if (strcmp(method, "PATCH"))
            method_is(method, "", "PATCH, DELETE", out);
        else if ((*json = http_json_object(body, body_len, true, out)))
            policy_api_patch(m, seg[3], *json, out);
    }
    else
        http_error(out, 404, "no such endpoint: %s", url);
}

void
api_handle(Manager *m, const char *method, const char *url, const char *body, size_t body_len, ApiResponse *out)
{
    memset(out, 0, sizeof(*out));
    /* Split the path; empty segments (a trailing slash) are ignored. */
    char *path = xstrdup(url);
    char *seg[MAX_SEGMENTS];
    int n = 0;
    bool too_deep = false;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save))
    {
        if (n == MAX_SEGMENTS)
        {
            too_deep = true;
            break;
        }
        seg[n++] = s;
    }
    json_object *json = NULL;
    /* Requests run in parallel (one per server thread), each on its own
     * metadata connection. What changes state is admitted one request at a
     * time: its checks (a free name, free ports, a CP name not taken) and
     * the job or record it then creates must not interleave with another's.
     * A restore plan only reads: it is not held back by them, nor holds
     * them back. */
    bool read_only_post = n == 5 && !strcmp(seg[4], "restore-plan");
    bool admit = strcmp(method, "GET") != 0 && !read_only_post;
    if (admit)
        pthread_mutex_lock(&m->admit_lock);
    if (too_deep)
        http_error(out, 404, "no such endpoint: %s", url);
    else
        route(m, method, url, seg, n, body, body_len, &json, out);
    if (admit)
        pthread_mutex_unlock(&m->admit_lock);
    api_meta_conn_release(m);
    json_object_put(json);
    free(path);
}
