/* The placement of a restored cluster on the user's hosts
 * (restore/placement.c): a 2-shard cluster with 3-node replica sets on
 * three hosts has each set's nodes on three distinct hosts, primaries
 * spread, ports from each host's range skipping the taken ones, data
 * directories under each host's root; one host takes everything on
 * consecutive ports; an exhausted range names the host; bad placement
 * documents are refused naming the field; --hosts picks and orders hosts;
 * only loopback counts as this host. */
#include <string.h>

#include "common/util.h"
#include "restore/placement.h"
#include "unit.h"

static const char *const SOURCE =
    "{\"name\": \"c1\", \"database\": \"bank\", \"meta\": ["
    "{\"name\": \"meta-1\", \"host\": \"10.0.0.1\", \"port\": 5432, \"role\": \"primary\"},"
    "{\"name\": \"meta-2\", \"host\": \"10.0.0.2\", \"port\": 5432, \"role\": \"standby\"},"
    "{\"name\": \"meta-3\", \"host\": \"10.0.0.3\", \"port\": 5432, \"role\": \"standby\"}],"
    "\"shards\": ["
    "{\"name\": \"shard1\", \"nodes\": [{\"name\": \"s1-1\", \"host\": \"10.0.1.1\", \"port\": 5432, \"role\": \"primary\"},"
    "{\"name\": \"s1-2\", \"host\": \"10.0.1.2\", \"port\": 5432, \"role\": \"standby\"},"
    "{\"name\": \"s1-3\", \"host\": \"10.0.1.3\", \"port\": 5432, \"role\": \"standby\"}]},"
    "{\"name\": \"shard2\", \"nodes\": [{\"name\": \"s2-1\", \"host\": \"10.0.2.1\", \"port\": 5432, \"role\": \"primary\"},"
    "{\"name\": \"s2-2\", \"host\": \"10.0.2.2\", \"port\": 5432, \"role\": \"standby\"},"
    "{\"name\": \"s2-3\", \"host\": \"10.0.2.3\", \"port\": 5432, \"role\": \"standby\"}]}],"
    "\"compute\": [{\"name\": \"compute-1\", \"host\": \"10.0.3.1\", \"port\": 5432}]}";

static int
parse(const char *text, Placement *p, Error *err)
{
    json_object *j = json_tokener_parse(text);
    int rc = placement_from_json(j, "unit placement", p, err);
    json_object_put(j);
    return rc;
}

static bool
distinct_hosts(const ReplicaSet *s)
{
    for (size_t i = 0; i < s->nnodes; i++)
        for (size_t k = i + 1; k < s->nnodes; k++)
            if (!strcmp(s->nodes[i].host, s->nodes[k].host))
                return false;
    return true;
}

static void
three_hosts(const Topology *src)
{
    Placement p;
    Error err;
    int rc = parse("{\"hosts\": [{\"host\": \"198.18.10.21\", \"data_root\": \"/srv/a\", \"ports\": \"32100-32199\"},"
                   "{\"host\": \"198.18.10.22\", \"data_root\": \"/srv/b\", \"ports\": \"32100-32199\"},"
                   "{\"host\": \"198.18.10.23\", \"data_root\": \"/srv/c\", \"ports\": \"32200-32299\"}],"
                   "\"hba\": [\"host all all 198.18.10.0/24 trust\"]}", &p, &err);
    CHECK(rc == 0 && p.n == 3 && p.nhba == 1, "a placement of three hosts and one hba line parses");
    if (rc != 0)
        return;
    PlacementUsed used[] = {{"198.18.10.21", 32100}, {"198.18.10.99", 32200}};
    Topology t;
    rc = placement_plan(src, "c2", &p, used, 2, &t, &err);
    CHECK(rc == 0, "the new cluster is placed");
    if (rc != 0)
    {
        printf("# %s\n", err.msg);
        placement_free(&p);
        return;
    }
    CHECK(!strcmp(t.name, "c2") && !strcmp(t.origin, "c1") && t.nshards == 2 && t.ncompute == 1,
          "same sets and nodes, named c2, origin c1");
    CHECK(distinct_hosts(&t.meta) && distinct_hosts(&t.shards[0]) && distinct_hosts(&t.shards[1]),
          "each replica set's nodes are on three distinct hosts");
    const char *p0 = topology_primary(&t.meta)->host, *p1 = topology_primary(&t.shards[0])->host,
               *p2 = topology_primary(&t.shards[1])->host;
    CHECK(strcmp(p0, p1) && strcmp(p1, p2) && strcmp(p0, p2), "the three primaries are on three hosts");
    CHECK(!strcmp(t.meta.nodes[0].host, "198.18.10.21") && t.meta.nodes[0].port == 32101,
          "meta-1 on the first host, skipping its taken port 32100");
    CHECK(!strcmp(t.meta.nodes[0].data_dir, "/srv/a/c2/meta/meta-1"), "its directory is DATA_ROOT/c2/meta/meta-1");
    CHECK(!strcmp(t.meta.nodes[2].host, "198.18.10.23") && t.meta.nodes[2].port == 32200,
          "meta-3 on the third host from its own range (another host's taken port does not count)");
    CHECK(!strcmp(t.shards[1].nodes[0].data_dir, "/srv/c/c2/shard2/s2-1"), "s2-1 in DATA_ROOT/c2/shard2/s2-1");
    CHECK(!strcmp(t.compute[0].host, "198.18.10.21") && !strcmp(t.compute[0].data_dir, "/srv/a/c2/compute/compute-1"),
          "the compute node round-robin after the shards");
    bool unique = true;
    const ReplicaSet *sets[] = {&t.meta, &t.shards[0], &t.shards[1]};
    for (size_t a = 0; a < 3; a++)
        for (size_t i = 0; i < sets[a]->nnodes; i++)
            for (size_t b = 0; b < 3; b++)
                for (size_t k = 0; k < sets[b]->nnodes; k++)
                    if ((a != b || i != k) && sets[a]->nodes[i].port == sets[b]->nodes[k].port &&
                        !strcmp(sets[a]->nodes[i].host, sets[b]->nodes[k].host))
                        unique = false;
    CHECK(unique, "no two nodes share a host and port");
    topology_free(&t);

    rc = placement_select(&p, "198.18.10.23,198.18.10.21", &err);
    CHECK(rc == 0 && p.n == 2 && !strcmp(p.hosts[0].host, "198.18.10.23"), "hosts picks two, in the order given");
    rc = placement_plan(src, "c3", &p, NULL, 0, &t, &err);
    CHECK(rc == 0 && !strcmp(t.meta.nodes[0].host, "198.18.10.23") && !strcmp(t.meta.nodes[2].host, "198.18.10.23") &&
              !strcmp(t.meta.nodes[1].host, "198.18.10.21"),
          "on two hosts a set of three takes both, alternating");
    if (rc == 0)
        topology_free(&t);
    rc = placement_select(&p, "198.18.10.22", &err);
    CHECK(rc != 0 && strstr(err.msg, "198.18.10.22"), "a host that is not available is refused, named");
    placement_free(&p);
}

