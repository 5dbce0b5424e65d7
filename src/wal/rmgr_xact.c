/* Transaction records (PostgreSQL 15 xact.h; the order of the optional
 * parts is ParseCommitRecord's, ParseAbortRecord's and
 * ParsePrepareRecord's in xactdesc.c): the decision, its time, the 2PC
 * xid and GID, and the relations the transaction drops. */
#include "postgres_fe.h"
#include "access/xact.h"
#include "access/xlogrecord.h"
#include "storage/sinval.h"

#include "wal/index_internal.h"

#define LSNARGS(l) (unsigned) ((l) >> 32), (unsigned) (l)

typedef struct Cursor
{
    const uint8_t *p;
    uint32_t left;
    const WalRecord *rec;
    const char *kind;
} Cursor;

static int
cut(const Cursor *c, const char *part, Error *err)
{
    return error_set(err, "%s record at %X/%X: %s is cut off", c->kind, LSNARGS(c->rec->lsn), part);
}

static int
take(Cursor *c, void *dst, uint32_t n, const char *part, Error *err)
{
    if (c->left < n)
        return cut(c, part, err);
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return 0;
}

/* A counted array of `size`-byte items: *items points into the record. */
static int
take_array(Cursor *c, uint32_t size, int32_t *count, const uint8_t **items, const char *part, Error *err)
{
    if (take(c, count, 4, part, err) != 0)
        return -1;
    if (*count < 0 || (uint64_t) *count * size > c->left)
        return error_set(err, "%s record at %X/%X: %s says %d entries, %u bytes remain", c->kind,
                         LSNARGS(c->rec->lsn), part, *count, c->left);
    *items = c->p;
    c->p += (size_t) *count * size;
    c->left -= (uint32_t) *count * size;
    return 0;
}

static void
add_drops(WalIndexBuilder *b, const WalRecord *rec, uint32_t xid, const uint8_t *nodes, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
    {
        RelFileNode rn;
        memcpy(&rn, nodes + (size_t) i * sizeof(rn), sizeof(rn));
        *wal_builder_rel(b) = (WalRelEvent){.lsn = rec->lsn, .kind = WAL_REL_DROP, .fork = 0xFF,
                                            .rel = {rn.spcNode, rn.dbNode, rn.relNode}, .xid = xid};
    }
}

/* Commit and abort share their layout but for the invalidations. */
static int
commit_or_abort(WalIndexBuilder *b, const WalRecord *rec, uint8_t op, Error *err)
{
    bool commit = op == XLOG_XACT_COMMIT || op == XLOG_XACT_COMMIT_PREPARED;
    Cursor c = {rec->main_data, rec->main_len, rec, commit ? "commit" : "abort"};
    WalXact x = {.lsn = rec->lsn, .end = rec->end, .xid = rec->xid};
    int64_t t;
    uint32_t xinfo = 0;
    if (take(&c, &t, 8, "time", err) != 0)
        return -1;
    x.time_us = wal_pg_time_to_unix_us(t);
    if ((rec->info & XLOG_XACT_HAS_INFO) && take(&c, &xinfo, 4, "xinfo", err) != 0)
        return -1;
    int32_t n;
    const uint8_t *items, *rels = NULL;
    int32_t nrels = 0;
    if (xinfo & XACT_XINFO_HAS_DBINFO)
    {
        xl_xact_dbinfo db;
        if (take(&c, &db, sizeof(db), "database info", err) != 0)
            return -1;
    }
    if ((xinfo & XACT_XINFO_HAS_SUBXACTS) && take_array(&c, sizeof(TransactionId), &n, &items, "subxacts", err) != 0)
        return -1;
    if ((xinfo & XACT_XINFO_HAS_RELFILENODES) &&
        take_array(&c, sizeof(RelFileNode), &nrels, &rels, "dropped relations", err) != 0)
        return -1;
    if ((xinfo & XACT_XINFO_HAS_DROPPED_STATS) &&
        take_array(&c, sizeof(xl_xact_stats_item), &n, &items, "dropped stats", err) != 0)
        return -1;
    if (commit && (xinfo & XACT_XINFO_HAS_INVALS) &&
        take_array(&c, sizeof(SharedInvalidationMessage), &n, &items, "invalidations", err) != 0)
        return -1;
    if (xinfo & XACT_XINFO_HAS_TWOPHASE)
    {
        if (take(&c, &x.xid, sizeof(TransactionId), "two-phase xid", err) != 0)
            return -1;
        if (xinfo & XACT_XINFO_HAS_GID)
        {
            size_t len = strnlen((const char *) c.p, c.left);
            if (len == c.left || len >= sizeof(x.gid))
                return error_set(err, "%s record at %X/%X: the GID is not a string of under %zu bytes", c.kind,
                                 LSNARGS(rec->lsn), sizeof(x.gid));
            memcpy(x.gid, c.p, len + 1);
            c.p += len + 1;
            c.left -= (uint32_t) len + 1;
        }
    }
    if (op == XLOG_XACT_COMMIT_PREPARED || op == XLOG_XACT_ABORT_PREPARED)
    {
        if (!(xinfo & XACT_XINFO_HAS_TWOPHASE))
            return error_set(err, "%s prepared record at %X/%X has no two-phase xid", c.kind, LSNARGS(rec->lsn));
        x.kind = commit ? WAL_XACT_COMMIT_PREPARED : WAL_XACT_ABORT_PREPARED;
    }
    else
        x.kind = commit ? WAL_XACT_COMMIT : WAL_XACT_ABORT;
    /* The origin (XACT_XINFO_HAS_ORIGIN) follows; strata has no use for it. */
    add_drops(b, rec, x.xid, rels, nrels);
    *wal_builder_xact(b) = x;
    return 0;
}

