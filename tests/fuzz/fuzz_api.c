/* API request bodies: the JSON body reader both daemons use, then the node
 * manager's task validation (what a cluster manager, or anyone holding the
 * token, can send) and the manager's policy window. Validation only:
 * nothing is started. */
#include "daemon/daemon.h"
#include "fuzz.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    HttpResponse out = {0};
    json_object *o = http_json_object((const char *) data, size, false, &out);
    free(out.body);
    if (o)
    {
        NodeManagerConfig cfg = {0};
        int status;
        Error err;
        task_validate(&cfg, o, &status, &err);
        json_object *w;
        if (json_object_object_get_ex(o, "window", &w) && json_object_is_type(w, json_type_string))
        {
            int a, b;
            policy_window_parse(json_object_get_string(w), &a, &b, &err);
        }
        json_object_put(o);
    }
    return 0;
}
