#include "restore/select.h"

#include <stdio.h>
#include <time.h>

#include "common/util.h"

/* Is the target placed in the WAL? */
static bool
target_placed(const SelectTarget *t)
{
    return t->kind == TARGET_LSN || ((t->kind == TARGET_XID || t->kind == TARGET_NAME) && t->npoints);
}

Lsn
select_name_stop(const SelectBackup *b, const SelectTarget *t)
{
    for (size_t i = 0; i < t->npoints; i++)
        if (t->points[i] > b->start_lsn)
            return t->points[i];
    return 0;
}

bool
select_can_reach(const SelectBackup *b, const SelectTarget *t, char *why, size_t whylen)
{
    char stop[32], at[32], when[64];
    lsn_format(b->stop_lsn, stop);
    if (t->timeline && b->timeline > t->timeline)
    {
        snprintf(why, whylen, "backup %s is on timeline %u, after the target's timeline %u", b->id, b->timeline,
                 t->timeline);
        return false;
    }
    if (target_placed(t))
    {
        /* Recovery that stops before the backup's end is not consistent:
         * PostgreSQL refuses ("requested recovery stop point is before
         * consistent recovery point"). Exclusive stops before the record. */
        Lsn target = t->kind == TARGET_LSN ? t->lsn : select_name_stop(b, t);
        if (target == 0)
        {
            lsn_format(t->points[t->npoints - 1], at);
            snprintf(why, whylen, "backup %s starts after the last %s (LSN %s)", b->id,
                     t->kind == TARGET_XID ? "end of that transaction" : "restore point of that name", at);
            return false;
        }
        bool ok = t->exclusive ? b->stop_lsn < target : b->stop_lsn <= target;
        if (!ok)
        {
            lsn_format(target, at);
            snprintf(why, whylen, "backup %s is consistent from LSN %s, after the target's LSN %s", b->id, stop, at);
        }
        return ok;
    }
    if (t->kind == TARGET_TIME)
    {
        bool ok = b->stop_time <= t->time;
        if (!ok)
        {
            format_utc((time_t) b->stop_time, when, sizeof(when));
            snprintf(why, whylen, "backup %s is consistent from %s (LSN %s), after the target time", b->id, when,
                     stop);
        }
        return ok;
    }
    /* latest, immediate, and a name or xid no index could place. */
    return true;
}

int
select_backup(const char *node, const SelectBackup *b, size_t n, const SelectTarget *t, size_t *chosen, Error *err)
{
    char why[256] = "";
    for (size_t i = n; i > 0; i--)
        if (select_can_reach(&b[i - 1], t, why, sizeof(why)))
        {
            *chosen = i - 1;
            return 0;
        }
    if (n == 0)
        return error_set(err, "node %s has no complete backup", node);
    char where[300] = "";
    if (target_placed(t) && t->kind != TARGET_LSN)
    {
        char at[32];
        lsn_format(t->points[0], at);
        snprintf(where, sizeof(where), " (at LSN %s%s%s)", at, t->resolved_by[0] ? ", from " : "", t->resolved_by);
    }
    /* why is the earliest backup's reason: the last one tried. */
    return error_set(err, "target %s '%s'%s is outside the recoverable window of node %s: no backup can reach it "
                          "(%s)", target_kind_name(t->kind), t->text ? t->text : "", where, node, why);
}