/* The two-phase state file as written into the PREPARE record. */
static int
prepare(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    xl_xact_prepare h;
    Cursor c = {rec->main_data, rec->main_len, rec, "prepare"};
    if (take(&c, &h, sizeof(h), "header", err) != 0)
        return -1;
    uint32_t pad = MAXALIGN(sizeof(h)) - sizeof(h);
    if (c.left < pad)
        return cut(&c, "header padding", err);
    c.p += pad;
    c.left -= pad;
    WalXact x = {.lsn = rec->lsn, .end = rec->end, .kind = WAL_XACT_PREPARE, .xid = h.xid,
                 .time_us = wal_pg_time_to_unix_us(h.prepared_at)};
    if (h.gidlen == 0 || h.gidlen > sizeof(x.gid) || MAXALIGN(h.gidlen) > c.left ||
        strnlen((const char *) c.p, h.gidlen) != (size_t) h.gidlen - 1u)
        return error_set(err, "prepare record at %X/%X: GID of %u bytes is malformed or cut off", LSNARGS(rec->lsn),
                         h.gidlen);
    memcpy(x.gid, c.p, h.gidlen);
    c.p += MAXALIGN(h.gidlen);
    c.left -= MAXALIGN(h.gidlen);
    if (h.nsubxacts < 0 || h.ncommitrels < 0 || h.nabortrels < 0)
        return error_set(err, "prepare record at %X/%X: negative counts", LSNARGS(rec->lsn));
    uint64_t sub = MAXALIGN((uint64_t) h.nsubxacts * sizeof(TransactionId));
    uint64_t crels = MAXALIGN((uint64_t) h.ncommitrels * sizeof(RelFileNode));
    uint64_t arels = (uint64_t) h.nabortrels * sizeof(RelFileNode);
    if (sub + crels + arels > c.left)
        return error_set(err, "prepare record at %X/%X: %d subxacts, %d+%d relations do not fit in %u bytes",
                         LSNARGS(rec->lsn), h.nsubxacts, h.ncommitrels, h.nabortrels, c.left);
    /* Relations a prepared transaction drops go when it is committed or
     * rolled back: the COMMIT/ABORT PREPARED record lists them again, and
     * that is when the files go, so nothing is recorded here. */
    *wal_builder_xact(b) = x;
    return 0;
}

int
wal_rmgr_xact(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    uint8_t op = rec->info & XLOG_XACT_OPMASK;
    switch (op)
    {
        case XLOG_XACT_COMMIT:
        case XLOG_XACT_ABORT:
        case XLOG_XACT_COMMIT_PREPARED:
        case XLOG_XACT_ABORT_PREPARED:
            return commit_or_abort(b, rec, op, err);
        case XLOG_XACT_PREPARE:
            return prepare(b, rec, err);
        default:
            return 0;   /* assignment, invalidations: no file changes */
    }
}
