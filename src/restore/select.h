/* Choosing the backup a restore starts from: the latest one that can reach
 * the target. A pure function over what the manifests say, so every target
 * kind is decided the same way and the rule is unit-tested
 * (tests/unit/test_select.c). */
#ifndef STRATA_SELECT_H
#define STRATA_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/wal.h"
#include "restore/target.h"

/* What selection needs of a backup: where recovery from it becomes
 * consistent (stop_lsn, stop_time) and on which timeline it was taken. */
typedef struct SelectBackup
{
    const char *id;
    Lsn start_lsn;
    Lsn stop_lsn;
    uint32_t timeline;
    double stop_time;        /* Unix seconds */
} SelectBackup;

/* The target as selection sees it. A restore point name or an xid is
 * placed by `points`: where recovery would stop at each restore point of
 * that name, or at each commit/abort record of that xid, in WAL order
 * (they may repeat; recovery from a backup stops at the first one after
 * the backup's start). Unplaced (npoints 0), the newest backup is taken:
 * nothing better is known. */
typedef struct SelectTarget
{
    TargetKind kind;
    const char *text;        /* for messages */
    Lsn lsn;                 /* TARGET_LSN */
    const Lsn *points;       /* TARGET_NAME, TARGET_XID: where recovery would stop */
    size_t npoints;
    double time;             /* TARGET_TIME */
    uint32_t timeline;       /* the target's timeline when known, else 0 */
    bool exclusive;          /* stop just before the target */
    char resolved_by[200];   /* "consistency point cp-1 of cluster c" ... (messages); "" unless resolved */
} SelectTarget;

/* Whether recovery from backup `b` can stop at `t`: the target lies at or
 * after the point where `b` becomes consistent (for a name: the first
 * restore point of that name after b's start does). When not, *why says so. */
bool select_can_reach(const SelectBackup *b, const SelectTarget *t, char *why, size_t whylen);
/* For a placed name or xid: where recovery from `b` stops (the first point
 * after b's start), 0 if none follows it. */
Lsn select_name_stop(const SelectBackup *b, const SelectTarget *t);

/* The latest of `n` backups (oldest first) that can reach `t`: its index
 * in *chosen. -1 with err naming the node, the target and the earliest
 * backup's consistency point when none can (or n == 0). */
int select_backup(const char *node, const SelectBackup *b, size_t n, const SelectTarget *t, size_t *chosen,
                  Error *err);

#endif
