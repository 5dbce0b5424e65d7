#include "wal/restore_point.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wal/history.h"
#include "wal/index_pool.h"
#include "wal/xact_search.h"

typedef struct RestorePointScan
{
    const char *name;
    WalRestorePointMatch *out;
    size_t count, cap;
} RestorePointScan;

static int
collect_restore_points(void *arg, const WalIndex *ix, uint32_t tli, const WalTimelinePath *path, Error *err)
{
    RestorePointScan *s = arg;
    (void) err;
    for (size_t k = 0; k < ix->nrpoints; k++)
    {
        const WalRestorePoint *rp = &ix->rpoints[k];
        if (strcmp(rp->name, s->name) != 0 || !wal_path_contains(path, tli, rp->lsn))
            continue;
        if (s->count == s->cap)
        {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->out = xrealloc(s->out, s->cap * sizeof(*s->out));
        }
        s->out[s->count++] = (WalRestorePointMatch){rp->lsn, rp->end, tli, rp->time_us};
    }
    return 0;
}

int
wal_find_restore_points(Pool *p, const char *node, uint32_t tli, const char *name, WalRestorePointMatch **out,
                        size_t *count, Error *err)
{
    RestorePointScan s = {.name = name};
    int rc = wal_scan_path_indexes(p, node, tli, collect_restore_points, &s, err);
    if (rc != 0)
    {
        free(s.out);
        s.out = NULL;
        s.count = 0;
    }
    *out = s.out;
    *count = s.count;
    return rc;
}

int
wal_find_restore_point(Pool *p, const char *node, uint32_t tli, const char *name, Lsn from, Lsn *lsn, Lsn *end,
                       Error *err)
{
    WalRestorePointMatch *m;
    size_t n;
    if (wal_find_restore_points(p, node, tli, name, &m, &n, err) != 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        if (m[i].lsn >= from)
        {
            *lsn = m[i].lsn;
            if (end)
                *end = m[i].end;
            found = 1;
        }
    free(m);
    return found;
}
