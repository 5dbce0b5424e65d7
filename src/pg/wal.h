/* LSNs, timelines and WAL file names. */
#ifndef STRATA_WAL_H
#define STRATA_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef uint64_t Lsn;
#define WAL_NAME_LEN 24    /* TTTTTTTTLLLLLLLLSSSSSSSS */

int lsn_parse(const char *text, Lsn *out, Error *err);     /* "16/B374D848" */
void lsn_format(Lsn lsn, char out[32]);

/* Segment number that holds `lsn`; segment file name for (timeline, segno). */
static inline uint64_t wal_segno(Lsn lsn, uint64_t seg_size) { return lsn / seg_size; }
/* A WAL segment size PostgreSQL can have: a power of two, 1 MB to 1 GB. */
bool wal_segment_size_valid(uint64_t seg_size);
void wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[WAL_NAME_LEN + 1]);
/* Parses a 24-hex-digit segment name; false if it is not one. */
bool wal_parse_segment_name(const char *name, uint64_t seg_size, uint32_t *tli, uint64_t *segno);
bool wal_is_segment_name(const char *name);       /* exactly 24 hex digits */
bool wal_is_history_name(const char *name);       /* TTTTTTTT.history */
/* Any file archive_command may be given: segments, .partial, .backup, .history. */
bool wal_is_archivable_name(const char *name);

/* From the first page of a segment (XLogLongPageHeaderData). */
int wal_read_long_header(const uint8_t *page, size_t len, uint64_t *sysid, uint32_t *seg_size,
                         uint32_t *tli, Error *err);

#endif
