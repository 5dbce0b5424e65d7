/* The incremental side of a node backup (--type incr|diff): the parent
 * chosen, the WAL from its start to this backup's start read from the WAL
 * index, and the plan of which files are read as changed blocks
 * (incr_plan.h). When the WAL cannot tell what changed, the backup is a
 * full one and says why. */
#ifndef STRATA_BACKUP_INCREMENTAL_H
#define STRATA_BACKUP_INCREMENTAL_H

#include <libpq-fe.h>

#include "backup/backup.h"
#include "backup/incr_plan.h"
#include "wal/changes.h"

typedef struct IncrState
{
    bool active;             /* an incremental: plan holds */
    char why[700];           /* a fallback to full: the reason */
    Manifest parent;
    WalChanges changes;
    IncrPlan plan;
} IncrState;

/* After pg_backup_start (start_lsn) on `conn`: chooses the parent
 * (incr: the node's newest complete backup; diff: its newest full one),
 * waits for the WAL up to start_lsn to be archived and reads what changed.
 * Returns -1 only on an error that fails the backup (pool unreadable,
 * cancelled); a fallback is st->active false with st->why. */
int incr_prepare(Pool *pool, const BackupOptions *o, PGconn *conn, Lsn start_lsn, bool from_standby,
                 const char *primary_conninfo, IncrState *st, Error *err);
/* Before pg_backup_start on a standby (incr/diff): if the primary has not
 * checkpointed since the parent backup began, the standby's restartpoint,
 * where the backup would start, is the parent's start, and nothing could be
 * read incrementally. Asks the primary for a CHECKPOINT then (as
 * pgBackRest's start-fast does on the primary) and waits for the standby
 * to replay it. Only a pool error fails; the rest warns, and the backup
 * goes on (a full one, saying why, if its start does not move). */
int incr_advance_standby_start(Pool *pool, const BackupOptions *o, PGconn *standby, const char *primary_conninfo,
                               Error *err);
void incr_state_free(IncrState *st);

#endif
