#include "backup/incremental.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/wal_wait.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"
#include "wal/history.h"
#include "wal/reader.h"

#define L(x) (unsigned) ((x) >> 32), (unsigned) (x)

static void
fallback(IncrState *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fallback(IncrState *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->why, sizeof(st->why), fmt, ap);
    va_end(ap);
    st->active = false;
}

/* The newest complete backup of the node (diff: the newest full one), or
 * the one named by o->parent if it is complete (and, for diff, full). */
static int
choose_parent(Pool *pool, const BackupOptions *o, IncrState *st, bool *found, Error *err)
{
    BackupList bl;
    *found = false;
    if (backup_list_load(pool, o->co.node, &bl, err) != 0)
        return -1;
    for (size_t i = bl.count; i-- > 0;)
    {
        BackupEntry *b = &bl.items[i];
        if (!b->complete || (o->type == BACKUP_TYPE_DIFF && !manifest_is_full(&b->manifest)) ||
            (o->parent && strcmp(b->id, o->parent) != 0))
            continue;
        st->parent = b->manifest;   /* take ownership */
        b->complete = false;
        *found = true;
        break;
    }
    backup_list_free(&bl);
    return 0;
}

/* The checkpoint pg_backup_start used: its timeline (the one whose history
 * the WAL range is read along). */
static int
start_timeline(PGconn *conn, Lsn start_lsn, uint32_t *tli, Error *err)
{
    PGresult *r = pg_exec(conn, "instance", "SELECT timeline_id, redo_lsn FROM pg_control_checkpoint()", 0, NULL, err);
    if (!r)
        return -1;
    *tli = (uint32_t) strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    Lsn redo = 0;
    Error lerr;
    int rc = lsn_parse(PQgetvalue(r, 0, 1), &redo, &lerr);
    PQclear(r);
    /* A later checkpoint may have replaced it: follow the latest timeline. */
    if (rc != 0 || redo != start_lsn)
        *tli = 0;
    return 0;
}

/* The history of timeline `tli` (0: the latest archived), from the archive's
 * history files. */
static int
timeline_path(Pool *pool, const char *node, uint32_t tli, uint64_t seg_size, WalTimelinePath *path, Error *err)
{
    WalList l;
    if (archive_list(pool, node, seg_size, &l, err) != 0)
        return -1;
    int rc = wal_timeline_path(pool, node, &l, tli, path, err);
    wal_list_free(&l);
    return rc;
}

/* The end of the WAL this incremental must know: everything before its
 * start. On a primary, pg_backup_start switches to a fresh segment before
 * its checkpoint, so the start (the checkpoint's redo point) is then the
 * first record of a segment, right after its long page header: no byte of
 * WAL before the start lies in that segment (a record continuing into it
 * would come first), and the WAL to read ends with the previous segment,
 * which that switch has already handed to the archiver. Reading up to the
 * start itself would mean asking for one more switch and waiting for the
 * push of a segment that holds nothing this backup needs (measured in
 * bench/incr.sh: a sixth of an incremental's fixed cost). Only when that
 * previous segment is this timeline's own file. */
static Lsn
wal_needed_end(const WalTimelinePath *path, uint32_t tli, Lsn start_lsn, uint64_t seg_size)
{
    Lsn in_seg = start_lsn % seg_size;
    if (tli != 0 && start_lsn >= seg_size && in_seg == wal_segment_first_record_offset() &&
        wal_path_segment_tli(path, wal_segno(start_lsn, seg_size) - 1, seg_size) == tli)
        return start_lsn - in_seg;
    return start_lsn;
}

/* Waits for the segment holding the last WAL before `wal_end`. When
 * wal_end is a segment's start, that segment is complete already (the
 * instance writes past it): a switch would only close the next one and add
 * a push of it to the archiver's queue, so none is asked for. */
static int
wait_for_start_wal(Pool *pool, const BackupOptions *o, PGconn *conn, Lsn wal_end, uint32_t tli, bool from_standby,
                   const char *primary_conninfo, uint64_t seg_size, Error *err)
{
    if (tli == 0)
        return 0;   /* the timeline is not known: the range check below tells */
    char names[1][WAL_NAME_LEN + 1];
    wal_segment_name(tli, wal_segno(wal_end - 1, seg_size), seg_size, names[0]);
    bool complete = wal_end % seg_size == 0;
    return backup_wait_for_segments(pool, o, names, 1, complete ? false : from_standby, primary_conninfo,
                                    complete || from_standby ? NULL : conn,
                                    "needed to tell what changed since the parent backup", err);
}

/* The primary's pg_control_checkpoint() column `col` (redo_lsn or checkpoint_lsn). */
static int
primary_checkpoint_lsn(PGconn *primary, const char *col, Lsn *out, Error *err)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT %s FROM pg_control_checkpoint()", col);
    char *v = pg_query_value(primary, "primary", sql, err);
    if (!v)
        return -1;
    int rc = lsn_parse(v, out, err);
    free(v);
    return rc;
}

/* Polls the standby until it has replayed past `lsn`, for at most `seconds`. */
static bool
standby_replayed_past(PGconn *standby, Lsn lsn, int seconds)
{
    for (int waited_ms = 0; waited_ms <= seconds * 1000; waited_ms += 100)
    {
        Error e;
        char *v = pg_query_value(standby, "instance", "SELECT pg_last_wal_replay_lsn()", &e);
        Lsn replayed = 0;
        bool past = v && lsn_parse(v, &replayed, &e) == 0 && replayed > lsn;
        free(v);
        if (past)
            return true;
        sleep_ms(100);
    }
    return false;
}

