/* Consistency points (DESIGN §3): a barrier on the global commit log, and
 * a named restore point on the metadata primary and every shard primary
 * taken while no distributed commit decision can be made. */
#ifndef STRATA_CP_H
#define STRATA_CP_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/name_limits.h"
#include "pg/wal.h"

typedef struct CpMember
{
    char *set;          /* replica set: "meta", "shard1", ... */
    char *conninfo;     /* its primary */
    Lsn lsn;            /* restore point LSN, filled by cp_create */
} CpMember;

typedef struct ConsistencyPoint
{
    char name[CP_NAME_MAX + 1];
    char cluster[128];
    char time_text[64];     /* clock_timestamp() on the metadata primary, under the barrier */
    double time;            /* the same, Unix seconds */
    double pause_ms;        /* how long distributed commit decisions were blocked (at most) */
    double barrier_tries_ms;   /* waiting for a moment with no decision in flight: blocks nobody */
    CpMember *members;      /* [0] is the metadata cluster */
    size_t nmembers;
} ConsistencyPoint;

/* Takes a CP. `members` are copied; [0] must be the metadata primary.
 * Every step is bounded by timeout_ms: a node that does not answer makes
 * the CP fail and the barrier is released at once. */
int cp_create(const char *cluster, const char *name, const CpMember *members, size_t n, int timeout_ms,
              ConsistencyPoint *out, Error *err);
void cp_free(ConsistencyPoint *cp);
/* Default name: cp-<cluster>-YYYYMMDDTHHMMSS.mmmZ */
void cp_default_name(const char *cluster, char out[CP_NAME_MAX + 1]);

#endif
