/* strata backup --cluster: every replica set (the metadata cluster and
 * each shard) backed up from a standby in parallel, then a consistency
 * point; complete once the WAL up to that CP is in the pool (DESIGN §3). */
#ifndef STRATA_CLUSTER_BACKUP_H
#define STRATA_CLUSTER_BACKUP_H

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdint.h>

#include "backup/backup.h"
#include "cluster/topology.h"
#include "pool/pool.h"

/* Who runs one replica set's node backup. cluster_backup() uses
 * BackupOptions.executor when set (the cluster manager: node managers),
 * else backup_node() in-process (the CLI). */
typedef struct NodeBackupTask
{
    const char *set;              /* the replica set's name */
    const TopoNode *node;         /* the standby to back up */
    const BackupOptions *opt;     /* pgdata, pg_conn, primary_conn, co.node (the pool node), co.pool, jobs, ... */
    /* Progress, written by the executor while it runs. */
    _Atomic uint64_t bytes_done;
    _Atomic uint64_t bytes_total;
} NodeBackupTask;

/* The executor could not reach whoever runs the backup (or lost it): the
 * cluster backup retries once on another standby of the replica set. */
#define NODE_EXEC_UNREACHABLE (-2)

typedef struct NodeExecutor
{
    /* 0 with *out the node backup's manifest (read from the pool), -1 the
     * backup failed, NODE_EXEC_UNREACHABLE; err says why. */
    int (*backup)(const struct NodeExecutor *ex, NodeBackupTask *t, Manifest *out, Error *err);
    /* Who runs the backup of `node` (a node manager's URL), NULL for
     * in-process: for the logs, the progress and the manifest. */
    const char *(*where)(const struct NodeExecutor *ex, const TopoNode *node);
    void *arg;
} NodeExecutor;

/* On success *manifest is the sealed record written to the pool (the
 * caller json_object_put()s it); nothing is printed. */
int cluster_backup(const BackupOptions *o, json_object **manifest, Error *err);

/* Key of a cluster backup's directory (callers free). */
char *cluster_backup_dir(const char *cluster, const char *id);
/* The sealed record of a cluster backup in the pool:
 * clusters/<cluster>/backups/<id>/cluster.manifest */
char *cluster_manifest_path(const char *cluster, const char *id);
/* Complete cluster backups of `cluster`, oldest first: an array of parsed
 * manifests (json objects; caller json_object_put()s each, frees array). */
/* Validates a cluster manifest read from the pool (every field, the
 * topology and the end CP); cluster and id, when given, must be its own. */
int cluster_manifest_check(json_object *o, const char *path, const char *cluster, const char *id, Error *err);
int cluster_backups_list(Pool *p, const char *cluster, json_object ***out, size_t *n, Error *err);
/* Is cluster manifest m of the scope: the whole cluster (shard NULL), or
 * that one shard? */
bool cluster_manifest_in_scope(json_object *m, const char *shard);

#endif
