/* Pass-through stage that checks PostgreSQL page checksums as a relation
 * file streams by. Pages newer than the backup's start LSN are skipped:
 * they may be torn by concurrent writes and WAL replay rewrites them. A
 * page that fails is re-read once from the file (a torn read of a page
 * being written) before it is reported. */
#ifndef STRATA_PAGE_VERIFY_H
#define STRATA_PAGE_VERIFY_H

#include "pipeline/stage.h"

typedef struct PageError
{
    uint32_t block;          /* block number within the relation */
    uint16_t expected;       /* checksum computed */
    uint16_t found;          /* checksum stored in the page */
} PageError;

typedef struct PageErrors
{
    PageError *items;
    size_t count;
    uint64_t pages_checked;
} PageErrors;

/* `fd` is the open file (for the re-read); `first_block` is the block number
 * of the file's first page (segment number * blocks per segment). */
Stage *stage_page_verify_new(int fd, uint32_t first_block, uint64_t start_lsn, PageErrors *errors, Stage *next);
/* The same for bytes that start at `file_offset` of the file (a range of
 * it, pool/manifest_ranges.c): a multiple of the page size. */
Stage *stage_page_verify_at(int fd, uint32_t first_block, uint64_t file_offset, uint64_t start_lsn, PageErrors *errors,
                            Stage *next);
void page_errors_free(PageErrors *e);

/* True for files that hold checksummed relation pages:
 * base/<db>/<rel>[_fsm|_vm][.N], global/<rel>..., pg_tblspc/... ; sets the
 * segment number from the .N suffix. */
bool page_verify_applies(const char *relpath, uint32_t *segno);

#endif
