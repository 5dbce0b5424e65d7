/* Where a cluster restore's new nodes go, and what that implies: on this
 * host (--dir, --base-port: restore/cluster_plan.h) or on the user's hosts
 * (a placement: restore/placement.h); which nodes this process may work on
 * (only this host's) and which need the node manager of their host; how a
 * failed restore's nodes are stopped and emptied. cluster_restore.c's
 * steps call these; the decisions are here, apart from its planning. */
#ifndef STRATA_CLUSTER_PLACE_H
#define STRATA_CLUSTER_PLACE_H

#include "cluster/topology.h"
#include "restore/placement.h"
#include "restore/restore.h"

/* Is the restore placed on hosts (a placement file or given hosts)? */
bool cluster_place_on_hosts(const RestoreOptions *o);
/* The new topology *t from src, and in *hba the placement's hba lines for
 * new compute nodes (placement_free it; empty when on this host). */
int cluster_place(const RestoreOptions *o, const Topology *src, Topology *t, Placement *hba, Error *err);
/* Before anything starts: every node on this host has a free port and an
 * empty directory; every node on another host has a node manager in
 * o->executor (else an error naming the host and the node). */
int cluster_place_check(const RestoreOptions *o, const Topology *t, Error *err);
/* The unix_socket_directories of a new node (the caller frees it): the
 * shared one under --dir on this host; placed on hosts, the directory
 * holding the node's data directory (DATA_ROOT/<to>/<set>, made with it;
 * not the data directory itself, whose socket lock files pg_basebackup
 * would copy into a standby). */
char *cluster_place_sockdir(const RestoreOptions *o, const TopoNode *node, const char *sockdir);
/* Stops and empties one node of a failed restore: here for this host's
 * nodes (by its postmaster.pid, even when a node manager started it: that
 * node manager may be what failed), by its host's node manager otherwise. */
void cluster_place_discard(const RestoreOptions *o, const TopoNode *node);

#endif
