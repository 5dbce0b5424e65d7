/* Where a transaction ended in a node's archived WAL: its commit or abort
 * records (COMMIT, ABORT, COMMIT PREPARED, ABORT PREPARED), the records
 * PostgreSQL's recovery_target_xid stops at. What `restore --xid` uses to
 * choose a backup that ends before the transaction did. */
#ifndef STRATA_WAL_XACT_SEARCH_H
#define STRATA_WAL_XACT_SEARCH_H

#include "archive/archive.h"
#include "wal/history.h"
#include "wal/index.h"

/* Calls fn for the index of every archived segment on the history of
 * timeline `tli` (0: the latest archived), in WAL order: the stored index
 * where there is one, else the segment decoded from the pool, with the
 * segment's timeline and the history (records of a segment past its
 * timeline's end are not on it: wal_path_contains). fn returns 0 to go on,
 * -1 (with err) to stop. */
typedef int (*WalIndexFn)(void *arg, const WalIndex *ix, uint32_t tli, const WalTimelinePath *path, Error *err);
int wal_scan_path_indexes(Pool *p, const char *node, uint32_t tli, WalIndexFn fn, void *arg, Error *err);

typedef struct WalXactEnd
{
    Lsn lsn;        /* the record's start: recovery_target_inclusive = off stops before it */
    Lsn end;        /* its end: an inclusive target stops after it */
    uint8_t kind;   /* WalXactKind */
} WalXactEnd;

/* Every commit or abort record of transaction `xid` on that history, in
 * WAL order. PostgreSQL compares 32-bit transaction ids: an xid8 given
 * with its epoch (pg_current_xact_id()) is matched by its low 32 bits.
 * Caller frees *out. */
int wal_find_xact_ends(Pool *p, const char *node, uint32_t tli, uint64_t xid, WalXactEnd **out, size_t *count,
                       Error *err);

#endif
