/* Restore planning's WAL check: before anything is written, can recovery
 * from this backup reach its target along the timeline it will follow
 * (recovery_target_timeline = 'latest')? Otherwise fail now, naming the
 * missing segment or history file, rather than let PostgreSQL take the
 * hole for the end of WAL and promote short. */
#ifndef STRATA_RESTORE_WAL_PLAN_H
#define STRATA_RESTORE_WAL_PLAN_H

#include "pool/manifest.h"
#include "pool/pool.h"
#include "restore/target.h"

/* A target with a known LSN (--lsn, --immediate, or a name or time whose
 * LSN the caller filled in target.lsn) needs the WAL up to it; any other
 * target may lie anywhere, so the archive must be whole to its end. */
int restore_check_wal_path(Pool *pool, const Manifest *m, const Target *t, Error *err);

#endif
