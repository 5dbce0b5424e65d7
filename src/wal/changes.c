#include "wal/changes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wal/history.h"
#include "wal/index_pool.h"

#define L(x) (unsigned) ((x) >> 32), (unsigned) (x)

typedef struct RangeKey
{
    WalRelFile rel;
    uint8_t fork;
    uint32_t start, count;
} RangeKey;

typedef struct Acc
{
    WalChanges *ch;
    Lsn from, to;
    RangeKey *ranges;
    size_t nranges, cap;
    size_t cap_t, cap_r, cap_d, cap_x, cap_p, cap_s, cap_u;
} Acc;

static void
incomplete(WalChanges *ch, const char *fmt, ...)
{
    if (!ch->complete)
        return;   /* keep the first reason */
    ch->complete = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ch->why, sizeof(ch->why), fmt, ap);
    va_end(ap);
}

/* Appends the entries of src[0..n) whose lsn is in [from, to). */
#define APPEND_IN_RANGE(acc, field, nfield, capfield, src, n)                                      \
    do                                                                                             \
    {                                                                                              \
        WalIndex *dst_ = &(acc)->ch->index;                                                        \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
        {                                                                                          \
            if ((src)[i_].lsn < (acc)->from || (src)[i_].lsn >= (acc)->to)                         \
                continue;                                                                          \
            if (dst_->nfield == (acc)->capfield)                                                   \
            {                                                                                      \
                (acc)->capfield = (acc)->capfield ? (acc)->capfield * 2 : 16;                      \
                dst_->field = xrealloc(dst_->field, (acc)->capfield * sizeof(*dst_->field));       \
            }                                                                                      \
            dst_->field[dst_->nfield++] = (src)[i_];                                               \
        }                                                                                          \
    } while (0)

static void
add_segment(Acc *a, const WalIndex *ix, const char *segname)
{
    for (size_t i = 0; i < ix->nforks; i++)
        for (size_t j = 0; j < ix->forks[i].nranges; j++)
        {
            if (a->nranges == a->cap)
            {
                a->cap = a->cap ? a->cap * 2 : 256;
                a->ranges = xrealloc(a->ranges, a->cap * sizeof(RangeKey));
            }
            a->ranges[a->nranges++] = (RangeKey){ix->forks[i].rel, ix->forks[i].fork, ix->forks[i].ranges[j].start,
                                                 ix->forks[i].ranges[j].count};
        }
    APPEND_IN_RANGE(a, truncations, ntruncations, cap_t, ix->truncations, ix->ntruncations);
    APPEND_IN_RANGE(a, rels, nrels, cap_r, ix->rels, ix->nrels);
    APPEND_IN_RANGE(a, dbs, ndbs, cap_d, ix->dbs, ix->ndbs);
    APPEND_IN_RANGE(a, xacts, nxacts, cap_x, ix->xacts, ix->nxacts);
    APPEND_IN_RANGE(a, rpoints, nrpoints, cap_p, ix->rpoints, ix->nrpoints);
    APPEND_IN_RANGE(a, servers, nservers, cap_s, ix->servers, ix->nservers);
    APPEND_IN_RANGE(a, unknown, nunknown, cap_u, ix->unknown, ix->nunknown);
    a->ch->index.nrecords += ix->nrecords;
    for (size_t i = 0; i < ix->nunknown; i++)
        if (ix->unknown[i].lsn >= a->from && ix->unknown[i].lsn < a->to)
        {
            incomplete(a->ch, "segment %s: record at %X/%X (resource manager %u, info 0x%02X) changes relation files "
                              "in a way strata does not know",
                       segname, L(ix->unknown[i].lsn), ix->unknown[i].rmid, ix->unknown[i].info);
            break;
        }
}

/* Is the part of this segment inside [from, to) fully described? */
static void
check_coverage(Acc *a, const WalIndex *ix, const char *segname)
{
    Lsn seg_end = (ix->segno + 1) * ix->seg_size;
    Lsn want_end = a->to < seg_end ? a->to : seg_end;
    if (ix->covered_from > a->from && ix->covered_from > ix->segno * ix->seg_size)
        incomplete(a->ch, "segment %s is described only from %X/%X (the record continuing into it could not be read)",
                   segname, L(ix->covered_from));
    if ((ix->flags & WAL_INDEX_DECODE_ERROR) && ix->valid_end < want_end)
        incomplete(a->ch, "segment %s does not decode past %X/%X: %s", segname, L(ix->valid_end), ix->error);
    else if ((ix->flags & WAL_INDEX_ENDED_EARLY) && ix->valid_end < want_end)
        incomplete(a->ch, "the WAL of segment %s ends at %X/%X, before %X/%X", segname, L(ix->valid_end),
                   L(want_end));
}

