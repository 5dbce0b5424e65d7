/* strata restore --cluster: a whole cluster (or one shard) into a new
 * cluster, to a consistency point, resolving in-doubt 2PC transactions. */
#ifndef STRATA_CLUSTER_RESTORE_H
#define STRATA_CLUSTER_RESTORE_H

#include "restore/restore.h"

int cluster_restore(RestoreOptions *o, Error *err);

#endif
