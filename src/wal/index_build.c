/* Building a segment's index from its records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "wal/index_internal.h"

typedef struct BlockKey
{
    WalRelFile rel;
    uint8_t fork;
    uint32_t blkno;
} BlockKey;

struct WalIndexBuilder
{
    WalIndex *ix;
    BlockKey *blocks;
    size_t nblocks, capblocks;
    size_t cap_trunc, cap_rels, cap_dbs, cap_xacts, cap_rp, cap_srv, cap_unknown;
};

WalIndexBuilder *
wal_index_builder_new(WalIndex *ix)
{
    WalIndexBuilder *b = xcalloc(1, sizeof(*b));
    b->ix = ix;
    return b;
}

WalIndex *wal_builder_index(WalIndexBuilder *b) { return b->ix; }

/* One more zeroed element of a growable array. */
static void *
grow(void **items, size_t *count, size_t *cap, size_t size)
{
    if (*count == *cap)
    {
        *cap = *cap ? *cap * 2 : 16;
        *items = xrealloc(*items, *cap * size);
    }
    void *e = (char *) *items + *count * size;
    memset(e, 0, size);
    (*count)++;
    return e;
}

#define GROW(b, arr, n, cap) grow((void **) &(b)->ix->arr, &(b)->ix->n, &(b)->cap, sizeof(*(b)->ix->arr))

WalTruncation *wal_builder_truncation(WalIndexBuilder *b) { return GROW(b, truncations, ntruncations, cap_trunc); }
WalRelEvent *wal_builder_rel(WalIndexBuilder *b) { return GROW(b, rels, nrels, cap_rels); }
WalDbEvent *wal_builder_db(WalIndexBuilder *b) { return GROW(b, dbs, ndbs, cap_dbs); }
WalXact *wal_builder_xact(WalIndexBuilder *b) { return GROW(b, xacts, nxacts, cap_xacts); }
WalRestorePoint *wal_builder_restore_point(WalIndexBuilder *b) { return GROW(b, rpoints, nrpoints, cap_rp); }
WalServerEvent *wal_builder_server(WalIndexBuilder *b) { return GROW(b, servers, nservers, cap_srv); }
WalUnknownRecord *wal_builder_unknown(WalIndexBuilder *b) { return GROW(b, unknown, nunknown, cap_unknown); }

void
wal_builder_block(WalIndexBuilder *b, const WalRelFile *rel, uint8_t fork, uint32_t blkno)
{
    BlockKey *k = grow((void **) &b->blocks, &b->nblocks, &b->capblocks, sizeof(BlockKey));
    k->rel = *rel;
    k->fork = fork;
    k->blkno = blkno;
}

int
wal_index_add_record(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    b->ix->nrecords++;
    for (int i = 0; i < rec->nblocks; i++)
        wal_builder_block(b, &rec->blocks[i].rel, rec->blocks[i].fork, rec->blocks[i].blkno);
    switch (rec->rmid)
    {
        case WAL_RM_XLOG: return wal_rmgr_xlog(b, rec, err);
        case WAL_RM_XACT: return wal_rmgr_xact(b, rec, err);
        case WAL_RM_SMGR: return wal_rmgr_smgr(b, rec, err);
        case WAL_RM_DBASE: return wal_rmgr_dbase(b, rec, err);
        default:
            if (rec->info & 0x01 /* XLR_SPECIAL_REL_UPDATE */)
            {
                WalUnknownRecord *u = wal_builder_unknown(b);
                u->lsn = rec->lsn;
                u->rmid = rec->rmid;
                u->info = rec->info;
                b->ix->flags |= WAL_INDEX_UNKNOWN_SPECIAL;
            }
            return 0;
    }
}

static int
rel_cmp(const WalRelFile *a, uint8_t af, const WalRelFile *b, uint8_t bf)
{
    if (a->spc != b->spc)
        return a->spc < b->spc ? -1 : 1;
    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    if (a->rel != b->rel)
        return a->rel < b->rel ? -1 : 1;
    return af < bf ? -1 : af > bf;
}

static int
block_cmp(const void *x, const void *y)
{
    const BlockKey *a = x, *b = y;
    int c = rel_cmp(&a->rel, a->fork, &b->rel, b->fork);
    if (c)
        return c;
    return a->blkno < b->blkno ? -1 : a->blkno > b->blkno;
}

void
wal_index_builder_finish(WalIndexBuilder *b)
{
    WalIndex *ix = b->ix;
    if (b->nblocks)
        qsort(b->blocks, b->nblocks, sizeof(BlockKey), block_cmp);
    size_t capf = 0;
    WalForkBlocks *f = NULL;
    size_t capr = 0;
    for (size_t i = 0; i < b->nblocks; i++)
    {
        const BlockKey *k = &b->blocks[i];
        if (!f || rel_cmp(&f->rel, f->fork, &k->rel, k->fork) != 0)
        {
            f = grow((void **) &ix->forks, &ix->nforks, &capf, sizeof(WalForkBlocks));
            f->rel = k->rel;
            f->fork = k->fork;
            capr = 0;
        }
        WalBlockRange *last = f->nranges ? &f->ranges[f->nranges - 1] : NULL;
        if (last && k->blkno < (uint64_t) last->start + last->count)
            continue;   /* the same block again */
        if (last && k->blkno == (uint64_t) last->start + last->count)
        {
            last->count++;
            continue;
        }
        WalBlockRange *r = grow((void **) &f->ranges, &f->nranges, &capr, sizeof(WalBlockRange));
        r->start = k->blkno;
        r->count = 1;
    }
    free(b->blocks);
    free(b);
}