/* Asks the primary for a CHECKPOINT and waits for the standby to replay
 * it: the standby's next restartpoint is then after `parent_start`. */
static int
checkpoint_primary(PGconn *primary, PGconn *standby, Lsn redo, Lsn parent_start, const char *parent, int seconds,
                   Error *err)
{
    log_info("the primary's last checkpoint (redo %X/%X) is not after the start %X/%X of the parent backup %s: "
             "asking the primary for a CHECKPOINT, so that this backup starts later",
             L(redo), L(parent_start), parent);
    PGresult *r = pg_exec(primary, "primary", "CHECKPOINT", 0, NULL, err);
    if (!r)
        return -1;
    PQclear(r);
    Lsn checkpoint;
    if (primary_checkpoint_lsn(primary, "checkpoint_lsn", &checkpoint, err) != 0)
        return -1;
    if (!standby_replayed_past(standby, checkpoint, seconds))
        return error_set(err, "the standby has not replayed the primary's checkpoint at %X/%X within %d s",
                         L(checkpoint), seconds);
    return 0;
}

int
incr_choose_parent(Pool *pool, const BackupOptions *o, IncrState *st, Error *err)
{
    memset(st, 0, sizeof(*st));
    return choose_parent(pool, o, st, &st->parent_found, err);
}

void
incr_advance_standby_start(const BackupOptions *o, const IncrState *st, PGconn *standby, const char *primary_conninfo)
{
    if (!st->parent_found || !primary_conninfo)
        return;   /* a full anyway, or no primary to ask: incr_prepare says why */
    const Manifest *p = &st->parent;
    Error perr;
    PGconn *primary = pg_connect_within(primary_conninfo, "primary", 10000, &perr);
    Lsn redo = 0;
    int rc = primary ? primary_checkpoint_lsn(primary, "redo_lsn", &redo, &perr) : -1;
    if (rc == 0 && redo <= p->start_lsn)
        rc = checkpoint_primary(primary, standby, redo, p->start_lsn, p->id,
                                o->archive_timeout > 0 ? o->archive_timeout : 60, &perr);
    PQfinish(primary);
    if (rc != 0)
        log_warn("%s: the backup may start where its parent %s did, and then is a full one", perr.msg, p->id);
}

int
incr_prepare(Pool *pool, const BackupOptions *o, PGconn *conn, Lsn start_lsn, bool from_standby,
             const char *primary_conninfo, IncrState *st, Error *err)
{
    if (!st->parent_found)
    {
        if (o->parent)
            fallback(st, "the parent asked for, %s, is not a complete %sbackup of node %s", o->parent,
                     o->type == BACKUP_TYPE_DIFF ? "full " : "", o->co.node);
        else
            fallback(st, "node %s has no complete %sbackup to build on", o->co.node,
                     o->type == BACKUP_TYPE_DIFF ? "full " : "");
        return 0;
    }
    const Manifest *p = &st->parent;
    if (p->start_lsn >= start_lsn)
    {
        fallback(st, "the parent backup %s starts at %X/%X, not before this backup's start %X/%X", p->id,
                 L(p->start_lsn), L(start_lsn));
        return 0;
    }
    uint32_t tli;
    WalTimelinePath path;
    if (start_timeline(conn, start_lsn, &tli, err) != 0 ||
        timeline_path(pool, o->co.node, tli, p->wal_segment_size, &path, err) != 0)
        return -1;
    /* Is the parent on this backup's timeline history up to its stop LSN?
     * (A parent on a branch that was abandoned holds pages this history never had.) */
    bool on = wal_path_contains(&path, p->timeline, p->stop_lsn);
    Lsn wal_end = wal_needed_end(&path, tli, start_lsn, p->wal_segment_size);
    wal_timeline_path_free(&path);
    if (wait_for_start_wal(pool, o, conn, wal_end, tli, from_standby, primary_conninfo, p->wal_segment_size, err) != 0)
        return -1;
    if (!on)
    {
        fallback(st, "the parent backup %s (timeline %u, stop %X/%X) is not on the history of timeline %u", p->id,
                 p->timeline, L(p->stop_lsn), tli);
        return 0;
    }
    if (wal_changes_collect(pool, o->co.node, tli, p->start_lsn, wal_end, &st->changes, err) != 0)
        return -1;
    const char *refusal = incr_plan_refusal(&st->changes.index);
    if (!st->changes.complete)
        fallback(st, "the WAL from %X/%X (parent %s) to %X/%X is not fully indexed: %s", L(p->start_lsn), p->id,
                 L(start_lsn), st->changes.why);
    else if (refusal)
        fallback(st, "%s", refusal);
    else
    {
        st->active = true;
        incr_plan_init(&st->plan, &st->changes.index, &st->parent);
        log_info("%s backup on %s: WAL %X/%X..%X/%X, %zu segment(s) (%zu decoded now), %zu relation fork(s) changed",
                 backup_type_name(o->type), p->id, L(p->start_lsn), L(wal_end), st->changes.segments,
                 st->changes.built, st->changes.index.nforks);
    }
    return 0;
}

void
incr_state_free(IncrState *st)
{
    incr_plan_free(&st->plan);
    wal_changes_free(&st->changes);
    manifest_free(&st->parent);
    memset(st, 0, sizeof(*st));
}
