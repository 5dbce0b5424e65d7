/* The node manager's HTTP/JSON API (every call authenticated by
 * src/daemon/http_server.c):
 *   POST /api/v1/tasks        {"kind": ..., ...} -> 202 {"task": id, "url"}
 *   GET  /api/v1/tasks        {"tasks": [...]}, newest first
 *   GET  /api/v1/tasks/{id}   one task: state, reason, progress, result
 *   POST /api/v1/tasks/{id}/cancel   stop a running backup task -> 202
 *   GET  /api/v1/instances    the configured instances */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "nodemgr/nodemgr.h"

#define TASKS_PATH "/api/v1/tasks"

static void
post_task(NodeManager *nm, const char *body, size_t len, HttpResponse *out)
{
    json_object *o = http_json_object(body, len, false, out);
    if (!o)
        return;
    int64_t id;
    int status;
    Error err;
    if (task_submit(&nm->tasks, o, &id, &status, &err) != 0)
        http_error(out, status, "%s", err.msg);
    else
    {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "task", json_object_new_int64(id));
        char *url = xprintf(TASKS_PATH "/%lld", (long long) id);
        json_object_object_add(r, "url", json_object_new_string(url));
        free(url);
        http_reply(out, 202, r);
    }
    json_object_put(o);
}

void
nodemgr_api_handle(void *ctx, const char *method, const char *url, const char *body, size_t body_len,
                   HttpResponse *out)
{
    NodeManager *nm = ctx;
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(url, TASKS_PATH))
    {
        if (post)
            post_task(nm, body, body_len, out);
        else if (get)
        {
            json_object *r = json_object_new_object();
            json_object_object_add(r, "tasks", tasks_list(&nm->tasks));
            http_reply(out, 200, r);
        }
        else
        {
            http_error(out, 405, "%s %s: use GET or POST", method, url);
            out->allow = "GET, POST";
        }
        return;
    }
    if (!strncmp(url, TASKS_PATH "/", strlen(TASKS_PATH) + 1))
    {
        const char *idtext = url + strlen(TASKS_PATH) + 1;
        long id;
        Error err;
        const char *slash = strchr(idtext, '/');
        if (slash && !strcmp(slash, "/cancel"))
        {
            char *num = xstrdup(idtext);
            num[slash - idtext] = '\0';
            int status;
            if (!post)
            {
                http_error(out, 405, "%s %s: use POST", method, url);
                out->allow = "POST";
            }
            else if (parse_int_range(num, 1, LONG_MAX, &id, &err) != 0)
                http_error(out, 400, "task id '%s' is not a positive integer", num);
            else if (task_cancel(&nm->tasks, id, &status, &err) != 0)
                http_error(out, status, "%s", err.msg);
            else
            {
                json_object *r = json_object_new_object();
                json_object_object_add(r, "task", json_object_new_int64(id));
                json_object_object_add(r, "cancelling", json_object_new_boolean(true));
                http_reply(out, 202, r);
            }
            free(num);
            return;
        }
        if (!get)
        {
            http_error(out, 405, "%s %s: use GET", method, url);
            out->allow = "GET";
        }
        else if (parse_int_range(idtext, 1, LONG_MAX, &id, &err) != 0)
            http_error(out, 400, "task id '%s' is not a positive integer", idtext);
        else
        {
            json_object *t = task_get(&nm->tasks, id);
            if (t)
                http_reply(out, 200, t);
            else
                http_error(out, 404, "no task %ld on this node manager (never created, forgotten, or the node "
                                     "manager restarted)", id);
        }
        return;
    }
    if (!strcmp(url, "/api/v1/instances"))
    {
        if (!get)
        {
            http_error(out, 405, "%s %s: use GET", method, url);
            out->allow = "GET";
            return;
        }
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < nm->cfg.ninstances; i++)
        {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "name", json_object_new_string(nm->cfg.instances[i].name));
            json_object_object_add(e, "pgdata", json_object_new_string(nm->cfg.instances[i].pgdata));
            json_object_array_add(a, e);
        }
        json_object *r = json_object_new_object();
        json_object_object_add(r, "instances", a);
        http_reply(out, 200, r);
        return;
    }
    http_error(out, 404, "no such API path: %s", url);
}
