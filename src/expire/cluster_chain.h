/* Incremental cluster backups: which cluster backups the kept ones build
 * on, read from their manifests (each node entry's "parent", the node
 * backup it builds on), apart from the pool reading around it (expire.c). */
#ifndef STRATA_EXPIRE_CLUSTER_CHAIN_H
#define STRATA_EXPIRE_CLUSTER_CHAIN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* The candidates are all[idx[0..nc)], oldest first, one scope's cluster
 * manifests. Marks keep[c] for every candidate that a kept one builds on,
 * however far down (retention_keep_parents_of_sets). A parent node backup
 * that no candidate holds is left alone: a cluster backup builds only on
 * its own scope's (backup/cluster_backup.c). */
void cluster_chain_keep(json_object **all, const size_t *idx, size_t nc, bool *keep);

#endif
