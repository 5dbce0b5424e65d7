/* Restore jobs of the cluster manager: a source cluster, to a CP, a time or
 * its latest CP, into a new cluster (cluster_restore, as
 * `strata restore --cluster C --to NEW` does). The manager chooses where
 * the new cluster lives when the request does not say: its data
 * directories under restore_root/<name>, its ports as the first free block
 * of restore_ports. Once restored, the new cluster is registered in the
 * manager's own catalog too, so that the API lists it, shows its topology,
 * checks it and backs it up like any other (docs/manager.md). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/catalog.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"
#include "restore/cluster_restore.h"

int
restore_config_load(json_object *conf, const char *path, ManagerConfig *c, Error *err)
{
    json_object *v;
    if (json_object_object_get_ex(conf, "restore_root", &v) && !json_object_is_type(v, json_type_null))
    {
        if (!json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')
            return error_set(err, "%s: \"restore_root\" must be an absolute directory path", path);
        c->restore_root = xstrdup(json_object_get_string(v));
    }
    if (json_object_object_get_ex(conf, "restore_ports", &v) && !json_object_is_type(v, json_type_null))
    {
        const char *text = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        long from, to;
        const char *dash = strchr(text, '-');
        char *first = dash ? xprintf("%.*s", (int) (dash - text), text) : NULL;
        Error e;
        int rc = !dash ? error_set(&e, "not FROM-TO")
                 : parse_int_range(first, 1024, 65535, &from, &e) != 0 ? -1
                 : parse_int_range(dash + 1, 1024, 65535, &to, &e) != 0 ? -1
                 : to < from ? error_set(&e, "%ld is below %ld", to, from) : 0;
        free(first);
        if (rc != 0)
            return error_set(err, "%s: \"restore_ports\" must be \"FROM-TO\" with 1024 <= FROM <= TO <= 65535 "
                                  "(e.g. \"26000-26999\"), not '%s': %s", path, text, e.msg);
        c->restore_port_from = (int) from;
        c->restore_port_to = (int) to;
    }
    return 0;
}


static size_t
node_count(const Topology *t)
{
    size_t n = t->meta.nnodes + t->ncompute;
    for (size_t i = 0; i < t->nshards; i++)
        n += t->shards[i].nnodes;
    return n;
}

/* The first block of `n` consecutive ports in the configured range that no
 * registered node uses (running or not: a stopped cluster comes back) and
 * that nothing on this machine is bound to. */
static int
pick_ports(const ManagerConfig *cfg, PGconn *meta, size_t n, int *base, Error *err)
{
    if (!cfg->restore_port_from)
        return error_set(err, "no \"base_port\" in the request and no \"restore_ports\" in the manager's "
                              "configuration: nowhere to take the new cluster's ports from");
    PGresult *r = PQexec(meta, "SELECT DISTINCT port FROM strata.nodes");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(meta));
        msg[strcspn(msg, "\n")] = '\0';
        PQclear(r);
        return error_set(err, "reading the ports of registered clusters: %s", msg);
    }
    int span = cfg->restore_port_to - cfg->restore_port_from + 1;
    bool *used = xcalloc((size_t) span, sizeof(bool));
    for (int i = 0; i < PQntuples(r); i++)
    {
        int p = atoi(PQgetvalue(r, i, 0));
        if (p >= cfg->restore_port_from && p <= cfg->restore_port_to)
            used[p - cfg->restore_port_from] = true;
    }
    PQclear(r);
    int found = 0;
    for (int b = cfg->restore_port_from; !found && b + (int) n - 1 <= cfg->restore_port_to; b++)
    {
        bool ok = true;
        for (int k = 0; ok && k < (int) n; k++)
            ok = !used[b + k - cfg->restore_port_from] && loopback_port_free(b + k);
        if (ok)
            found = b;
    }
    free(used);
    if (!found)
        return error_set(err, "no %zu free consecutive ports in restore_ports %d-%d (registered clusters' ports and "
                              "ports in use excluded)", n, cfg->restore_port_from, cfg->restore_port_to);
    *base = found;
    return 0;
}