static void
one_host_and_limits(const Topology *src)
{
    Placement p;
    Error err;
    int rc = parse("{\"hosts\": [{\"host\": \"db1\", \"data_root\": \"/d\", \"ports\": \"40000-40009\"}]}", &p, &err);
    CHECK(rc == 0, "a one-host placement parses");
    Topology t;
    rc = rc == 0 ? placement_plan(src, "c2", &p, NULL, 0, &t, &err) : -1;
    CHECK(rc == 0 && t.compute[0].port == 40009 && t.meta.nodes[0].port == 40000,
          "ten nodes on one host: ports 40000 to 40009");
    if (rc == 0)
        topology_free(&t);
    PlacementUsed used[] = {{"db1", 40003}};
    rc = placement_plan(src, "c2", &p, used, 1, &t, &err);
    CHECK(rc != 0 && strstr(err.msg, "db1") && strstr(err.msg, "40000-40009"),
          "an exhausted port range is refused naming the host and the range");
    placement_free(&p);

    static const char *const bad[][2] = {
        {"{}", "hosts"},
        {"{\"hosts\": []}", "hosts"},
        {"{\"hosts\": [{\"host\": \"a b\", \"data_root\": \"/d\", \"ports\": \"2000-2001\"}]}", "\"host\""},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"d\", \"ports\": \"2000-2001\"}]}", "data_root"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d/../e\", \"ports\": \"2000-2001\"}]}", "data_root"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"2001-2000\"}]}", "ports"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"80-90\"}]}", "ports"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"2000-2001\"}, "
         "{\"host\": \"a\", \"data_root\": \"/e\", \"ports\": \"2000-2001\"}]}", "twice"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"2000-2001\"}], \"hba\": [\"trust all\"]}",
         "hba"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"2000-2001\"}], "
         "\"hba\": [\"host all all 0/0 trust\\nlocal all all trust\"]}", "hba"},
        {"{\"hosts\": [{\"host\": \"a\", \"data_root\": \"/d\", \"ports\": \"2000-2001\"}], \"extra\": 1}", "extra"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        rc = parse(bad[i][0], &p, &err);
        char name[128];
        snprintf(name, sizeof(name), "bad placement %zu is refused, naming %s", i + 1, bad[i][1]);
        CHECK(rc != 0 && strstr(err.msg, bad[i][1]), name);
        if (rc == 0)
            placement_free(&p);
    }
    CHECK(placement_plan(src, "c2", NULL, NULL, 0, &t, &err) != 0 && strstr(err.msg, "no host"),
          "no host at all is refused");
}

int
main(void)
{
    Topology src;
    Error err;
    int rc = topology_from_json(SOURCE, "unit topology", &src, &err);
    CHECK(rc == 0, "the source topology parses");
    if (rc != 0)
    {
        printf("# %s\n", err.msg);
        UNIT_DONE();
    }
    three_hosts(&src);
    one_host_and_limits(&src);
    topology_free(&src);
    CHECK(host_is_loopback("127.0.0.1") && host_is_loopback("127.1.2.3") && host_is_loopback("localhost") &&
              host_is_loopback("::1"),
          "127.0.0.0/8, localhost and ::1 are this host");
    CHECK(!host_is_loopback("198.18.10.21") && !host_is_loopback("127.0.0.1.example.com") &&
              !host_is_loopback("db1") && !host_is_loopback(NULL),
          "another address, a name that starts with 127., a host name: other hosts");
    UNIT_DONE();
}
