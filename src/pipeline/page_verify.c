#include "pipeline/page_verify.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/page_checksum.h"

typedef struct PageVerifyStage
{
    Stage base;
    int fd;
    uint32_t first_block;
    uint64_t start_lsn;
    PageErrors *errors;
    uint64_t offset;                 /* bytes seen so far */
    uint8_t partial[PG_BLCKSZ];      /* a page split across writes */
    size_t partial_len;
} PageVerifyStage;

static bool
page_ok(const uint8_t *page, uint32_t blkno, uint64_t start_lsn, uint16_t *expected)
{
    if (page_is_new(page))
    {
        *expected = 0;
        return page_is_all_zero(page);
    }
    if (page_lsn(page) >= start_lsn)
        return true;
    *expected = page_checksum_compute(page, blkno);
    return *expected == page_checksum_stored(page);
}

static void
check_page(PageVerifyStage *pv, const uint8_t *page, uint64_t file_offset)
{
    uint32_t blkno = pv->first_block + (uint32_t) (file_offset / PG_BLCKSZ);
    uint16_t expected = 0;
    pv->errors->pages_checked++;
    if (page_ok(page, blkno, pv->start_lsn, &expected))
        return;
    /* A page being written while we read it can look torn: read it again. */
    uint8_t again[PG_BLCKSZ];
    ssize_t n = pread(pv->fd, again, PG_BLCKSZ, (off_t) file_offset);
    if (n == PG_BLCKSZ && page_ok(again, blkno, pv->start_lsn, &expected))
        return;
    PageErrors *e = pv->errors;
    e->items = xrealloc(e->items, (e->count + 1) * sizeof(PageError));
    e->items[e->count].block = blkno;
    e->items[e->count].expected = expected;
    e->items[e->count].found = page_checksum_stored(n == PG_BLCKSZ ? again : page);
    e->count++;
}

static int
page_verify_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    PageVerifyStage *pv = (PageVerifyStage *) s;
    size_t pos = 0;
    if (pv->partial_len)
    {
        size_t take = PG_BLCKSZ - pv->partial_len;
        if (take > len)
            take = len;
        memcpy(pv->partial + pv->partial_len, data, take);
        pv->partial_len += take;
        pos = take;
        if (pv->partial_len == PG_BLCKSZ)
        {
            check_page(pv, pv->partial, pv->offset - (PG_BLCKSZ - take));
            pv->partial_len = 0;
        }
    }
    /* Whole pages straight from the caller's buffer. pv->offset tracks the
     * file offset of data[0] before this call. */
    while (len - pos >= PG_BLCKSZ)
    {
        if (((uintptr_t) (data + pos)) % 8 == 0)
            check_page(pv, data + pos, pv->offset + pos);
        else
        {
            uint8_t aligned[PG_BLCKSZ] __attribute__((aligned(8)));
            memcpy(aligned, data + pos, PG_BLCKSZ);
            check_page(pv, aligned, pv->offset + pos);
        }
        pos += PG_BLCKSZ;
    }
    if (pos < len)
    {
        memcpy(pv->partial, data + pos, len - pos);
        pv->partial_len = len - pos;
    }
    pv->offset += len;
    return stage_write(s->next, data, len, err);
}

static int
page_verify_finish(Stage *s, Error *err)
{
    /* A trailing partial page is a file being extended: nothing to check. */
    return stage_finish(s->next, err);
}

static void
page_verify_destroy(Stage *s)
{
    free(s);
}

static const StageOps page_verify_ops = {"page-verify", page_verify_write, page_verify_finish, page_verify_destroy};

Stage *
stage_page_verify_new(int fd, uint32_t first_block, uint64_t start_lsn, PageErrors *errors, Stage *next)
{
    return stage_page_verify_at(fd, first_block, 0, start_lsn, errors, next);
}

Stage *
stage_page_verify_at(int fd, uint32_t first_block, uint64_t file_offset, uint64_t start_lsn, PageErrors *errors,
                     Stage *next)
{
    PageVerifyStage *pv = xcalloc(1, sizeof(*pv));
    pv->offset = file_offset;
    pv->base.ops = &page_verify_ops;
    pv->base.next = next;
    pv->fd = fd;
    pv->first_block = first_block;
    pv->start_lsn = start_lsn;
    pv->errors = errors;
    return &pv->base;
}

void
page_errors_free(PageErrors *e)
{
    free(e->items);
    e->items = NULL;
    e->count = 0;
}

bool
page_verify_applies(const char *relpath, uint32_t *segno)
{
    const char *name = strrchr(relpath, '/');
    name = name ? name + 1 : relpath;
    if (!(str_starts_with(relpath, "base/") || str_starts_with(relpath, "global/") ||
          str_starts_with(relpath, "pg_tblspc/")))
        return false;
    const char *p = name;
    if (!isdigit((unsigned char) *p))
        return false;
    while (isdigit((unsigned char) *p))
        p++;
    if (!strncmp(p, "_fsm", 4) || !strncmp(p, "_vm", 3))
        p += (p[1] == 'f') ? 4 : 3;
    else if (!strncmp(p, "_init", 5))
        p += 5;
    *segno = 0;
    if (*p == '.')
    {
        p++;
        if (!isdigit((unsigned char) *p))
            return false;
        *segno = (uint32_t) strtoul(p, (char **) &p, 10);
    }
    return *p == '\0';
}
