/* The cluster half of strata info --pool (clusters/<name>/ in the pool). */
#ifndef STRATA_CLUSTER_INFO_H
#define STRATA_CLUSTER_INFO_H

#include <json-c/json.h>

#include "consistency/cp.h"
#include "pool/pool.h"

/* The CPs a restore can reach: those at or after the oldest complete
 * whole-cluster backup's end CP. first/last index into cps; count 0 when
 * none (no such backup yet, or no CP after it). */
typedef struct ClusterWindow
{
    size_t first, last, count;
} ClusterWindow;

void cluster_window(const ConsistencyPoint *cps, size_t ncps, double oldest_backup_cp_time, ClusterWindow *w);

/* An array with one object per cluster of the pool. */
int cluster_info_json(Pool *p, json_object **out, Error *err);
void cluster_info_print(json_object *clusters);

#endif
