/* Resolution of in-doubt two-phase transactions after a cluster restore:
 * on every shard, each prepared transaction is committed if its gtxid is
 * in the restored commit log, else rolled back (DESIGN §3). */
#ifndef STRATA_RESOLVE_H
#define STRATA_RESOLVE_H

#include <stddef.h>

#include "common/error.h"

typedef struct ResolveShard
{
    const char *set;          /* for messages */
    const char *conninfo;     /* the shard's primary; dbname is replaced per prepared transaction */
} ResolveShard;

typedef struct ResolveStats
{
    size_t committed;
    size_t rolled_back;
} ResolveStats;

/* decided_before: when not NULL (a timestamptz), only decisions made at or
 * before it count: resolving one shard restored to a CP against the live
 * commit log, which has decisions from after the CP too. */
int resolve_prepared(const char *meta_conninfo, const char *decided_before, const ResolveShard *shards, size_t n,
                     ResolveStats *stats, Error *err);

#endif
