/* PostgreSQL ships its page checksum algorithm as checksum_impl.h "for the
 * benefit of external programs that wish to check Postgres page checksums";
 * we compile it here rather than retyping it. This file alone sees the
 * server headers, so their macros stay out of the rest of strata. */
#include "postgres_fe.h"
#include "storage/bufpage.h"
#include "storage/checksum.h"
#include "storage/checksum_impl.h"

#include "pg/page_checksum.h"

_Static_assert(BLCKSZ == PG_BLCKSZ, "strata assumes 8 kB PostgreSQL pages");

/* Every page read is checksummed, so this is on the backup's hot path. Its
 * 32 lanes of 32-bit multiplies vectorize poorly with the x86-64 baseline
 * (SSE2 has no 32-bit vector multiply), so an AVX2 clone is built too and
 * chosen at run time; flatten inlines PostgreSQL's code into each clone. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CHECKSUM_CLONES __attribute__((flatten, target_clones("avx2", "default")))
#else
#define CHECKSUM_CLONES
#endif

CHECKSUM_CLONES uint16_t
page_checksum_compute(const uint8_t *page, uint32_t blkno)
{
    /* pg_checksum_page zeroes pd_checksum while it works: use a copy. */
    PGAlignedBlock copy;
    memcpy(copy.data, page, BLCKSZ);
    return pg_checksum_page(copy.data, blkno);
}

uint16_t
page_checksum_stored(const uint8_t *page)
{
    return ((const PageHeaderData *) page)->pd_checksum;
}

uint64_t
page_lsn(const uint8_t *page)
{
    const PageHeaderData *h = (const PageHeaderData *) page;
    return ((uint64_t) h->pd_lsn.xlogid << 32) | h->pd_lsn.xrecoff;
}

bool
page_is_all_zero(const uint8_t *page)
{
    const uint64_t *w = (const uint64_t *) page;
    for (size_t i = 0; i < BLCKSZ / sizeof(uint64_t); i++)
        if (w[i] != 0)
            return false;
    return true;
}

bool
page_is_new(const uint8_t *page)
{
    return ((const PageHeaderData *) page)->pd_upper == 0;
}
