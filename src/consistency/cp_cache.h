/* The CPs of clusters as the cluster manager serves them (the window, CP
 * and backups endpoints), kept in memory between calls: a CP object is
 * sealed and never rewritten under its name, so a call lists the
 * cluster's CP objects (one listing) and reads only those it has not seen
 * (by name and size); those no longer listed are dropped. With a CP every
 * few seconds (~17,000 objects a day) a call then costs one listing, not
 * a read of every object. The answer is what cp_list_pool gives. */
#ifndef STRATA_CP_CACHE_H
#define STRATA_CP_CACHE_H

#include <pthread.h>
#include <stddef.h>

#include "consistency/cp_store.h"

typedef struct CpCacheCluster CpCacheCluster;

typedef struct CpCache
{
    pthread_mutex_t mu;
    CpCacheCluster *clusters;
    size_t nclusters;
    unsigned long reads;   /* CP objects read from the pool so far (for tests and metrics) */
} CpCache;

void cp_cache_init(CpCache *c);
void cp_cache_free(CpCache *c);
/* As cp_list_pool (oldest first; caller frees with cp_list_free). */
int cp_cache_list(CpCache *c, Pool *p, const char *cluster, ConsistencyPoint **out, size_t *n, Error *err);

#endif
