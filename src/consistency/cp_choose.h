/* Which consistency point a restore target maps to (DESIGN §3), the
 * decision alone: over a cluster's CPs, oldest first (cp_list_pool's
 * order: by time, then name). Each returns NULL when no CP fits. */
#ifndef STRATA_CP_CHOOSE_H
#define STRATA_CP_CHOOSE_H

#include <stddef.h>

#include "consistency/cp.h"

/* A time T: the latest CP at or before T (a CP taken exactly at T counts:
 * its state is the cluster's state at T). */
const ConsistencyPoint *cp_at_or_before(const ConsistencyPoint *cps, size_t n, double t);
/* A global transaction decided at `decided`: the first CP strictly after
 * the decision, the earliest state that contains the transaction's outcome
 * on every shard (a CP's barrier never coincides with a decision). */
const ConsistencyPoint *cp_first_after(const ConsistencyPoint *cps, size_t n, double decided);
/* By name. */
const ConsistencyPoint *cp_named(const ConsistencyPoint *cps, size_t n, const char *name);
/* The latest. */
const ConsistencyPoint *cp_latest(const ConsistencyPoint *cps, size_t n);

#endif
