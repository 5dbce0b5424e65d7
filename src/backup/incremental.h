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
    bool parent_found;       /* incr_choose_parent found one: parent holds */
    bool active;             /* an incremental: plan holds */
    char why[700];           /* a fallback to full: the reason */
    Manifest parent;
    WalChanges changes;
    IncrPlan plan;
} IncrState;

/* Before pg_backup_start: the parent (incr: the node's newest complete
 * backup; diff: its newest full one; or o->parent), into st->parent.
 * Not finding one is no error (st->parent_found false). */
int incr_choose_parent(Pool *pool, const BackupOptions *o, IncrState *st, Error *err);
/* Before pg_backup_start on a standby: if the primary has not
 * checkpointed since st's parent began, the standby's restartpoint, where
 * the backup would start, is the parent's start, and nothing could be
 * read incrementally. Asks the primary for a CHECKPOINT then (as
 * pgBackRest's start-fast does on the primary) and waits for the standby
 * to replay it. A failure only warns: the backup goes on (a full one,
 * saying why, if its start does not move). */
void incr_advance_standby_start(const BackupOptions *o, const IncrState *st, PGconn *standby,
                                const char *primary_conninfo);
/* After pg_backup_start (start_lsn) on `conn`, with st from
 * incr_choose_parent: waits for the WAL up to start_lsn to be archived and
 * reads what changed since the parent. Returns -1 only on an error that
 * fails the backup (pool unreadable, cancelled); a fallback is st->active
 * false with st->why. */
int incr_prepare(Pool *pool, const BackupOptions *o, PGconn *conn, Lsn start_lsn, bool from_standby,
                 const char *primary_conninfo, IncrState *st, Error *err);
void incr_state_free(IncrState *st);

#endif
