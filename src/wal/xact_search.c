#include "wal/xact_search.h"

#include <stdlib.h>

#include "common/log.h"
#include "wal/index_pool.h"

/* The index of one segment: stored, or built in memory (nothing written). */
static int
segment_index(Pool *p, const char *node, const WalObject *o, uint64_t seg_size, WalIndex *ix, Error *err)
{
    bool have = false;
    Error e;
    if (wal_index_load(p, node, o, seg_size, ix, &have, &e) != 0)
        log_warn("%s; decoding the segment instead", e.msg);
    if (have && !(ix->flags & WAL_INDEX_HEAD_MISSING))
        return 0;
    if (have)
        wal_index_free(ix);
    return wal_index_build_segment(p, node, o, NULL, seg_size, false, ix, err);
}

int
wal_scan_path_indexes(Pool *p, const char *node, uint32_t tli, WalIndexFn fn, void *arg, Error *err)
{
    NodeInfo ni;
    bool exists;
    if (node_info_read(p, node, &ni, &exists, err) != 0)
        return -1;
    if (!exists || !ni.wal_segment_size)
        return error_set(err, "node %s has no archived WAL in pool %s", node, p->location);
    WalList l;
    if (archive_list(p, node, ni.wal_segment_size, &l, err) != 0)
        return -1;
    WalTimelinePath path;
    if (wal_timeline_path(p, node, &l, tli, &path, err) != 0)
    {
        wal_list_free(&l);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        const WalObject *o = &l.items[i];
        if (!o->is_segment || o->tli != wal_path_segment_tli(&path, o->segno, ni.wal_segment_size))
            continue;
        WalIndex ix;
        if ((rc = segment_index(p, node, o, ni.wal_segment_size, &ix, err)) != 0)
            break;
        if (ix.flags & WAL_INDEX_DECODE_ERROR)
            log_warn("WAL segment %s of node %s: %s", o->name, node, ix.error);
        rc = fn(arg, &ix, o->tli, &path, err);
        wal_index_free(&ix);
    }
    wal_timeline_path_free(&path);
    wal_list_free(&l);
    return rc;
}

typedef struct XactScan
{
    uint32_t xid;
    WalXactEnd *out;
    size_t count, cap;
} XactScan;

static int
collect_xact_ends(void *arg, const WalIndex *ix, uint32_t tli, const WalTimelinePath *path, Error *err)
{
    XactScan *s = arg;
    (void) err;
    for (size_t k = 0; k < ix->nxacts; k++)
    {
        const WalXact *x = &ix->xacts[k];
        if (x->xid != s->xid || x->kind == WAL_XACT_PREPARE || !wal_path_contains(path, tli, x->lsn))
            continue;
        if (s->count == s->cap)
        {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->out = xrealloc(s->out, s->cap * sizeof(*s->out));
        }
        s->out[s->count++] = (WalXactEnd){x->lsn, x->end, x->kind};
    }
    return 0;
}

int
wal_find_xact_ends(Pool *p, const char *node, uint32_t tli, uint64_t xid, WalXactEnd **out, size_t *count,
                   Error *err)
{
    XactScan s = {.xid = (uint32_t) xid};
    int rc = wal_scan_path_indexes(p, node, tli, collect_xact_ends, &s, err);
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
