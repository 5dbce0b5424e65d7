#include "restore/exact_window.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

#define L(x) (unsigned) ((x) >> 32), (unsigned) (x)

static int
decision_cmp(const void *a, const void *b)
{
    return strcmp(((const ExactDecision *) a)->gtxid, ((const ExactDecision *) b)->gtxid);
}

void
exact_decisions_sort(ExactDecided *d)
{
    if (d->n > 1)
        qsort(d->items, d->n, sizeof(*d->items), decision_cmp);
}

const ExactDecision *
exact_decided_find(const ExactDecided *d, const char *gtxid)
{
    if (!d->n || !gtxid || !gtxid[0])
        return NULL;
    ExactDecision key = {.gtxid = gtxid};
    return bsearch(&key, d->items, d->n, sizeof(*d->items), decision_cmp);
}

const char *
exact_cut_how_name(ExactCutHow h)
{
    switch (h)
    {
    case EXACT_AT_TIME: return "time";
    case EXACT_AT_LOW_EDGE: return "window-low-edge";
    case EXACT_AT_HIGH_EDGE: return "window-high-edge";
    }
    return "?";
}

static const char *
kind_name(uint8_t k)
{
    switch (k)
    {
    case WAL_XACT_COMMIT: return "COMMIT";
    case WAL_XACT_ABORT: return "ABORT";
    case WAL_XACT_PREPARE: return "PREPARE";
    case WAL_XACT_COMMIT_PREPARED: return "COMMIT PREPARED";
    case WAL_XACT_ABORT_PREPARED: return "ABORT PREPARED";
    }
    return "record";
}

void
exact_record_text(const WalXact *x, char *out, size_t len)
{
    time_t secs = (time_t) (x->time_us / 1000000);
    struct tm tm;
    char when[40] = "?";
    if (gmtime_r(&secs, &tm))
    {
        size_t k = strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(when + k, sizeof(when) - k, ".%06d+00", (int) (x->time_us % 1000000));
    }
    snprintf(out, len, "%s%s%.*s%s (xid %" PRIu32 ") at %X/%X, stamped %s by the shard's clock", kind_name(x->kind),
             x->gid[0] ? " of '" : "", (int) strnlen(x->gid, sizeof(x->gid)), x->gid, x->gid[0] ? "'" : "", x->xid,
             L(x->lsn), when);
}

/* The PREPAREs of the records, by (xid, position): COMMIT/ABORT PREPARED
 * without a GID (wal_level replica) are named from the latest PREPARE of
 * their xid before them. */
typedef struct PrepRef
{
    uint32_t xid;
    size_t at;
} PrepRef;

