/* A restored cluster, or a restored shard, archives into pool nodes of its
 * own from its first minute: never into the source's, nor into those of an
 * earlier restore (whose WAL and timeline history would conflict with the
 * new primaries': a second 00000002.history that wal-push must refuse). */
#ifndef STRATA_RESTORE_IDENTITY_H
#define STRATA_RESTORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "pool/pool.h"

/* Whether pool node `node` holds anything: identity, WAL or backups. */
int pool_node_in_use(Pool *p, const char *node, bool *used, Error *err);

/* A new cluster named `to` archives into "<to>/<set>" for each of `sets`:
 * refused (naming what is there) when the pool already holds any of them,
 * or consistency points or cluster backups of a cluster `to`. */
int restored_cluster_identity_check(Pool *p, const char *to, const char *const *sets, size_t nsets, Error *err);

/* A shard restored without --to: the first unused of
 * "<cluster>-restored-<shard>/<shard>", "<cluster>-restored-<shard>-2/<shard>", ...
 * claimed before anything starts (its node.json, with the source's identity
 * `src_node`), so a later restore of the same shard gets the next one.
 * (Two restores of one shard started in the same instant could both see a
 * name free; the second's wal-push then refuses the conflicting history.)
 * *node_out: the pool node (caller frees). */
int restored_shard_identity(Pool *p, const char *cluster, const char *shard, const char *src_node, char **node_out,
                            Error *err);

/* After a failed restore: removes pool node `node`, which the restore
 * found unused (or claimed) and its instances may have started to archive
 * into, so a retry under the same name is not refused. Warns on failure. */
void restored_identity_release(Pool *p, const char *node);

#endif
