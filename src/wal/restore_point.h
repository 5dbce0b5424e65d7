/* Restore points (pg_create_restore_point, XLOG_RESTORE_POINT records) in a
 * node's archived WAL, along one timeline's history: what `restore --name`
 * uses to choose a backup that ends before the point.
 *
 *   WalRestorePointMatch *m; size_t n;
 *   wal_find_restore_points(pool, "c1/shard1", 0, "cp-42", &m, &n, &err);
 *   ... m[0].lsn is the first restore point of that name on the latest
 *   timeline's history (PostgreSQL's recovery_target_name stops at the
 *   first one it replays after the backup's start); free(m).
 *
 * Each archived segment's WAL index is used where there is one; a segment
 * without an index (or whose index lacks the record crossing into it) is
 * decoded from the pool. Nothing is written to the pool. */
#ifndef STRATA_WAL_RESTORE_POINT_H
#define STRATA_WAL_RESTORE_POINT_H

#include "archive/archive.h"

typedef struct WalRestorePointMatch
{
    Lsn lsn;        /* the record's start: recovery_target_lsn would stop before... */
    Lsn end;        /* ...and recovery_target_name stops after it, at end */
    uint32_t tli;   /* timeline of the file it was read from */
    int64_t time_us;
} WalRestorePointMatch;

/* Every restore point named `name` on the history of timeline `tli` (0:
 * the latest archived), in WAL order; *count 0 if there is none. An
 * unreadable segment is an error naming it; a decode error in a segment
 * is logged and the search goes on (the caller sees the gap in the WAL
 * continuity checks). */
int wal_find_restore_points(Pool *p, const char *node, uint32_t tli, const char *name, WalRestorePointMatch **out,
                            size_t *count, Error *err);

/* The first restore point named `name` at or after `from` (0: anywhere) on
 * that history: 1 and *lsn (its start) and *end set, 0 if there is none,
 * -1 on error. */
int wal_find_restore_point(Pool *p, const char *node, uint32_t tli, const char *name, Lsn from, Lsn *lsn, Lsn *end,
                           Error *err);

#endif
