/* Where a cluster restore puts the new cluster (step 2 of docs/cluster.md's
 * restore): the source topology's replica sets and node names, every node
 * on loopback, on consecutive ports from base_port, in DIR/SET/NODE.
 * Apart from cluster_restore.c so that it is planned (and tested) without
 * a server: any number of shards, or an error naming the limit. */
#ifndef STRATA_CLUSTER_PLAN_H
#define STRATA_CLUSTER_PLAN_H

#include <stddef.h>

#include "cluster/topology.h"

/* The new cluster `to` restored from `src`: *out (topology_free) has the
 * same sets and nodes, host 127.0.0.1, ports base_port, base_port + 1, ...
 * (the metadata nodes, then each shard's, then the compute nodes) and
 * data_dir DIR/SET/NODE ("compute" as the compute nodes' set). Fails,
 * naming the limit, when the ports would pass 65535. */
int cluster_plan_topology(const Topology *src, const char *to, const char *dir, int base_port, Topology *out,
                          Error *err);

/* Every node of t, in the plan's order. */
size_t cluster_plan_node_count(const Topology *t);

#endif
