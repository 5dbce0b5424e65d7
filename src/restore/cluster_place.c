/* The new cluster's place (cluster_place.h). */
#include "restore/cluster_place.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "restore/cluster_plan.h"
#include "restore/cluster_restore.h"
#include "restore/start.h"

bool
cluster_place_on_hosts(const RestoreOptions *o)
{
    return o->placement_file || o->placement;
}

static void
hosts_copy(const Placement *from, Placement *to)
{
    memset(to, 0, sizeof(*to));
    to->hosts = xcalloc(from->n ? from->n : 1, sizeof(PlacementHost));
    for (size_t i = 0; i < from->n; i++)
        to->hosts[to->n++] = (PlacementHost){xstrdup(from->hosts[i].host), xstrdup(from->hosts[i].data_root),
                                             from->hosts[i].port_from, from->hosts[i].port_to};
    for (size_t i = 0; i < from->nhba; i++)
    {
        to->hba = xrealloc(to->hba, (to->nhba + 1) * sizeof(char *));
        to->hba[to->nhba++] = xstrdup(from->hba[i]);
    }
}

int
cluster_place(const RestoreOptions *o, const Topology *src, Topology *t, Placement *hba, Error *err)
{
    memset(hba, 0, sizeof(*hba));
    if (!cluster_place_on_hosts(o))
        return cluster_plan_topology(src, o->to, o->dir, o->base_port, t, err);
    Placement p;
    if (o->placement_file)
    {
        if (placement_load_file(o->placement_file, &p, err) != 0)
            return -1;
    }
    else
        hosts_copy(o->placement, &p);
    int rc = o->hosts ? placement_select(&p, o->hosts, err) : 0;
    if (rc == 0)
        rc = placement_plan(src, o->to, &p, o->used, o->nused, t, err);
    if (rc == 0)
    {
        *hba = (Placement){.hba = p.hba, .nhba = p.nhba};
        p.hba = NULL;
        p.nhba = 0;
    }
    placement_free(&p);
    return rc;
}

static const char *
node_manager_of(const RestoreOptions *o, const TopoNode *node)
{
    const RestoreExecutor *ex = o->executor;
    return ex ? ex->where(ex, node) : NULL;
}

static int
check_node(const RestoreOptions *o, const TopoNode *node, Error *err)
{
    if (node_manager_of(o, node))
        return 0;   /* its node manager checks its directory; its port is checked by starting on it */
    if (!host_is_loopback(node->host))
        return error_set(err, "host %s (for %s of the new cluster) has no node manager: %s", node->host, node->name,
                         o->executor ? "register one with the cluster manager (\"node_managers\")"
                                     : "a restore by the CLI works on this host only; restore through the cluster "
                                       "manager, with a node manager on every host");
    bool empty;
    if (!loopback_port_free(node->port))
        return error_set(err, "port %d (for %s of the new cluster) is in use: choose another --base-port", node->port,
                         node->name);
    if (dir_is_empty(node->data_dir, &empty, err) != 0)
        return -1;
    if (!empty)
        return error_set(err, "directory %s (for %s of the new cluster) is not empty: choose another --dir",
                         node->data_dir, node->name);
    return 0;
}

int
cluster_place_check(const RestoreOptions *o, const Topology *t, Error *err)
{
    for (size_t k = 0; k <= t->nshards; k++)
    {
        const ReplicaSet *set = k == 0 ? &t->meta : &t->shards[k - 1];
        for (size_t i = 0; i < set->nnodes; i++)
            if (check_node(o, &set->nodes[i], err) != 0)
                return -1;
    }
    for (size_t i = 0; i < t->ncompute; i++)
        if (check_node(o, &t->compute[i], err) != 0)
            return -1;
    return 0;
}

char *
cluster_place_sockdir(const RestoreOptions *o, const TopoNode *node, const char *sockdir)
{
    if (!cluster_place_on_hosts(o))
        return xstrdup(sockdir);
    const char *slash = strrchr(node->data_dir, '/');
    return xprintf("%.*s", (int) (slash && slash != node->data_dir ? slash - node->data_dir : 1), node->data_dir);
}

void
cluster_place_discard(const RestoreOptions *o, const TopoNode *node)
{
    /* This host's nodes are stopped and emptied here, whoever started
     * them: their node manager may be the reason the restore failed. */
    const RestoreExecutor *ex = o->executor;
    if (!host_is_loopback(node->host))
    {
        Error e;
        if (node_manager_of(o, node) && ex->discard(ex, node, &e) != 0)
            log_warn("%s (host %s) of the failed restore: %s", node->name, node->host, e.msg);
        return;   /* no node manager: nothing was started there (cluster_place_check refused it) */
    }
    instance_stop(node->data_dir);
    Error e;
    if (remove_tree_contents(node->data_dir, &e) != 0)
        log_warn("%s", e.msg);
    rmdir(node->data_dir);
}
