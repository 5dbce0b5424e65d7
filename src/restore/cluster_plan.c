#include "restore/cluster_plan.h"

#include <stdlib.h>

#include "common/util.h"

size_t
cluster_plan_node_count(const Topology *t)
{
    size_t n = t->meta.nnodes + t->ncompute;
    for (size_t i = 0; i < t->nshards; i++)
        n += t->shards[i].nnodes;
    return n;
}

/* Places the nodes of one JSON node list (a set named `set`). */
static void
place_nodes(json_object *nodes, const char *set, const char *dir, int *port)
{
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++)
    {
        json_object *node = json_object_array_get_idx(nodes, i);
        json_object *name = NULL;
        json_object_object_get_ex(node, "name", &name);
        json_object_object_add(node, "host", json_object_new_string("127.0.0.1"));
        json_object_object_add(node, "port", json_object_new_int((*port)++));
        char *path = xprintf("%s/%s/%s", dir, set, name ? json_object_get_string(name) : "");
        json_object_object_add(node, "data_dir", json_object_new_string(path));
        free(path);
    }
}

int
cluster_plan_topology(const Topology *src, const char *to, const char *dir, int base_port, Topology *out,
                      Error *err)
{
    size_t nodes = cluster_plan_node_count(src);
    if (base_port < 1 || (long long) base_port + (long long) nodes - 1 > 65535)
        return error_set(err, "--base-port %d: the new cluster's %zu nodes need ports %d to %lld, beyond the last "
                              "port 65535: choose a lower --base-port",
                         base_port, nodes, base_port, (long long) base_port + (long long) nodes - 1);
    json_object *j = topology_to_json(src);
    json_object_object_add(j, "name", json_object_new_string(to));
    json_object_object_add(j, "origin", json_object_new_string(src->name));
    int port = base_port;
    json_object *list;
    if (json_object_object_get_ex(j, "meta", &list))
        place_nodes(list, TOPO_META_SET, dir, &port);
    if (json_object_object_get_ex(j, "shards", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++)
        {
            json_object *sh = json_object_array_get_idx(list, i), *nodes_of = NULL, *name = NULL;
            json_object_object_get_ex(sh, "nodes", &nodes_of);
            json_object_object_get_ex(sh, "name", &name);
            place_nodes(nodes_of, name ? json_object_get_string(name) : "", dir, &port);
        }
    if (json_object_object_get_ex(j, "compute", &list))
        place_nodes(list, "compute", dir, &port);
    int rc = topology_from_json(json_object_to_json_string(j), "restored topology", out, err);
    json_object_put(j);
    return rc;
}
