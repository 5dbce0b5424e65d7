/* The registered clusters in the catalog (strata.clusters, strata.shards,
 * strata.nodes) as the manager, the CLI and cluster restore query them.
 * (Reading and writing one cluster's whole topology is topology_load /
 * topology_save in cluster/topology.c, over the Topology type.) */
#ifndef STRATA_CATALOG_CLUSTERS_H
#define STRATA_CATALOG_CLUSTERS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/error.h"

/* *found: whether cluster `name` is registered. */
int catalog_cluster_exists(PGconn *meta, const char *name, bool *found, Error *err);
/* The registered clusters' names (one column), by name. Caller PQclears. */
PGresult *catalog_cluster_names(PGconn *meta, Error *err);
/* Every registered cluster, by name: name, created_at, origin (NULL when
 * it was not restored from another), shard count, node count. */
PGresult *catalog_clusters_summary(PGconn *meta, const char *what, Error *err);
/* The ports registered nodes use (one column, distinct). */
PGresult *catalog_node_ports(PGconn *meta, Error *err);
/* The hosts and ports registered nodes use (host, port; distinct pairs). */
PGresult *catalog_node_host_ports(PGconn *meta, Error *err);
/* Whether `name` can be a new cluster's: *registered, or *restoring_job
 * (caller frees) naming the queued or running restore job into it. */
int catalog_new_cluster_name_state(PGconn *meta, const char *name, bool *registered, char **restoring_job,
                                   Error *err);
/* One cluster's rows, for topology_load (`what` names the instance in
 * errors): its row (name, database, meta_database, origin, created_at),
 * its shards (name, in order), its nodes (shard or '' for compute nodes,
 * name, host, port, role, data_dir, in order). Caller PQclears. */
PGresult *catalog_cluster_row(PGconn *meta, const char *what, const char *name, Error *err);
PGresult *catalog_cluster_shards(PGconn *meta, const char *what, const char *name, Error *err);
PGresult *catalog_cluster_nodes(PGconn *meta, const char *what, const char *name, Error *err);
/* For topology_save, inside its transaction: the cluster's row (created or
 * replaced; the upsert locks it), its shard and node rows removed, then
 * added one by one (port and ordinal as text). */
int catalog_cluster_upsert(PGconn *meta, const char *what, const char *name, const char *database,
                           const char *meta_database, const char *origin, Error *err);
int catalog_cluster_forget_members(PGconn *meta, const char *what, const char *name, Error *err);
int catalog_shard_insert(PGconn *meta, const char *what, const char *cluster, const char *name, const char *ordinal,
                         Error *err);
typedef struct CatalogNodeRow
{
    const char *cluster, *shard, *name, *host, *port, *role, *data_dir, *ordinal;
} CatalogNodeRow;
int catalog_node_insert(PGconn *meta, const char *what, const CatalogNodeRow *row, Error *err);
/* Removes cluster `name`'s registration (its nodes, shards and row); `what`
 * names the instance in errors. */
int catalog_cluster_forget(PGconn *meta, const char *what, const char *name, Error *err);
/* Moves the workload generator's rows of cluster `from` to cluster `to`. */
int catalog_workload_rename(PGconn *meta, const char *what, const char *from, const char *to, Error *err);

#endif
