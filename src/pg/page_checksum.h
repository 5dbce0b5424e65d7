/* PostgreSQL data page checksums. */
#ifndef STRATA_PAGE_CHECKSUM_H
#define STRATA_PAGE_CHECKSUM_H

#include <stdbool.h>
#include <stdint.h>

#define PG_BLCKSZ 8192
#define PG_RELSEG_BLOCKS 131072   /* blocks in one 1 GiB relation segment */

/* The checksum PostgreSQL computes for `page` as block `blkno` of its relation. */
uint16_t page_checksum_compute(const uint8_t *page, uint32_t blkno);
uint16_t page_checksum_stored(const uint8_t *page);
uint64_t page_lsn(const uint8_t *page);
/* A page never written (pd_upper == 0): valid only if entirely zero. */
bool page_is_new(const uint8_t *page);
bool page_is_all_zero(const uint8_t *page);

#endif
