/* The consistency checker's verdict (DESIGN §5), apart from the queries
 * that feed it (check_consistency.c): given what the shards and the commit
 * log hold, which violations there are. Pure: no connection, so that every
 * rule is unit-tested on made-up facts. */
#ifndef STRATA_CONSISTENCY_VERDICT_H
#define STRATA_CONSISTENCY_VERDICT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster/topology.h"
#include "common/util.h"

/* One check's violations. */
typedef struct Check
{
    const char *name;
    size_t count;          /* violations */
    json_object *items;    /* the first max_report of them */
    Buffer text;           /* the same, as lines (and the check's one-line result when none) */
} Check;

typedef struct MergeStats
{
    unsigned long long transfers, cross, single, log_entries;
} MergeStats;

typedef struct Verdict
{
    const Topology *topo;  /* the shards, in the order of the per-shard arrays below */
    size_t max_report;
    Check total, atomicity, prepared, log;
    MergeStats ms;
} Verdict;

void verdict_init(Verdict *v, const Topology *t, size_t max_report);
void verdict_free(Verdict *v);
size_t verdict_violations(const Verdict *v);

/* (a) The balances of all shards add up to `total` over `accounts` rows;
 * the workload made initial_total over accounts_per_shard on each shard. */
void verdict_total(Verdict *v, long long total, long long accounts, long long initial_total, long accounts_per_shard);
/* (c) A prepared transaction still on a shard. */
void verdict_prepared(Verdict *v, const char *shard, const char *gid, const char *database, const char *prepared_at);
/* (b) and (d) One transfer id: present[i] and sum_by_shard[i] for shard i
 * (its rows there and the sum of their deltas), participants the commit
 * log's "a,b,c" for it (NULL: no decision). */
void verdict_transfer(Verdict *v, const char *id, const bool *present, const long long *sum_by_shard,
                      const char *participants);

#endif
