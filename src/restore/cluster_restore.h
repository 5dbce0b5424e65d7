/* strata restore --cluster: a whole cluster (or one shard) into a new
 * cluster, to a consistency point, resolving in-doubt 2PC transactions. */
#ifndef STRATA_CLUSTER_RESTORE_H
#define STRATA_CLUSTER_RESTORE_H

#include "restore/restore.h"

/* Prints the report (text, or JSON with o->co.json). */
int cluster_restore(RestoreOptions *o, Error *err);
/* The same as a library call: nothing printed; on success *result is the
 * report that --output json prints (cp, cp_time, distance_seconds, backup,
 * in-doubt counts, duration, topology of the new cluster). Caller puts it. */
int cluster_restore_json(RestoreOptions *o, json_object **result, Error *err);

#endif
