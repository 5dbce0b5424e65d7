/* What the WAL of a node changed between two LSNs, read from the WAL
 * index along one timeline's history: the input of an incremental backup
 * (blocks, truncations, created/dropped relations and databases) and of
 * exact restore targets (transactions and restore points in WAL order).
 *
 *   WalChanges ch;
 *   if (wal_changes_collect(pool, node, 0, prev_redo, this_start, &ch, &err) != 0) ...error...
 *   if (!ch.complete) ...take a full: ch.why says why...
 *   ch.index.forks: every block of every relation fork changed (a superset:
 *     whole segments are counted); ch.index.xacts etc.: the records whose
 *     start LSN is in [from, to), in WAL order. A COMMIT/ABORT PREPARED
 *     without a GID in its record (wal_level below logical) gets the GID
 *     of the PREPARE of its xid if that is in the range too (a transaction
 *     prepared before `from` stays without: collect from earlier).
 *   wal_changes_free(&ch);
 */
#ifndef STRATA_WAL_CHANGES_H
#define STRATA_WAL_CHANGES_H

#include "archive/archive.h"
#include "wal/index.h"

typedef struct WalChanges
{
    WalIndex index;     /* merged: tli/segno/flags describe nothing in particular */
    bool complete;      /* every record in [from, to) on the path is described */
    char why[600];      /* if not: the first reason, naming the segment or LSN */
    size_t segments;    /* segments read */
    size_t built;       /* of which had no stored index and were decoded */
} WalChanges;

/* [from, to) on the history of timeline `tli` (0: the latest archived).
 * Segments without a stored index are decoded (nothing is written).
 * Returns -1 only when the pool cannot be read; gaps, decode errors and
 * unknown special records make the result incomplete, not an error. */
int wal_changes_collect(Pool *p, const char *node, uint32_t tli, Lsn from, Lsn to, WalChanges *out, Error *err);
void wal_changes_free(WalChanges *ch);

#endif