static int
prepref_cmp(const void *a, const void *b)
{
    const PrepRef *x = a, *y = b;
    if (x->xid != y->xid)
        return x->xid < y->xid ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static const WalXact *
prepare_of(const ExactWindowInput *in, const PrepRef *refs, size_t nrefs, size_t at)
{
    uint32_t xid = in->xacts[at].xid;
    size_t lo = 0, hi = nrefs;
    while (lo < hi)   /* first ref with (xid, position) >= (xid, at) */
    {
        size_t mid = lo + (hi - lo) / 2;
        if (refs[mid].xid < xid || (refs[mid].xid == xid && refs[mid].at < at))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || refs[lo - 1].xid != xid)
        return NULL;
    return &in->xacts[refs[lo - 1].at];
}

static void
skew_sample(ExactCut *out, const WalXact *prep, const WalXact *commit, const ExactDecision *d)
{
    if (!prep || !d || !d->decided_us)
        return;
    double lo = (double) (prep->time_us - d->decided_us) / 1e6, hi = (double) (commit->time_us - d->decided_us) / 1e6;
    if (out->skew_samples++ == 0)
    {
        out->skew_lo_s = lo;
        out->skew_hi_s = hi;
        return;
    }
    if (lo > out->skew_lo_s)
        out->skew_lo_s = lo;
    if (hi < out->skew_hi_s)
        out->skew_hi_s = hi;
}

/* The bounding record, named by its GID even where its record has none. */
static void
set_high_edge(ExactCut *out, const WalXact *x, const char *gid)
{
    out->hi = (ExactEdge){x->lsn, *x};
    snprintf(out->hi.rec.gid, sizeof(out->hi.rec.gid), "%s", gid);
}

static int
empty_window(const ExactWindowInput *in, const ExactCut *c, Error *err)
{
    char a[400], b[400];
    if (c->lo.rec.kind)
        exact_record_text(&c->lo.rec, a, sizeof(a));
    else
        snprintf(a, sizeof(a), "the end of the backup's consistency point at %X/%X", L(c->lo.lsn));
    if (c->hi.rec.kind)
        exact_record_text(&c->hi.rec, b, sizeof(b));
    else
        snprintf(b, sizeof(b), "the end of the indexed WAL at %X/%X", L(c->hi.lsn));
    return error_set(err, "shard %s: no LSN is consistent with the decided set: it must stop after [%s] and before [%s], "
                          "which comes first in its WAL (a coordinator broke the 2PC contract: it committed or aborted "
                          "a prepared transaction against its decision)",
                     in->shard, a, b);
}

int
exact_window_cut(const ExactWindowInput *in, ExactCut *out, uint32_t *unknown_xid, Error *err)
{
    memset(out, 0, sizeof(*out));
    if (unknown_xid)
        *unknown_xid = 0;
    if (in->floor > in->ceiling)
        return error_set(err, "shard %s: the backup's end %X/%X is past the end of the indexed WAL %X/%X", in->shard,
                         L(in->floor), L(in->ceiling));
    out->lo.lsn = in->floor;
    out->hi.lsn = in->ceiling;
    PrepRef *refs = xcalloc(in->nxacts ? in->nxacts : 1, sizeof(PrepRef));
    size_t nrefs = 0;
    for (size_t i = 0; i < in->nxacts; i++)
        if (in->xacts[i].kind == WAL_XACT_PREPARE)
            refs[nrefs++] = (PrepRef){in->xacts[i].xid, i};
    qsort(refs, nrefs, sizeof(PrepRef), prepref_cmp);
    int rc = 0;
    for (size_t i = 0; i < in->nxacts && rc == 0; i++)
    {
        const WalXact *x = &in->xacts[i];
        bool below_ceiling = x->lsn < in->ceiling;
        const WalXact *prep = x->kind == WAL_XACT_PREPARE ? x : prepare_of(in, refs, nrefs, i);
        const char *gid = x->gid[0] ? x->gid : prep ? prep->gid : NULL;
        const ExactDecision *d = gid ? exact_decided_find(in->decided, gid) : NULL;
        if ((x->kind == WAL_XACT_COMMIT || x->kind == WAL_XACT_COMMIT_PREPARED) && !out->crossing && below_ceiling &&
            x->time_us > in->target_us)
            out->crossing = x->lsn;
        switch (x->kind)
        {
        case WAL_XACT_PREPARE:
            if (d && x->end > out->lo.lsn)
                out->lo = (ExactEdge){x->end, *x};
            break;
        case WAL_XACT_COMMIT_PREPARED:
            if (!gid && below_ceiling && x->lsn >= in->floor)
            {
                if (unknown_xid)
                    *unknown_xid = x->xid;
                rc = error_set(err, "shard %s: COMMIT PREPARED of xid %" PRIu32 " at %X/%X: its PREPARE is before the "
                                    "WAL read, so its global transaction is unknown",
                               in->shard, x->xid, L(x->lsn));
            }
            else if (d)
                skew_sample(out, prep, x, d);
            else if (gid && x->lsn < out->hi.lsn)
                set_high_edge(out, x, gid);
            break;
        case WAL_XACT_ABORT_PREPARED:
            if (d && x->lsn < out->hi.lsn)
                set_high_edge(out, x, gid);
            break;
        default:
            break;
        }
    }
    free(refs);
    if (rc != 0)
        return -1;
    if (out->lo.lsn > out->hi.lsn)
        return empty_window(in, out, err);
    if (!out->crossing || out->crossing > out->hi.lsn)
    {
        out->lsn = out->hi.lsn;
        out->how = EXACT_AT_HIGH_EDGE;
    }
    else if (out->crossing < out->lo.lsn)
    {
        out->lsn = out->lo.lsn;
        out->how = EXACT_AT_LOW_EDGE;
    }
    else
    {
        out->lsn = out->crossing;
        out->how = EXACT_AT_TIME;
    }
    out->skew_s = out->skew_samples ? (out->skew_lo_s + out->skew_hi_s) / 2 : 0;
    return 0;
}
