/* strata backup --cluster: every replica set (the metadata cluster and
 * each shard) backed up from a standby in parallel, then a consistency
 * point; complete once the WAL up to that CP is in the pool (DESIGN §3). */
#ifndef STRATA_CLUSTER_BACKUP_H
#define STRATA_CLUSTER_BACKUP_H

#include <json-c/json.h>

#include "backup/backup.h"
#include "cluster/topology.h"
#include "pool/pool.h"

/* On success *manifest is the sealed record written to the pool (the
 * caller json_object_put()s it); nothing is printed. */
int cluster_backup(const BackupOptions *o, json_object **manifest, Error *err);

/* The sealed record of a cluster backup in the pool:
 * clusters/<cluster>/backups/<id>/cluster.manifest */
char *cluster_manifest_path(const char *cluster, const char *id);
/* Complete cluster backups of `cluster`, oldest first: an array of parsed
 * manifests (json objects; caller json_object_put()s each, frees array). */
int cluster_backups_list(Pool *p, const char *cluster, json_object ***out, size_t *n, Error *err);

#endif
