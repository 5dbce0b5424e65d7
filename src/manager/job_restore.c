/* Restore jobs of the cluster manager: a source cluster, to a CP, a time or
 * its latest CP, into a new cluster (cluster_restore, as
 * `strata restore --cluster C --to NEW` does). The manager chooses where
 * the new cluster lives when the request does not say: its data
 * directories under restore_root/<name>, its ports as the first free block
 * of restore_ports; or, with node managers that offer a data_root and
 * ports (or a placement file in the request), on those hosts
 * (restore/placement.h), each node restored by its host's node manager. Once restored, the new cluster is registered in the
 * manager's own catalog too, so that the API lists it, shows its topology,
 * checks it and backs it up like any other (docs/manager.md). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/clusters.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"
#include "nodemgr/nodemgr.h"
#include "request/restore_request.h"
#include "restore/cluster_restore.h"
#include "restore/from_request.h"

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
    /* "restore_hba": pg_hba.conf lines of the compute nodes restores make
     * on the node managers' hosts (the manager and clients must reach them). */
    if (json_object_object_get_ex(conf, "restore_hba", &v) && !json_object_is_type(v, json_type_null))
    {
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (!json_object_is_type(v, json_type_array) || n > PLACEMENT_MAX_HBA)
            return error_set(err, "%s: \"restore_hba\" must be an array of at most %d pg_hba.conf lines", path,
                             PLACEMENT_MAX_HBA);
        for (size_t i = 0; i < n; i++)
        {
            json_object *l = json_object_array_get_idx(v, i);
            const char *line = json_object_is_type(l, json_type_string) ? json_object_get_string(l) : NULL;
            if (!placement_hba_line_ok(line))
                return error_set(err, "%s: \"restore_hba\" line %zu must be one pg_hba.conf line (local, host, "
                                      "hostssl, ...), not '%s'", path, i + 1, line ? line : "(not a string)");
            c->resources.hba = xrealloc(c->resources.hba, (c->resources.nhba + 1) * sizeof(char *));
            c->resources.hba[c->resources.nhba++] = xstrdup(line);
        }
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
    PGresult *r = catalog_node_ports(meta, err);
    if (!r)
        return -1;
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

/* The ports registered clusters' nodes take on each host: a placement
 * skips them. */
static int
used_ports(PGconn *meta, PlacementUsed **used, size_t *n, PGresult **keep, Error *err)
{
    *used = NULL;
    *n = 0;
    *keep = catalog_node_host_ports(meta, err);
    if (!*keep)
        return -1;
    *n = (size_t) PQntuples(*keep);
    *used = xcalloc(*n ? *n : 1, sizeof(PlacementUsed));
    for (size_t i = 0; i < *n; i++)
        (*used)[i] = (PlacementUsed){PQgetvalue(*keep, (int) i, 0), atoi(PQgetvalue(*keep, (int) i, 1))};
    return 0;
}

static bool
registered(PGconn *meta, const char *name, Error *err, int *rc)
{
    bool found = false;
    *rc = catalog_cluster_exists(meta, name, &found, err);
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

static int restore_job_run(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const RestoreRequest *req,
                           json_object **result, Error *err);

int
run_restore(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const char *cluster, json_object *params,
            json_object **result, Error *err)
{
    /* The job's params are the API's validated request (post_restore):
     * read back by the same codec. */
    *result = NULL;
    RestoreRequest req;
    restore_request_init(&req);
    if (restore_request_from_json(params, &req, err) != 0 ||
        restore_request_set_flag(&req, "cluster", cluster, err) != 0 ||
        restore_request_validate(&req, RESTORE_AT_MANAGER, err) != 0)
    {
        restore_request_free(&req);
        return error_prefix(err, "restore job parameters: ");
    }
    int rc = restore_job_run(cfg, meta, job_id, &req, result, err);
    restore_request_free(&req);
    return rc;
}

/* A placed restore's options: the configured hosts unless the request
 * names a placement, and the ports registered clusters take (*used points
 * into *used_rows; the caller frees both). */
static int
placement_setup(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const RestoreRequest *req,
                RestoreOptions *o, PlacementUsed **used, PGresult **used_rows, Error *err)
{
    if (!req->placement && cfg->resources.n == 0)
        return error_set(err, "hosts '%s': no node manager of this cluster manager offers a data_root and ports "
                              "(\"node_managers\" in its configuration)", req->hosts);
    if (!req->placement)
        o->placement = &cfg->resources;
    phase(job_id, "placing the new cluster on the hosts");
    int rc = used_ports(meta, used, &o->nused, used_rows, err);
    o->used = *used;
    return rc;
}

/* The restore itself (placed on hosts when dir is NULL, else into dir
 * with ports from base_port), then the new cluster registered in the
 * manager's catalog as it is in the new cluster's own. */
static int
restore_and_register(PGconn *meta, const char *job_id, const RestoreRequest *req, RestoreOptions *o, char *dir,
                     int base_port, json_object **result, Error *err)
{
    const char *cluster = req->cluster, *to = req->to;
    int rc;
    if (!dir)
    {
        log_info("restore of cluster %s into %s, placed on %s", cluster, to,
                 req->placement ? req->placement : req->hosts ? req->hosts : "the node managers' hosts");
        phase(job_id, "restoring on the placement's hosts: primaries to the CP, standbys, compute nodes, in-doubt "
                      "transactions");
        rc = cluster_restore_json(o, result, err);
    }
    else
    {
        o->dir = dir;
        o->base_port = base_port;
        log_info("restore of cluster %s into %s: %s, ports from %d", cluster, to, dir, base_port);
        char *text = xprintf("restoring into %s, ports from %d: primaries to the CP, standbys, compute nodes, "
                             "in-doubt transactions", dir, base_port);
        phase(job_id, text);
        free(text);
        rc = cluster_restore_json(o, result, err);
    }
    json_object *tj;
    if (rc != 0 || !json_object_object_get_ex(*result, "topology", &tj))
        return rc;
    Topology t;
    phase(job_id, "registering the new cluster in the manager's catalog");
    rc = topology_from_json(json_object_to_json_string(tj), "the restored cluster's topology", &t, err);
    if (rc == 0)
    {
        rc = topology_save(meta, &t, err);
        topology_free(&t);
    }
    if (rc != 0)
        error_prefix(err, "cluster %s was restored into %s (running) but registering it in the manager's "
                          "catalog failed: ", cluster, to);
    return rc;
}

static int
restore_job_run(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const RestoreRequest *req,
                json_object **result, Error *err)
{
    const char *to = req->to, *cluster = req->cluster, *dir_param = req->dir;
    int base_port = req->base_port;
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
    /* gtxid targets read the commit log of the manager's metadata cluster */
    o.meta_conn = cfg->meta_conn;
    if (restore_options_from_request(req, &o, err) != 0)
        return -1;
    /* New primaries and standbys go to the node managers of their hosts,
     * as a backup's node backups do. */
    /* Always the executor: a node on a host without a node manager is an
     * error naming it (only this host's are restored in-process). */
    NodeManagerDirectory nodes = {.hosts = cfg->node_manager_hosts, .urls = cfg->node_manager_urls,
                                  .n = cfg->n_node_managers, .token = cfg->node_token};
    RestoreExecutor executor;
    nodemgr_restore_executor_init(&executor, &nodes);
    o.executor = &executor;
    /* On the node managers' hosts: asked for (placement, hosts), or the
     * request names no directory and ports and they offer some. */
    bool placed = req->placement || req->hosts || (!dir_param && !base_port && cfg->resources.n > 0);
    PlacementUsed *used = NULL;
    PGresult *used_rows = NULL;
    if (placed)
        rc = placement_setup(cfg, meta, job_id, req, &o, &used, &used_rows, err);
    char *dir = placed ? NULL : dir_param ? xstrdup(dir_param)
                : cfg->restore_root ? xprintf("%s/%s", cfg->restore_root, to) : NULL;
    if (rc == 0 && !placed && !dir)
        rc = error_set(err, "no \"dir\" in the request and no \"restore_root\" in the manager's configuration: "
                            "nowhere to put the new cluster's data directories");
    Topology src;
    bool have_src = false;
    if (rc == 0 && !placed && !base_port)
    {
        phase(job_id, "choosing ports");
        /* The new cluster has the source's sets and nodes. */
        rc = topology_load(meta, cluster, &src, err);
        have_src = rc == 0;
        if (rc == 0)
            rc = pick_ports(cfg, meta, node_count(&src), &base_port, err);
    }
    if (rc == 0)
        rc = restore_and_register(meta, job_id, req, &o, dir, base_port, result, err);
    if (rc == 0 && !placed)
    {
        json_object_object_add(*result, "dir", json_object_new_string(dir));
        json_object_object_add(*result, "base_port", json_object_new_int(base_port));
    }
    else if (rc != 0)
    {
        json_object_put(*result);
        *result = NULL;
    }
    free(used);
    PQclear(used_rows);
    if (have_src)
        topology_free(&src);
    free(dir);
    target_free(&o.target);
    free(o.sets);
    return rc;
}
