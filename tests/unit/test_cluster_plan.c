/* Cluster restore planning without servers (restore/cluster_plan.c): a
 * 70-shard topology gets every node placed, on its own port and directory,
 * in the same sets under the same names; a base port that would run past
 * 65535 is refused naming the limit. */
#include <string.h>

#include "common/util.h"
#include "restore/cluster_plan.h"
#include "unit.h"

#define NSHARDS 70

static char *
topology_text(void)
{
    Buffer b = {0};
    buffer_appendf(&b, "{\"name\": \"big\", \"database\": \"bank\", \"meta\": [{\"name\": \"meta-1\", \"host\": \"10.0.0.1\", "
                      "\"port\": 5432, \"role\": \"primary\"}], \"shards\": [");
    for (int s = 0; s < NSHARDS; s++)
        buffer_appendf(&b, "%s{\"name\": \"shard%d\", \"nodes\": [{\"name\": \"s%d-a\", \"host\": \"10.1.%d.1\", \"port\": 5432, "
                          "\"role\": \"primary\"}, {\"name\": \"s%d-b\", \"host\": \"10.1.%d.2\", \"port\": 5432, "
                          "\"role\": \"standby\"}]}",
                      s ? ", " : "", s, s, s, s, s);
    buffer_appendf(&b, "], \"compute\": [{\"name\": \"compute-1\", \"host\": \"10.2.0.1\", \"port\": 5432}]}");
    return b.data;
}

int
main(void)
{
    char *text = topology_text();
    Topology src, t;
    Error err;
    int rc = topology_from_json(text, "unit topology", &src, &err);
    CHECK(rc == 0 && src.nshards == NSHARDS, "a 70-shard topology parses");
    if (rc != 0)
    {
        printf("# %s\n", err.msg);
        UNIT_DONE();
    }
    size_t nodes = cluster_plan_node_count(&src);
    CHECK(nodes == 1 + 2 * NSHARDS + 1, "142 nodes in it");

    rc = cluster_plan_topology(&src, "big-restored", "/srv/new", 40000, &t, &err);
    CHECK(rc == 0, "the restore is planned");
    if (rc != 0)
    {
        printf("# %s\n", err.msg);
        topology_free(&src);
        free(text);
        UNIT_DONE();
    }
    CHECK(!strcmp(t.name, "big-restored") && t.origin && !strcmp(t.origin, "big"), "named as asked, origin the source");
    CHECK(t.nshards == NSHARDS && cluster_plan_node_count(&t) == nodes, "every shard and node is in the plan");
    bool placed = true, names = true, seen_ports = true;
    char *ports = xcalloc(65536, 1);
    int expect = 40000;
    for (size_t k = 0; k <= t.nshards + 1; k++)
    {
        const TopoNode *list;
        size_t n;
        const char *set, *src_name = NULL;
        if (k == 0)
            list = t.meta.nodes, n = t.meta.nnodes, set = "meta";
        else if (k <= t.nshards)
            list = t.shards[k - 1].nodes, n = t.shards[k - 1].nnodes, set = t.shards[k - 1].name,
            src_name = src.shards[k - 1].name;
        else
            list = t.compute, n = t.ncompute, set = "compute";
        if (src_name && strcmp(set, src_name))
            names = false;
        for (size_t i = 0; i < n; i++)
        {
            char *dir = xprintf("/srv/new/%s/%s", set, list[i].name);
            if (strcmp(list[i].host, "127.0.0.1") || list[i].port != expect++ || !list[i].data_dir ||
                strcmp(list[i].data_dir, dir))
                placed = false;
            if (list[i].port < 0 || list[i].port > 65535 || ports[list[i].port]++)
                seen_ports = false;
            free(dir);
        }
    }
    CHECK(placed, "every node on loopback, on consecutive ports from the base, in DIR/SET/NODE");
    CHECK(seen_ports, "no port given twice");
    CHECK(names, "the shards keep their names and order");
    CHECK(!strcmp(t.shards[NSHARDS - 1].nodes[1].name, "s69-b") && t.shards[NSHARDS - 1].nodes[1].role == NODE_STANDBY,
          "the last shard's standby is there, a standby");
    free(ports);
    topology_free(&t);

    rc = cluster_plan_topology(&src, "big-restored", "/srv/new", 65500, &t, &err);
    CHECK(rc != 0 && strstr(err.msg, "65535") && strstr(err.msg, "142 nodes"),
          "ports past 65535: an error naming the limit and the node count");
    if (rc == 0)
        topology_free(&t);
    topology_free(&src);
    free(text);
    UNIT_DONE();
}
