/* strata restore --cluster: a whole cluster (or one shard) into a new
 * cluster, to a consistency point, resolving in-doubt 2PC transactions. */
#ifndef STRATA_CLUSTER_RESTORE_H
#define STRATA_CLUSTER_RESTORE_H

#include "cluster/topology.h"
#include "restore/restore.h"

/* Who restores a replica set's new primary (step 3) and builds its
 * standbys (step 4). cluster_restore() uses RestoreOptions.executor when
 * set and its `where` names someone for the new node's host (the cluster
 * manager: that host's node manager); else this process does it, as the
 * CLI always does, for nodes on this host only (a node on another host
 * without a node manager is an error naming the host). The compute nodes'
 * fresh instances are made by the executor too; their schema replay, the
 * catalog rewrite and the 2PC resolution are SQL against the new nodes:
 * always done here. */
typedef struct RestoreExecutor
{
    /* Who works on `node` (a node manager's URL), NULL: in-process. */
    const char *(*where)(const struct RestoreExecutor *ex, const TopoNode *node);
    /* Restores and starts `node`, the new primary of replica set `set`,
     * as restore_node(opt) would: opt->co.node (the pool node),
     * backup_id, target_dir, port, target, action, sets, archive_node.
     * 0 once it runs at its target; -1 with err naming node and executor. */
    int (*restore)(const struct RestoreExecutor *ex, const char *set, const TopoNode *node, const RestoreOptions *opt,
                   Error *err);
    /* Builds `standby` (data_dir, port; "name=value" settings) as a
     * streaming standby of `primary` and starts it, as standby_build(). */
    int (*standby)(const struct RestoreExecutor *ex, const TopoNode *primary, const TopoNode *standby,
                   const char *const *settings, size_t nsettings, Error *err);
    /* Makes `node` a fresh started instance (a compute node: initdb, its
     * port, listen address, socket directory, hba lines), as
     * compute_instance_init() does. */
    int (*init)(const struct RestoreExecutor *ex, const TopoNode *node, const char *sockdir, const char *const *hba,
                size_t nhba, Error *err);
    /* After a failed restore: stops `node` if it runs and empties its data
     * directory (nothing of the new cluster may run or look usable). */
    int (*discard)(const struct RestoreExecutor *ex, const TopoNode *node, Error *err);
    void *arg;
} RestoreExecutor;

/* Prints the report (text, or JSON with o->co.json). */
int cluster_restore(RestoreOptions *o, Error *err);
/* The same as a library call: nothing printed; on success *result is the
 * report that --output json prints (cp, cp_time, distance_seconds, backup,
 * in-doubt counts, duration, topology of the new cluster). Caller puts it. */
int cluster_restore_json(RestoreOptions *o, json_object **result, Error *err);
/* Step 1 alone, nothing restored: the CP and the backup a restore with
 * these options would start from (the rule above, for every target), as
 * {cluster, shard, target, time?, distance_seconds?, gtxid?, cp, backup}.
 * The pool stays open. Caller puts *plan. */
struct Pool;
int cluster_restore_plan_json(struct Pool *pool, RestoreOptions *o, json_object **plan, Error *err);

#endif
