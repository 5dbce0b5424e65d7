#include "cluster/bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/workload.h"
#include "common/util.h"
#include "pg/conn.h"

int
cluster_conns_open(const char *catalog_conninfo, const char *cluster, bool connect_shards, ClusterConns *cc,
                   Error *err)
{
    memset(cc, 0, sizeof(*cc));
    PGconn *cat = catalog_connect(catalog_conninfo, false, err);
    if (!cat)
        return -1;
    int rc = topology_load(cat, cluster, &cc->topo, err);
    PQfinish(cat);
    if (rc != 0)
        return -1;
    /* The commit log and the workload row are read from the cluster's own
     * metadata primary, not from the catalog we were pointed at: a
     * restored cluster registered in the original catalog has its own
     * (restored) commit log. */
    cc->meta_conninfo = topology_meta_conninfo(&cc->topo, err);
    if (!cc->meta_conninfo)
        goto fail;
    cc->shard_conninfo = xcalloc(cc->topo.nshards, sizeof(char *));
    cc->shards = xcalloc(cc->topo.nshards, sizeof(PGconn *));
    for (size_t i = 0; i < cc->topo.nshards; i++)
        if (!(cc->shard_conninfo[i] = topology_shard_conninfo(&cc->topo, &cc->topo.shards[i], err)))
            goto fail;
    char what[128];
    snprintf(what, sizeof(what), "metadata primary of cluster %s", cluster);
    if (!(cc->meta = pg_connect(cc->meta_conninfo, what, err)))
        goto fail;
    for (size_t i = 0; connect_shards && i < cc->topo.nshards; i++)
    {
        snprintf(what, sizeof(what), "%s primary", cc->topo.shards[i].name);
        if (!(cc->shards[i] = pg_connect(cc->shard_conninfo[i], what, err)))
            goto fail;
    }
    return 0;
fail:
    cluster_conns_close(cc);
    return -1;
}

void
cluster_conns_close(ClusterConns *cc)
{
    for (size_t i = 0; i < cc->topo.nshards; i++)
    {
        if (cc->shards)
            PQfinish(cc->shards[i]);
        if (cc->shard_conninfo)
            free(cc->shard_conninfo[i]);
    }
    free(cc->shards);
    free(cc->shard_conninfo);
    PQfinish(cc->meta);
    free(cc->meta_conninfo);
    topology_free(&cc->topo);
    memset(cc, 0, sizeof(*cc));
}

int
bank_info_load(PGconn *meta, const Topology *t, BankInfo *out, bool *exists, Error *err)
{
    memset(out, 0, sizeof(*out));
    *exists = false;
    PGresult *r = catalog_workload_row(meta, "metadata primary", t->name, t->origin ? t->origin : t->name, err);
    if (!r)
        return error_prefix(err, "reading the workload of cluster %s: ", t->name);
    if (PQntuples(r) == 1)
    {
        *exists = true;
        out->key = xstrdup(PQgetvalue(r, 0, 0));
        out->initial_total = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        out->accounts = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    return 0;
}

void
bank_info_free(BankInfo *b)
{
    free(b->key);
    b->key = NULL;
}