static bool
registered(PGconn *meta, const char *name, Error *err, int *rc)
{
    const char *p[1] = {name};
    PGresult *r = PQexecParams(meta, "SELECT 1 FROM strata.clusters WHERE name = $1", 1, NULL, p, NULL, NULL, 0);
    *rc = 0;
    bool found = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        *rc = error_set(err, "looking up cluster %s: %s", name, PQerrorMessage(meta));
    else
        found = PQntuples(r) > 0;
    PQclear(r);
    return found;
}

/* The job's phase, for GET /api/v1/jobs/{id} (and the UI) while it runs:
 * cluster_restore reports no finer progress. */
static void
phase(const char *job_id, const char *text)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "phase", json_object_new_string(text));
    job_progress_update(job_id, p);
    json_object_put(p);
}

int
run_restore(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const char *cluster, json_object *params,
            json_object **result, Error *err)
{
    const char *to = json_member_string(params, "to"), *cp = json_member_string(params, "cp"),
               *time_text = json_member_string(params, "time"), *dir_param = json_member_string(params, "dir");
    json_object *v;
    int base_port = params && json_object_object_get_ex(params, "base_port", &v) ? json_object_get_int(v) : 0;
    *result = NULL;
    if (!to)
        return error_set(err, "restore job without \"to\" (the new cluster's name)");
    /* The API refused a registered name; it may have been taken since. */
    int rc;
    if (registered(meta, to, err, &rc))
        return error_set(err, "cluster %s is already registered: a restore needs a new name", to);
    if (rc != 0)
        return -1;

    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.pool = cfg->pool;
    o.co.quiet = true;
    o.cluster = cluster;
    o.to = to;
    o.meta_conn = cfg->meta_conn;
    o.cp = cp;
    /* New primaries and standbys go to the node managers of their hosts,
     * as a backup's node backups do. */
    NodeManagerDirectory nodes = {.hosts = cfg->node_manager_hosts, .urls = cfg->node_manager_urls,
                                  .n = cfg->n_node_managers, .token = cfg->node_token};
    RestoreExecutor executor;
    if (cfg->n_node_managers > 0)
    {
        nodemgr_restore_executor_init(&executor, &nodes);
        o.executor = &executor;
    }
    if (time_text && target_parse_time(time_text, &o.target, err) != 0)
        return error_prefix(err, "malformed time: ");
    char *dir = dir_param ? xstrdup(dir_param) : cfg->restore_root ? xprintf("%s/%s", cfg->restore_root, to) : NULL;
    if (!dir)
        rc = error_set(err, "no \"dir\" in the request and no \"restore_root\" in the manager's configuration: "
                            "nowhere to put the new cluster's data directories");
    Topology src;
    bool have_src = false;
    if (rc == 0 && !base_port)
    {
        phase(job_id, "choosing ports");
        /* The new cluster has the source's sets and nodes. */
        rc = topology_load(meta, cluster, &src, err);
        have_src = rc == 0;
        if (rc == 0)
            rc = pick_ports(cfg, meta, node_count(&src), &base_port, err);
    }
    if (rc == 0)
    {
        o.dir = dir;
        o.base_port = base_port;
        log_info("restore of cluster %s into %s: %s, ports from %d", cluster, to, dir, base_port);
        char *text = xprintf("restoring into %s, ports from %d: primaries to the CP, standbys, compute nodes, "
                             "in-doubt transactions", dir, base_port);
        phase(job_id, text);
        free(text);
        rc = cluster_restore_json(&o, result, err);
    }
    /* Registered in the manager's catalog as it is in the new cluster's own. */
    json_object *tj;
    if (rc == 0 && json_object_object_get_ex(*result, "topology", &tj))
    {
        Topology t;
        phase(job_id, "registering the new cluster in the manager's catalog");
        rc = topology_from_json(json_object_to_json_string(tj), "the restored cluster's topology", &t, err);
        if (rc == 0)
        {
            rc = topology_save(meta, &t, err);
            topology_free(&t);
        }
        if (rc != 0)
            error_prefix(err, "cluster %s was restored into %s (running, ports from %d) but registering it in the "
                              "manager's catalog failed: ", cluster, to, base_port);
    }
    if (rc == 0)
    {
        json_object_object_add(*result, "dir", json_object_new_string(dir));
        json_object_object_add(*result, "base_port", json_object_new_int(base_port));
    }
    else
    {
        json_object_put(*result);
        *result = NULL;
    }
    if (have_src)
        topology_free(&src);
    free(dir);
    target_free(&o.target);
    return rc;
}
