/* strata cluster register|show|list: the cluster topology in the catalog. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "catalog/catalog.h"
#include "catalog/clusters.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

static const char usage_text[] =
    "usage: strata cluster register --meta-conn CONNINFO --topology FILE\n"
    "       strata cluster show --meta-conn CONNINFO --cluster NAME [--output text|json]\n"
    "       strata cluster list --meta-conn CONNINFO [--output text|json]\n"
    "\n"
    "register  creates strata's catalog in the metadata database if missing (and\n"
    "          the database itself) and records the cluster described by FILE,\n"
    "          replacing an earlier registration of the same name\n"
    "show      prints a registered cluster (json: the topology file format)\n"
    "list      the registered clusters\n"
    "CONNINFO  the metadata primary; the database defaults to 'strata'\n";

enum { OPT_META_CONN = OPT_FIRST_COMMAND_OPTION, OPT_TOPOLOGY, OPT_CLUSTER };

static void
print_node(const char *set, const TopoNode *n)
{
    printf("  %-10s %-14s %-8s %s:%-6d %s\n", set, n->name, node_role_name(n->role), n->host, n->port,
           n->data_dir ? n->data_dir : "-");
}

static void
print_topology(const Topology *t)
{
    printf("cluster %s: %zu shard(s), %zu compute node(s); database %s, metadata database %s", t->name, t->nshards,
           t->ncompute, t->database, t->meta_database);
    if (t->origin)
        printf(", restored from %s", t->origin);
    if (t->created_at)
        printf(", registered %s", t->created_at);
    printf("\n  %-10s %-14s %-8s %-16s %s\n", "SET", "NODE", "ROLE", "ADDRESS", "DATA DIRECTORY");
    for (size_t i = 0; i < t->meta.nnodes; i++)
        print_node(t->meta.name, &t->meta.nodes[i]);
    for (size_t s = 0; s < t->nshards; s++)
        for (size_t i = 0; i < t->shards[s].nnodes; i++)
            print_node(t->shards[s].name, &t->shards[s].nodes[i]);
    for (size_t i = 0; i < t->ncompute; i++)
        print_node("compute", &t->compute[i]);
}

static void
print_json(json_object *o)
{
    cli_json_result(json_object_get(o));
}

static int
do_register(const char *meta_conn, const char *file, const CommonOptions *co)
{
    Error err;
    Topology t;
    if (topology_load_file(file, &t, &err) != 0)
        return cli_fail(&err);
    PGconn *meta = catalog_connect(meta_conn, true, &err);
    int rc = 0;
    if (!meta)
        rc = -1;
    if (rc == 0)
        rc = catalog_ensure(meta, &err);
    if (rc == 0)
        rc = topology_save(meta, &t, &err);
    if (rc == 0)
    {
        Topology back;
        rc = topology_load(meta, t.name, &back, &err);
        if (rc == 0)
        {
            if (co->json)
            {
                json_object *o = topology_to_json(&back);
                print_json(o);
                json_object_put(o);
            }
            else if (!co->quiet)
                print_topology(&back);
            topology_free(&back);
        }
    }
    PQfinish(meta);
    topology_free(&t);
    return rc == 0 ? 0 : cli_fail(&err);
}

static int
do_show(const char *meta_conn, const char *cluster, const CommonOptions *co)
{
    Error err;
    PGconn *meta = catalog_connect(meta_conn, false, &err);
    if (!meta)
        return cli_fail(&err);
    Topology t;
    int rc = topology_load(meta, cluster, &t, &err);
    PQfinish(meta);
    if (rc != 0)
        return cli_fail(&err);
    if (co->json)
    {
        json_object *o = topology_to_json(&t);
        print_json(o);
        json_object_put(o);
    }
    else
        print_topology(&t);
    topology_free(&t);
    return 0;
}

static int
do_list(const char *meta_conn, const CommonOptions *co)
{
    Error err;
    PGconn *meta = catalog_connect(meta_conn, false, &err);
    if (!meta)
        return cli_fail(&err);
    /* name, created_at, origin (NULL: none), shards, nodes */
    PGresult *r = catalog_clusters_summary(meta, "metadata primary", &err);
    PQfinish(meta);
    if (!r)
        return cli_fail(&err);
    json_object *arr = co->json ? json_object_new_array() : NULL;
    for (int i = 0; i < PQntuples(r); i++)
    {
        if (arr)
        {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, 0)));
            json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 1)));
            json_object_object_add(o, "shards", json_object_new_int(atoi(PQgetvalue(r, i, 3))));
            json_object_object_add(o, "nodes", json_object_new_int(atoi(PQgetvalue(r, i, 4))));
            if (*PQgetvalue(r, i, 2))
                json_object_object_add(o, "origin", json_object_new_string(PQgetvalue(r, i, 2)));
            json_object_array_add(arr, o);
        }
        else
            printf("%s\t%s shard(s)\t%s node(s)\tregistered %s%s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 3),
                   PQgetvalue(r, i, 4), PQgetvalue(r, i, 1), *PQgetvalue(r, i, 2) ? "\trestored from " : "",
                   PQgetvalue(r, i, 2));
    }
    PQclear(r);
    if (arr)
    {
        print_json(arr);
        json_object_put(arr);
    }
    return 0;
}

int
cmd_cluster(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"meta-conn", required_argument, NULL, OPT_META_CONN},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return cli_usage_error("cluster", "no subcommand (register, show or list)");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "help") || !strcmp(sub, "-h"))
    {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(sub, "register") && strcmp(sub, "show") && strcmp(sub, "list"))
        return cli_usage_error("cluster", "unknown subcommand '%s' (register, show or list)", sub);
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "cluster %s", sub);
    argc--;
    argv++;
    CommonOptions co;
    common_options_init(&co);
    const char *meta_conn = NULL, *topo = NULL, *cluster = NULL;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, cmd, usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_META_CONN: meta_conn = optarg; break;
            case OPT_TOPOLOGY: topo = optarg; break;
            case OPT_CLUSTER: cluster = optarg; break;
            default: return cli_bad_option(cmd, argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!meta_conn)
        return cli_usage_error(cmd, "--meta-conn is required (the metadata primary's connection string)");
    if (!strcmp(sub, "register"))
    {
        if (!topo)
            return cli_usage_error(cmd, "--topology FILE is required");
        if (cluster)
            return cli_usage_error(cmd, "--cluster does not apply: the topology file names the cluster");
        return do_register(meta_conn, topo, &co);
    }
    if (topo)
        return cli_usage_error(cmd, "--topology applies to register only");
    if (!strcmp(sub, "list"))
        return do_list(meta_conn, &co);
    Error err;
    if (!cluster)
        return cli_usage_error(cmd, "--cluster NAME is required");
    if (topology_name_check("--cluster", cluster, &err) != 0)
        return cli_usage_error(cmd, "%s", err.msg);
    return do_show(meta_conn, cluster, &co);
}
