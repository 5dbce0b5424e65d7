#include "restore/wal_plan.h"

#include <stdio.h>
#include <stdlib.h>

#include "archive/wal_continuity.h"
#include "common/log.h"

static Lsn
target_lsn(const Manifest *m, const Target *t)
{
    switch (t->kind)
    {
        case TARGET_LATEST: return 0;
        case TARGET_IMMEDIATE: return m->stop_lsn;
        default: return t->lsn;   /* 0 when the position is not known */
    }
}

int
restore_check_wal_path(Pool *pool, const Manifest *m, const Target *t, Error *err)
{
    WalList wl;
    if (archive_list(pool, m->node, m->wal_segment_size, &wl, err) != 0)
        return -1;
    TimelineHistory *hist;
    size_t nhist;
    timeline_histories_load(pool, &wl, &hist, &nhist);
    WalArchiveView v = {.wl = &wl, .seg_size = m->wal_segment_size, .histories = hist, .nhistories = nhist};
    WalIssues issues = {0};
    WalPathEnd end;
    Lsn until = target_lsn(m, t);
    wal_path_issues(&v, m->timeline, m->start_lsn, until, &issues, &end);
    int rc = 0;
    if (issues.count)
    {
        char *d = wal_issue_describe(&issues.items[0], m->wal_segment_size), more[64] = "";
        if (issues.count > 1)
            snprintf(more, sizeof(more), " (and %zu more problem(s))", issues.count - 1);
        const char *why = t->kind == TARGET_LATEST
                              ? "replaying to the latest would end there and promote short of the archive's end"
                          : until ? "recovery could not reach the target"
                                  : "the target may lie past it, and recovery would stop there; to restore what "
                                    "precedes it give --lsn before it";
        rc = error_set(err, "cannot restore backup %s of node %s from pool %s: %s%s; %s (strata verify lists every "
                            "problem of the archive)",
                       m->id, m->node, pool->location, d, more, why);
        free(d);
    }
    else if (end.any)
    {
        char name[WAL_NAME_LEN + 1];
        wal_segment_name(end.tli, end.segno, m->wal_segment_size, name);
        log_info("WAL of node %s is whole from backup %s %s segment %s (timeline %u)", m->node, m->id,
                 until ? "to the target, in" : "to the end of the archive,", name, end.tli);
    }
    wal_issues_free(&issues);
    timeline_histories_free(hist, nhist);
    wal_list_free(&wl);
    return rc;
}
