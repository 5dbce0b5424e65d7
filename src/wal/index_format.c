/* The stored form of a segment's index (docs/pool-format.md, "WAL index"):
 *
 *   "STRATAWX"  u32 format  u64 body length  u64 stored length
 *   stored body (a zstd frame, with its content checksum)
 *   SHA-256 (32 bytes) of everything before it
 *
 * The body is little-endian fields in a fixed order; every count is
 * checked against the bytes that remain before anything is allocated. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/util.h"
#include "wal/index.h"

#define MAGIC "STRATAWX"
#define HEADER_LEN (8 + 4 + 8 + 8)
#define BODY_MAX ((uint64_t) 256 << 20)

static void put8(Buffer *b, uint8_t v) { buffer_append(b, &v, 1); }
static void put32(Buffer *b, uint32_t v) { uint8_t x[4] = {v, v >> 8, v >> 16, v >> 24}; buffer_append(b, x, 4); }
static void put64(Buffer *b, uint64_t v) { put32(b, (uint32_t) v); put32(b, (uint32_t) (v >> 32)); }
static void putrel(Buffer *b, const WalRelFile *r) { put32(b, r->spc); put32(b, r->db); put32(b, r->rel); }

static void
putstr(Buffer *b, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    put32(b, (uint32_t) n);
    buffer_append(b, s, n);
}

static void
serialize_body(const WalIndex *ix, Buffer *b)
{
    put32(b, ix->tli);
    put64(b, ix->segno);
    put64(b, ix->seg_size);
    put64(b, ix->sysid);
    putstr(b, ix->segment_sha256, 64);
    put64(b, ix->covered_from);
    put64(b, ix->valid_end);
    put32(b, ix->flags);
    put64(b, ix->nrecords);
    putstr(b, ix->error, sizeof(ix->error) - 1);
    put32(b, (uint32_t) ix->nforks);
    for (size_t i = 0; i < ix->nforks; i++)
    {
        const WalForkBlocks *f = &ix->forks[i];
        putrel(b, &f->rel);
        put8(b, f->fork);
        put32(b, (uint32_t) f->nranges);
        for (size_t j = 0; j < f->nranges; j++)
        {
            put32(b, f->ranges[j].start);
            put32(b, f->ranges[j].count);
        }
    }
    put32(b, (uint32_t) ix->ntruncations);
    for (size_t i = 0; i < ix->ntruncations; i++)
    {
        const WalTruncation *t = &ix->truncations[i];
        put64(b, t->lsn);
        putrel(b, &t->rel);
        put32(b, t->blkno);
        put32(b, t->flags);
    }
    put32(b, (uint32_t) ix->nrels);
    for (size_t i = 0; i < ix->nrels; i++)
    {
        const WalRelEvent *e = &ix->rels[i];
        put64(b, e->lsn);
        put8(b, e->kind);
        put8(b, e->fork);
        putrel(b, &e->rel);
        put32(b, e->xid);
    }
    put32(b, (uint32_t) ix->ndbs);
    for (size_t i = 0; i < ix->ndbs; i++)
    {
        const WalDbEvent *e = &ix->dbs[i];
        put64(b, e->lsn);
        put8(b, e->kind);
        put32(b, e->db);
        put32(b, e->spc);
        put32(b, e->src_db);
        put32(b, e->src_spc);
    }
    put32(b, (uint32_t) ix->nxacts);
    for (size_t i = 0; i < ix->nxacts; i++)
    {
        const WalXact *x = &ix->xacts[i];
        put64(b, x->lsn);
        put64(b, x->end);
        put8(b, x->kind);
        put32(b, x->xid);
        put64(b, (uint64_t) x->time_us);
        putstr(b, x->gid, sizeof(x->gid) - 1);
    }
    put32(b, (uint32_t) ix->nrpoints);
    for (size_t i = 0; i < ix->nrpoints; i++)
    {
        const WalRestorePoint *r = &ix->rpoints[i];
        put64(b, r->lsn);
        put64(b, r->end);
        put64(b, (uint64_t) r->time_us);
        putstr(b, r->name, sizeof(r->name) - 1);
    }
    put32(b, (uint32_t) ix->nservers);
    for (size_t i = 0; i < ix->nservers; i++)
    {
        const WalServerEvent *e = &ix->servers[i];
        put64(b, e->lsn);
        put8(b, e->kind);
        put32(b, (uint32_t) e->wal_level);
        put32(b, e->tli);
        put32(b, e->prev_tli);
        put64(b, (uint64_t) e->time_us);
    }
    put32(b, (uint32_t) ix->nunknown);
    for (size_t i = 0; i < ix->nunknown; i++)
    {
        put64(b, ix->unknown[i].lsn);
        put8(b, ix->unknown[i].rmid);
        put8(b, ix->unknown[i].info);
    }
    put64(b, ix->tail_lsn);
    put32(b, ix->tail_total);
    put32(b, ix->tail_len);
    if (ix->tail_len)
        buffer_append(b, ix->tail, ix->tail_len);
}

void
wal_index_serialize(const WalIndex *ix, Buffer *out)
{
    Buffer body = {0};
    serialize_body(ix, &body);
    size_t cap = ZSTD_compressBound(body.len);
    uint8_t *z = xmalloc(cap);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    if (!cc)
        abort();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    size_t zlen = ZSTD_compress2(cc, z, cap, body.data, body.len);
    ZSTD_freeCCtx(cc);
    if (ZSTD_isError(zlen))
        abort();   /* cannot fail with a bound-sized output */
    buffer_append(out, MAGIC, 8);
    put32(out, WAL_INDEX_FORMAT);
    put64(out, body.len);
    put64(out, zlen);
    buffer_append(out, z, zlen);
    unsigned char md[32];
    unsigned int mdlen;
    EVP_Digest(out->data, out->len, md, &mdlen, EVP_sha256(), NULL);
    buffer_append(out, md, 32);
    free(z);
    buffer_free(&body);
}

