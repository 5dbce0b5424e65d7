/* Where consistency points are recorded: the catalog (for operators and
 * the cluster manager) and the pool (so a restore works from the pool
 * alone when the metadata cluster is lost). */
#ifndef STRATA_CP_STORE_H
#define STRATA_CP_STORE_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "cluster/topology.h"
#include "consistency/cp.h"
#include "pool/pool.h"
#include "storage/storage.h"

/* Members of a CP for a topology: the metadata primary first, then every
 * shard's primary. Caller frees with cp_members_free. */
int cp_members_from_topology(const Topology *t, CpMember **out, size_t *n, Error *err);
void cp_members_free(CpMember *m, size_t n);

json_object *cp_to_json(const ConsistencyPoint *cp);
int cp_from_json(json_object *o, const char *source, ConsistencyPoint *out, Error *err);
int cp_save_pool(Pool *p, const ConsistencyPoint *cp, Error *err);
int cp_save_catalog(PGconn *meta, const ConsistencyPoint *cp, Error *err);
/* Every CP of `cluster` in the pool, oldest first. */
int cp_list_pool(Pool *p, const char *cluster, ConsistencyPoint **out, size_t *n, Error *err);
/* One CP object (a name cp_object_name accepts) of the cluster's, read and
 * checked against its name and cluster; *missing when it is gone. */
int cp_load_pool_object(Pool *p, const char *cluster, const char *object, ConsistencyPoint *out, bool *missing,
                        Error *err);
/* Whether a listing entry of clusters/<c>/cps is a CP object. */
bool cp_object_name(const StorageEntry *e);
/* Oldest first (ties by name), as cp_list_pool returns them. */
void cp_sort(ConsistencyPoint *cps, size_t n);
void cp_list_free(ConsistencyPoint *cps, size_t n);
/* The member LSN of replica set `set`, or 0. */
Lsn cp_member_lsn(const ConsistencyPoint *cp, const char *set);

#endif
