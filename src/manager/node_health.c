/* GET /api/v1/node-managers: each configured node manager asked for its
 * instances now, so an operator (and the UI) sees which ones answer, and
 * why one does not (refused, timed out, a certificate the node_ca_file did
 * not sign, a token it rejects). Runs without the metadata lock: a node
 * manager that does not answer must not stall the rest of the API. */
#include <string.h>

#include "manager/manager.h"
#include "nodemgr/nodemgr.h"

static json_object *
probe(const ManagerConfig *c, size_t i)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "host", json_object_new_string(c->node_manager_hosts[i]));
    json_object_object_add(e, "url", json_object_new_string(c->node_manager_urls[i]));
    long status = 0;
    json_object *answer = NULL, *list;
    Error err;
    bool ok = false;
    if (nodemgr_call(c->node_manager_urls[i], c->node_token, "GET", "/api/v1/instances", NULL, &status, &answer,
                     &err) != 0)
        json_object_object_add(e, "error", json_object_new_string(err.msg));
    else if (status != 200)
    {
        json_object *msg;
        const char *why = answer && json_object_object_get_ex(answer, "error", &msg) ? json_object_get_string(msg)
                                                                                    : "no error message";
        char text[ERROR_MSG_MAX];
        snprintf(text, sizeof(text), "node manager %s answered HTTP %ld: %s", c->node_manager_urls[i], status, why);
        json_object_object_add(e, "error", json_object_new_string(text));
    }
    else
    {
        ok = true;
        if (answer && json_object_object_get_ex(answer, "instances", &list) && json_object_is_type(list, json_type_array))
            json_object_object_add(e, "instances", json_object_get(list));
    }
    json_object_object_add(e, "status", json_object_new_int64(status));
    json_object_object_add(e, "reachable", json_object_new_boolean(ok));
    json_object_put(answer);
    return e;
}

void
node_managers_health(Manager *m, ApiResponse *out)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < m->cfg.n_node_managers; i++)
        json_object_array_add(a, probe(&m->cfg, i));
    json_object *r = json_object_new_object();
    json_object_object_add(r, "node_managers", a);
    http_reply(out, 200, r);
}