/* ---- parsing ---- */

typedef struct Reader
{
    const uint8_t *p;
    size_t left;
    bool bad;
} Reader;

static uint64_t
get(Reader *r, int n)
{
    if (r->bad || r->left < (size_t) n)
    {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += n;
    r->left -= n;
    return v;
}
#define get8(r) ((uint8_t) get(r, 1))
#define get32(r) ((uint32_t) get(r, 4))
#define get64(r) get(r, 8)

static void
getrel(Reader *r, WalRelFile *rel)
{
    rel->spc = get32(r);
    rel->db = get32(r);
    rel->rel = get32(r);
}

static void
getstr(Reader *r, char *dst, size_t cap)
{
    uint32_t n = get32(r);
    if (r->bad || n >= cap || n > r->left)
    {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
    r->left -= n;
}

/* A count of entries at least `min` bytes each: allocates only what fits. */
static void *
get_array(Reader *r, size_t *count, size_t min, size_t size)
{
    uint32_t n = get32(r);
    if (r->bad || (uint64_t) n * min > r->left)
    {
        r->bad = true;
        *count = 0;
        return NULL;
    }
    *count = n;
    return n ? xcalloc(n, size) : NULL;
}

static void
parse_forks(Reader *r, WalIndex *ix)
{
    ix->forks = get_array(r, &ix->nforks, 17, sizeof(WalForkBlocks));
    for (size_t i = 0; i < ix->nforks && !r->bad; i++)
    {
        WalForkBlocks *f = &ix->forks[i];
        getrel(r, &f->rel);
        f->fork = get8(r);
        f->ranges = get_array(r, &f->nranges, 8, sizeof(WalBlockRange));
        for (size_t j = 0; j < f->nranges && !r->bad; j++)
        {
            f->ranges[j].start = get32(r);
            f->ranges[j].count = get32(r);
        }
    }
}

static void
parse_events(Reader *r, WalIndex *ix)
{
    ix->truncations = get_array(r, &ix->ntruncations, 28, sizeof(WalTruncation));
    for (size_t i = 0; i < ix->ntruncations && !r->bad; i++)
    {
        WalTruncation *t = &ix->truncations[i];
        t->lsn = get64(r);
        getrel(r, &t->rel);
        t->blkno = get32(r);
        t->flags = get32(r);
    }
    ix->rels = get_array(r, &ix->nrels, 26, sizeof(WalRelEvent));
    for (size_t i = 0; i < ix->nrels && !r->bad; i++)
    {
        WalRelEvent *e = &ix->rels[i];
        e->lsn = get64(r);
        e->kind = get8(r);
        e->fork = get8(r);
        getrel(r, &e->rel);
        e->xid = get32(r);
    }
    ix->dbs = get_array(r, &ix->ndbs, 25, sizeof(WalDbEvent));
    for (size_t i = 0; i < ix->ndbs && !r->bad; i++)
    {
        WalDbEvent *e = &ix->dbs[i];
        e->lsn = get64(r);
        e->kind = get8(r);
        e->db = get32(r);
        e->spc = get32(r);
        e->src_db = get32(r);
        e->src_spc = get32(r);
    }
    ix->xacts = get_array(r, &ix->nxacts, 33, sizeof(WalXact));
    for (size_t i = 0; i < ix->nxacts && !r->bad; i++)
    {
        WalXact *x = &ix->xacts[i];
        x->lsn = get64(r);
        x->end = get64(r);
        x->kind = get8(r);
        x->xid = get32(r);
        x->time_us = (int64_t) get64(r);
        getstr(r, x->gid, sizeof(x->gid));
    }
    ix->rpoints = get_array(r, &ix->nrpoints, 28, sizeof(WalRestorePoint));
    for (size_t i = 0; i < ix->nrpoints && !r->bad; i++)
    {
        WalRestorePoint *p = &ix->rpoints[i];
        p->lsn = get64(r);
        p->end = get64(r);
        p->time_us = (int64_t) get64(r);
        getstr(r, p->name, sizeof(p->name));
    }
    ix->servers = get_array(r, &ix->nservers, 29, sizeof(WalServerEvent));
    for (size_t i = 0; i < ix->nservers && !r->bad; i++)
    {
        WalServerEvent *e = &ix->servers[i];
        e->lsn = get64(r);
        e->kind = get8(r);
        e->wal_level = (int32_t) get32(r);
        e->tli = get32(r);
        e->prev_tli = get32(r);
        e->time_us = (int64_t) get64(r);
    }
    ix->unknown = get_array(r, &ix->nunknown, 10, sizeof(WalUnknownRecord));
    for (size_t i = 0; i < ix->nunknown && !r->bad; i++)
    {
        ix->unknown[i].lsn = get64(r);
        ix->unknown[i].rmid = get8(r);
        ix->unknown[i].info = get8(r);
    }
    ix->tail_lsn = get64(r);
    ix->tail_total = get32(r);
    ix->tail_len = get32(r);
    bool want_tail = (ix->flags & WAL_INDEX_TAIL) != 0;
    if (r->bad || ix->tail_len > r->left || ix->tail_len > WAL_INDEX_TAIL_MAX || want_tail != (ix->tail_lsn != 0) ||
        (want_tail && ix->tail_len >= ix->tail_total) || (!want_tail && ix->tail_len))
    {
        r->bad = true;
        return;
    }
    if (ix->tail_len)
    {
        ix->tail = xmalloc(ix->tail_len);
        memcpy(ix->tail, r->p, ix->tail_len);
        r->p += ix->tail_len;
        r->left -= ix->tail_len;
    }
}

static int
parse_body(const uint8_t *body, size_t len, const char *what, WalIndex *ix, Error *err)
{
    Reader r = {body, len, false};
    ix->tli = get32(&r);
    ix->segno = get64(&r);
    ix->seg_size = get64(&r);
    ix->sysid = get64(&r);
    getstr(&r, ix->segment_sha256, sizeof(ix->segment_sha256));
    ix->covered_from = get64(&r);
    ix->valid_end = get64(&r);
    ix->flags = get32(&r);
    ix->nrecords = get64(&r);
    getstr(&r, ix->error, sizeof(ix->error));
    parse_forks(&r, ix);
    parse_events(&r, ix);
    if (r.bad || r.left != 0)
    {
        wal_index_free(ix);
        return error_set(err, "WAL index %s is malformed: its body %s", what,
                         r.bad ? "is cut off or has an impossible count" : "has bytes after its last section");
    }
    return 0;
}

int
wal_index_parse(const uint8_t *data, size_t len, const char *what, WalIndex *ix, Error *err)
{
    memset(ix, 0, sizeof(*ix));
    if (len < HEADER_LEN + 32 || memcmp(data, MAGIC, 8) != 0)
        return error_set(err, "WAL index %s is not a strata WAL index (%zu bytes, no STRATAWX header)", what, len);
    unsigned char md[32];
    unsigned int mdlen;
    EVP_Digest(data, len - 32, md, &mdlen, EVP_sha256(), NULL);
    if (memcmp(md, data + len - 32, 32) != 0)
        return error_set(err, "WAL index %s is corrupt: its SHA-256 does not match", what);
    Reader h = {data + 8, HEADER_LEN - 8, false};
    uint32_t format = get32(&h);
    uint64_t body_len = get64(&h), stored = get64(&h);
    if (format != WAL_INDEX_FORMAT)
        return error_set(err, "WAL index %s has format %u, this strata reads format %d", what, format,
                         WAL_INDEX_FORMAT);
    if (stored != len - HEADER_LEN - 32 || body_len > BODY_MAX)
        return error_set(err, "WAL index %s is malformed: lengths %llu/%llu in %zu bytes", what,
                         (unsigned long long) body_len, (unsigned long long) stored, len);
    uint8_t *body = xmalloc(body_len ? body_len : 1);
    size_t got = ZSTD_decompress(body, body_len, data + HEADER_LEN, stored);
    int rc;
    if (ZSTD_isError(got) || got != body_len)
        rc = error_set(err, "WAL index %s is corrupt: its body does not decompress to %llu bytes (%s)", what,
                       (unsigned long long) body_len, ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong length");
    else
        rc = parse_body(body, body_len, what, ix, err);
    free(body);
    return rc;
}
