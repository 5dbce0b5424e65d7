/* Synthetic PostgreSQL 15 WAL for the decoder's tests: records with valid
 * CRCs laid out in pages with (long, short, continuation) headers. */
#ifndef STRATA_WAL_GEN_H
#define STRATA_WAL_GEN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wal/reader.h"

#define GEN_SYSID UINT64_C(7311234567890123456)

typedef struct Gen
{
    uint8_t *buf;        /* nsegs * seg_size bytes, segment 0 is segno `first` */
    size_t size;
    size_t pos;
    uint64_t seg_size;
    uint64_t first;      /* segno of buf[0] */
    Lsn prev;            /* last record's LSN */
} Gen;

static inline void
gen_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static inline void
gen_page_header(Gen *g, uint32_t rem)
{
    uint8_t *h = g->buf + g->pos;
    int longhdr = (g->pos % g->seg_size) == 0;
    gen_put(h, 0xD110, 2);
    gen_put(h + 2, (rem ? 1 : 0) | (longhdr ? 2 : 0), 2);
    gen_put(h + 4, 1, 4);
    gen_put(h + 8, g->first * g->seg_size + g->pos, 8);
    gen_put(h + 16, rem, 4);
    if (longhdr)
    {
        gen_put(h + 24, GEN_SYSID, 8);
        gen_put(h + 32, g->seg_size, 4);
        gen_put(h + 36, WAL_PAGE_SIZE, 4);
    }
    g->pos += longhdr ? 40 : 24;
}

/* Lays out a record (its header's CRC and xl_prev are filled in here);
 * returns its LSN. */
static inline Lsn
gen_record(Gen *g, uint8_t *rec, uint32_t len)
{
    g->pos = (g->pos + 7) & ~(size_t) 7;
    if (g->pos % WAL_PAGE_SIZE == 0)
        gen_page_header(g, 0);
    Lsn lsn = g->first * g->seg_size + g->pos;
    gen_put(rec + 8, g->prev, 8);
    gen_put(rec + 20, wal_record_crc(rec, len), 4);
    g->prev = lsn;
    while (len)
    {
        size_t room = WAL_PAGE_SIZE - g->pos % WAL_PAGE_SIZE;
        size_t n = len < room ? len : room;
        memcpy(g->buf + g->pos, rec, n);
        g->pos += n;
        rec += n;
        len -= (uint32_t) n;
        if (len)
            gen_page_header(g, len);
    }
    return lsn;
}

/* A record: rmid, info, optional block 0 (rel 1663/5/relnode, blkno, 4
 * data bytes), main data of main_len bytes (filled with `fill`). */
static inline uint8_t *
gen_build(uint8_t rmid, uint8_t info, int with_block, uint32_t relnode, uint32_t blkno, const void *main,
          uint32_t main_len, uint32_t *len)
{
    uint32_t n = 24 + (with_block ? 4 + 12 + 4 + 4 : 0) + (main_len ? (main_len < 256 ? 2 : 5) : 0) + main_len;
    uint8_t *r = calloc(1, n);
    gen_put(r, n, 4);
    gen_put(r + 4, 777, 4);
    r[16] = info;
    r[17] = rmid;
    uint8_t *p = r + 24;
    if (with_block)
    {
        p[0] = 0;               /* block id 0 */
        p[1] = 0x20;            /* main fork, HAS_DATA */
        gen_put(p + 2, 4, 2);
        gen_put(p + 4, 1663, 4);
        gen_put(p + 8, 5, 4);
        gen_put(p + 12, relnode, 4);
        gen_put(p + 16, blkno, 4);
        p += 20;
    }
    if (main_len)
    {
        if (main_len < 256)
        {
            p[0] = 255;
            p[1] = (uint8_t) main_len;
            p += 2;
        }
        else
        {
            p[0] = 254;
            gen_put(p + 1, main_len, 4);
            p += 5;
        }
    }
    if (with_block)
    {
        memcpy(p, "data", 4);
        p += 4;
    }
    if (main_len)
        memcpy(p, main, main_len);
    *len = n;
    return r;
}

static inline Gen
gen_new(uint64_t seg_size, int nsegs, uint64_t first)
{
    Gen g = {calloc((size_t) nsegs, seg_size), (size_t) nsegs * seg_size, 0, seg_size, first, 0};
    return g;
}

#endif
