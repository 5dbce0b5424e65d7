/* wal-get's read-ahead: recovery asks restore_command for one segment at a
 * time and replays it before asking for the next, so on a pool where every
 * object costs a round trip (S3) the round trips add up to most of a
 * restore. When wal-get has to go to the pool for a segment it fetches the
 * next ones too, in parallel, into a spool directory beside the
 * destination (pg_wal/strata-prefetch/); the calls that follow are served
 * from there by a rename.
 *
 * What the spool holds is only ever a whole segment that exists in the
 * archive under exactly that name and was verified like any fetch; a
 * segment that is not archived is never in it, so the decision between
 * "end of WAL" and "hole" (archive/wal_continuity.h) is made as before,
 * against the pool. */
#ifndef STRATA_WAL_PREFETCH_H
#define STRATA_WAL_PREFETCH_H

#include <stdbool.h>

#include "archive/archive.h"

#define WAL_PREFETCH_MAX 64
/* What strata restore puts in restore_command for a remote pool: 8
 * segments (128 MiB of the default size) in flight per round trip. */
#define WAL_PREFETCH_REMOTE 8

/* The --prefetch a restore_command reading from `location` gets: 0 (off)
 * for a directory, where a fetch is a local read. */
unsigned wal_prefetch_depth_for(const char *location);

/* pg_wal/strata-prefetch for a destination pg_wal/RECOVERYXLOG (caller frees). */
char *wal_prefetch_dir(const char *dest);

/* Moves the spooled segment `name` to `dest`; *taken false if it is not
 * spooled. */
int wal_prefetch_take(const char *dest, const char *name, bool *taken, Error *err);

/* The segments after `found` on its timeline, up to `depth` - 1 of them,
 * into the spool (emptied first: a batch starts where the previous one's
 * read pattern broke, at a timeline switch or a restart), while `fetch_one`
 * writes `found` itself to `dest`. Only that fetch's failure is an error:
 * a segment that cannot be read ahead is read again when it is asked for. */
typedef int (*WalFetchFn)(Pool *pool, const WalObject *o, const char *dest, Error *err);
int wal_prefetch_batch(Pool *pool, const char *node, const WalObject *found, const char *dest, unsigned depth,
                       WalFetchFn fetch_one, Error *err);

/* Removes the spool (the end of the archive was reached: nothing more
 * will be asked for that it could hold). */
void wal_prefetch_drop(const char *dest);

#endif
