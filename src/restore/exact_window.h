/* The window rule of an exact cluster cut (docs/design.md, "Exact
 * targets"): given the global transactions decided at the target (the
 * decided set, read from the restored commit log) and one shard's
 * transaction records from the WAL index, the LSNs at which the shard can
 * stop so that resolution (commit the decided prepared, roll back the
 * rest) yields every decided transaction and no undecided one:
 *
 *   lo = after the last PREPARE of a decided transaction on the shard
 *        (it must be replayed, or resolution has nothing to commit),
 *   hi = at the first COMMIT PREPARED of an undecided one (it must not be
 *        replayed: it cannot be rolled back any more); an ABORT PREPARED of
 *        a decided one bounds it too (a broken contract, reported as such).
 *
 * An ABORT PREPARED of an undecided transaction does not bound the window:
 * resolution would roll it back anyway. The cut is "stop before the first
 * record starting at or after LSN" (recovery_target_lsn with
 * recovery_target_inclusive = off). Within the window it is placed where
 * the shard's own commit timestamps cross the target time (the first
 * COMMIT or COMMIT PREPARED stamped after it), else at the nearer edge.
 * Pure: no pool, no server. */
#ifndef STRATA_RESTORE_EXACT_WINDOW_H
#define STRATA_RESTORE_EXACT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wal/index.h"

/* One decision of the decided set: the gtxid (== the GID its participants
 * prepared under) and when it was made, on the metadata primary's clock. */
typedef struct ExactDecision
{
    const char *gtxid;
    int64_t decided_us;   /* Unix microseconds; 0: unknown (no skew sample) */
} ExactDecision;

/* The decided set, sorted by gtxid (exact_decisions_sort) for lookups. */
typedef struct ExactDecided
{
    ExactDecision *items;
    size_t n;
} ExactDecided;

void exact_decisions_sort(ExactDecided *d);
const ExactDecision *exact_decided_find(const ExactDecided *d, const char *gtxid);

typedef enum ExactCutHow
{
    EXACT_AT_TIME = 1,     /* where the shard's commit timestamps cross T, inside the window */
    EXACT_AT_LOW_EDGE,     /* the crossing is below the window: its low edge */
    EXACT_AT_HIGH_EDGE,    /* the crossing is above the window (or absent): its high edge */
} ExactCutHow;

const char *exact_cut_how_name(ExactCutHow h);

typedef struct ExactWindowInput
{
    const char *shard;          /* for messages */
    const WalXact *xacts;       /* the shard's records in WAL order, from before `floor` */
    size_t nxacts;
    const ExactDecided *decided;
    Lsn floor;                  /* the lowest cut: the end of the backup's consistency (its end CP) */
    Lsn ceiling;                /* the highest cut: the start of a record known archived */
    int64_t target_us;          /* T, Unix microseconds, the metadata primary's clock */
} ExactWindowInput;

/* The bounding record of an edge (kind 0: the edge is floor/ceiling). */
typedef struct ExactEdge
{
    Lsn lsn;                    /* the cut bound itself */
    WalXact rec;
} ExactEdge;

typedef struct ExactCut
{
    ExactEdge lo, hi;
    Lsn lsn;                    /* the chosen cut, lo.lsn <= lsn <= hi.lsn */
    ExactCutHow how;
    Lsn crossing;               /* where the commit timestamps cross T (0: nowhere below ceiling) */
    /* The shard clock's offset from the metadata primary's, bounded by
     * each decided transaction seen whole: PREPARE (shard) < decision
     * (metadata) < COMMIT PREPARED (shard). */
    size_t skew_samples;
    double skew_lo_s, skew_hi_s;   /* the intersected bounds (lo > hi: the clock moved) */
    double skew_s;                 /* their midpoint */
} ExactCut;

/* Computes the window and the cut. An empty window is an error naming the
 * shard and the two records; so is a COMMIT/ABORT PREPARED below the
 * ceiling whose PREPARE is not among the records (the caller reads from
 * earlier: *unknown_xid is then set, else 0). */
int exact_window_cut(const ExactWindowInput *in, ExactCut *out, uint32_t *unknown_xid, Error *err);

/* "COMMIT PREPARED of 'g1' (xid 812) at 0/3000128, 2026-...": a record for messages. */
void exact_record_text(const WalXact *x, char *out, size_t len);

#endif