void
wal_index_free(WalIndex *ix)
{
    for (size_t i = 0; i < ix->nforks; i++)
        free(ix->forks[i].ranges);
    free(ix->forks);
    free(ix->truncations);
    free(ix->rels);
    free(ix->dbs);
    free(ix->xacts);
    free(ix->rpoints);
    free(ix->servers);
    free(ix->unknown);
    free(ix->tail);
    memset(ix, 0, sizeof(*ix));
}

typedef struct BuildCtx
{
    WalIndexBuilder *b;
    Lsn seg_start;
    Lsn last_end;
} BuildCtx;

/* Records ending in the previous segment belong to its index. */
static int
on_record(void *ctx, const WalRecord *rec, Error *err)
{
    BuildCtx *c = ctx;
    if (rec->end <= c->seg_start)
        return 0;
    c->last_end = rec->end;
    return wal_index_add_record(c->b, rec, err);
}

bool
wal_index_continues(const WalIndex *prev_ix)
{
    return prev_ix && (prev_ix->flags & (WAL_INDEX_TAIL | WAL_INDEX_CLEAN_END)) &&
           !(prev_ix->flags & WAL_INDEX_DECODE_ERROR);
}

/* After the feed: keep the record continuing into the next segment. */
static void
keep_tail(WalIndex *ix, const WalReader *r, int rc)
{
    Lsn lsn;
    const uint8_t *bytes;
    uint32_t len, total;
    if (rc != 0 || wal_reader_ended_early(r))
        return;
    if (!wal_reader_pending(r, &lsn, &bytes, &len, &total))
    {
        ix->flags |= WAL_INDEX_CLEAN_END;
        return;
    }
    if (len > WAL_INDEX_TAIL_MAX)
        return;
    ix->flags |= WAL_INDEX_TAIL;
    ix->tail_lsn = lsn;
    ix->tail_total = total;
    ix->tail_len = len;
    ix->tail = xmalloc(len ? len : 1);
    memcpy(ix->tail, bytes, len);
}

int
wal_index_build(uint32_t tli, uint64_t segno, uint64_t seg_size, uint64_t sysid, const uint8_t *seg,
                const uint8_t *prev, uint32_t prev_tli, const WalIndex *prev_ix, const char *segment_sha256,
                WalIndex *ix, Error *err)
{
    memset(ix, 0, sizeof(*ix));
    ix->tli = tli;
    ix->segno = segno;
    ix->seg_size = seg_size;
    ix->sysid = sysid;
    snprintf(ix->segment_sha256, sizeof(ix->segment_sha256), "%s", segment_sha256 ? segment_sha256 : "");
    Lsn seg_start = segno * seg_size;
    WalReader *r = wal_reader_new(seg_size, sysid);
    BuildCtx ctx = {wal_index_builder_new(ix), seg_start, 0};
    Error e;
    /* The previous segment is read only for the record that continues
     * into this one; if it is bad, only that record is lost (HEAD_MISSING). */
    if (prev && segno > 0 && wal_reader_feed(r, prev_tli, segno - 1, prev, seg_size, NULL, NULL, &e) != 0)
    {
        wal_reader_free(r);
        r = wal_reader_new(seg_size, sysid);
    }
    else if (!prev && segno > 0 && wal_index_continues(prev_ix) && prev_ix->segno == segno - 1)
        wal_reader_resume(r, segno - 1, (prev_ix->flags & WAL_INDEX_TAIL) ? prev_ix->tail_lsn : 0, prev_ix->tail,
                          prev_ix->tail_len, prev_ix->tail_total);
    int rc = wal_reader_feed(r, tli, segno, seg, seg_size, on_record, &ctx, &e);
    if (rc != 0)
    {
        ix->flags |= WAL_INDEX_DECODE_ERROR;
        size_t n = strnlen(e.msg, sizeof(ix->error) - 1);
        memcpy(ix->error, e.msg, n);
        ix->error[n] = '\0';
    }
    ix->covered_from = seg_start;
    if (wal_reader_skipped_head(r))
    {
        Lsn first = wal_reader_first_record(r);
        ix->flags |= WAL_INDEX_HEAD_MISSING;
        ix->covered_from = first ? first : seg_start + seg_size;
    }
    if (!ix->sysid)
        ix->sysid = wal_reader_sysid(r);
    Lsn early = wal_reader_ended_early(r);
    if (wal_reader_switched(r))
        ix->flags |= WAL_INDEX_SWITCHED;
    else if (early && rc == 0)
        ix->flags |= WAL_INDEX_ENDED_EARLY;
    keep_tail(ix, r, rc);
    if (rc != 0 || wal_reader_switched(r))
        ix->valid_end = ctx.last_end ? ctx.last_end : ix->covered_from;
    else
        ix->valid_end = early ? early : seg_start + seg_size;
    wal_index_builder_finish(ctx.b);
    wal_reader_free(r);
    if (!ix->sysid)
        return error_set(err, "WAL segment of timeline %u, number %llu: not a PostgreSQL 15 segment (%s)", tli,
                         (unsigned long long) segno, ix->error);
    return 0;
}