static int
range_cmp(const void *x, const void *y)
{
    const RangeKey *a = x, *b = y;
    if (a->rel.spc != b->rel.spc)
        return a->rel.spc < b->rel.spc ? -1 : 1;
    if (a->rel.db != b->rel.db)
        return a->rel.db < b->rel.db ? -1 : 1;
    if (a->rel.rel != b->rel.rel)
        return a->rel.rel < b->rel.rel ? -1 : 1;
    if (a->fork != b->fork)
        return a->fork < b->fork ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Sorted, merged ranges per fork. */
static void
merge_ranges(Acc *a)
{
    WalIndex *ix = &a->ch->index;
    if (a->nranges)
        qsort(a->ranges, a->nranges, sizeof(RangeKey), range_cmp);
    size_t capf = 0, capr = 0;
    WalForkBlocks *f = NULL;
    for (size_t i = 0; i < a->nranges; i++)
    {
        const RangeKey *k = &a->ranges[i];
        if (!f || f->rel.spc != k->rel.spc || f->rel.db != k->rel.db || f->rel.rel != k->rel.rel || f->fork != k->fork)
        {
            if (ix->nforks == capf)
            {
                capf = capf ? capf * 2 : 64;
                ix->forks = xrealloc(ix->forks, capf * sizeof(WalForkBlocks));
            }
            f = &ix->forks[ix->nforks++];
            *f = (WalForkBlocks){.rel = k->rel, .fork = k->fork};
            capr = 0;
        }
        uint64_t kend = (uint64_t) k->start + k->count;
        WalBlockRange *last = f->nranges ? &f->ranges[f->nranges - 1] : NULL;
        if (last && k->start <= (uint64_t) last->start + last->count)
        {
            if (kend > (uint64_t) last->start + last->count)
                last->count = (uint32_t) (kend - last->start);
            continue;
        }
        if (f->nranges == capr)
        {
            capr = capr ? capr * 2 : 8;
            f->ranges = xrealloc(f->ranges, capr * sizeof(WalBlockRange));
        }
        f->ranges[f->nranges++] = (WalBlockRange){k->start, k->count};
    }
    free(a->ranges);
}

/* One segment of the path: its index (stored or decoded), added. */
static int
read_segment(Pool *p, const char *node, const WalObject *o, uint64_t seg_size, Acc *a, Error *err)
{
    WalIndex ix;
    bool have = false;
    Error e;
    if (wal_index_load(p, node, o, seg_size, &ix, &have, &e) != 0)
        log_warn("%s; decoding the segment instead", e.msg);
    if (!have)
    {
        if (wal_index_build_segment(p, node, o, NULL, seg_size, false, &ix, err) != 0)
            return -1;
        a->ch->built++;
    }
    a->ch->segments++;
    check_coverage(a, &ix, o->name);
    add_segment(a, &ix, o->name);
    wal_index_free(&ix);
    return 0;
}

/* COMMIT/ABORT PREPARED records carry the GID only at wal_level logical:
 * name them from the PREPARE of the same xid earlier in the range. */
static void
resolve_gids(WalIndex *ix)
{
    for (size_t i = 0; i < ix->nxacts; i++)
    {
        WalXact *x = &ix->xacts[i];
        if (x->gid[0] || (x->kind != WAL_XACT_COMMIT_PREPARED && x->kind != WAL_XACT_ABORT_PREPARED))
            continue;
        for (size_t k = i; k-- > 0;)
            if (ix->xacts[k].kind == WAL_XACT_PREPARE && ix->xacts[k].xid == x->xid)
            {
                memcpy(x->gid, ix->xacts[k].gid, sizeof(x->gid));
                break;
            }
    }
}

int
wal_changes_collect(Pool *p, const char *node, uint32_t tli, Lsn from, Lsn to, WalChanges *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    out->complete = true;
    if (to <= from)
        return error_set(err, "WAL range %X/%X..%X/%X of node %s is empty or reversed", L(from), L(to), node);
    NodeInfo ni;
    bool exists;
    if (node_info_read(p, node, &ni, &exists, err) != 0)
        return -1;
    if (!exists || !ni.wal_segment_size)
        return error_set(err, "node %s has no archived WAL in pool %s", node, p->location);
    uint64_t ss = ni.wal_segment_size;
    WalList l;
    if (archive_list(p, node, ss, &l, err) != 0)
        return -1;
    WalTimelinePath path;
    if (wal_timeline_path(p, node, &l, tli, &path, err) != 0)
    {
        wal_list_free(&l);
        return -1;
    }
    out->index.seg_size = ss;
    out->index.sysid = ni.system_identifier;
    out->index.covered_from = from;
    out->index.valid_end = to;
    Acc a = {.ch = out, .from = from, .to = to};
    int rc = 0;
    for (uint64_t segno = from / ss; segno <= (to - 1) / ss && rc == 0; segno++)
    {
        uint32_t t = wal_path_segment_tli(&path, segno, ss);
        char name[WAL_NAME_LEN + 1];
        wal_segment_name(t, segno, ss, name);
        WalObject o;
        bool found;
        if ((rc = archive_find(p, node, name, &o, &found, err)) != 0)
            break;
        if (!found)
        {
            incomplete(out, "segment %s (timeline %u's history) is not archived for node %s", name,
                       path.spans[path.count - 1].tli, node);
            continue;
        }
        o.is_segment = wal_parse_segment_name(name, ss, &o.tli, &o.segno);
        rc = read_segment(p, node, &o, ss, &a, err);
        wal_object_free(&o);
    }
    merge_ranges(&a);
    resolve_gids(&out->index);
    wal_timeline_path_free(&path);
    wal_list_free(&l);
    if (rc != 0)
        wal_changes_free(out);
    return rc;
}

void
wal_changes_free(WalChanges *ch)
{
    wal_index_free(&ch->index);
}
