#include "restore/identity.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/util.h"

/* An upper bound on restores of one shard without --to: past it, --to. */
#define SHARD_IDENTITY_TRIES 1000

int
pool_node_in_use(Pool *p, const char *node, bool *used, Error *err)
{
    char *dir = xprintf("nodes/%s", node);
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    *used = rc == 0 && l.count > 0;
    if (rc == 0)
        storage_list_free(&l);
    else
        error_prefix(err, "checking pool node %s: ", node);
    free(dir);
    return rc;
}

static int
cluster_dir_in_use(Pool *p, const char *cluster, bool *used, Error *err)
{
    char *dir = xprintf("clusters/%s", cluster);
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    *used = rc == 0 && l.count > 0;
    if (rc == 0)
        storage_list_free(&l);
    free(dir);
    return rc;
}

int
restored_cluster_identity_check(Pool *p, const char *to, const char *const *sets, size_t nsets, Error *err)
{
    bool used;
    if (cluster_dir_in_use(p, to, &used, err) != 0)
        return -1;
    if (used)
        return error_set(err, "pool %s already holds consistency points or cluster backups of a cluster named %s (an "
                              "earlier cluster of that name): a restored cluster needs a pool identity of its own; "
                              "choose another --to", p->location, to);
    for (size_t i = 0; i < nsets; i++)
    {
        char *node = xprintf("%s/%s", to, sets[i]);
        int rc = pool_node_in_use(p, node, &used, err);
        if (rc == 0 && used)
            rc = error_set(err, "pool %s already holds node %s (WAL or backups of an earlier cluster named %s): the "
                                "new %s primary could not archive beside them (their timeline history conflicts); "
                                "choose another --to", p->location, node, to, sets[i]);
        free(node);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
restored_shard_identity(Pool *p, const char *cluster, const char *shard, const char *src_node, char **node_out,
                        Error *err)
{
    *node_out = NULL;
    NodeInfo src;
    bool exists;
    if (node_info_read(p, src_node, &src, &exists, err) != 0)
        return -1;
    for (int k = 1; k <= SHARD_IDENTITY_TRIES; k++)
    {
        char *node = k == 1 ? xprintf("%s-restored-%s/%s", cluster, shard, shard)
                            : xprintf("%s-restored-%s-%d/%s", cluster, shard, k, shard);
        bool used;
        if (node_name_check(node, err) != 0 || pool_node_in_use(p, node, &used, err) != 0)
        {
            free(node);
            return -1;
        }
        if (!used)
        {
            /* Claimed with the source's identity: the restored instance is
             * the same PostgreSQL system, and wal-push checks it. */
            NodeInfo ni = src;
            if (node_info_ensure(p, node, &ni, err) != 0)
            {
                free(node);
                return -1;
            }
            *node_out = node;
            return 0;
        }
        free(node);
    }
    return error_set(err, "shard %s of cluster %s has been restored %d times into pool %s without --to: give --to NAME "
                          "for a pool identity of its own", shard, cluster, SHARD_IDENTITY_TRIES, p->location);
}

void
restored_identity_release(Pool *p, const char *node)
{
    char *dir = xprintf("nodes/%s", node);
    Error e;
    if (storage_remove_tree(p->storage, dir, &e) != 0)
        log_warn("could not remove pool node %s of the failed restore: %s", node, e.msg);
    free(dir);
}
