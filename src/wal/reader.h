/* A reader of PostgreSQL 15 WAL segments: page headers, records spanning
 * pages and segments, CRC-32C, and each record's block references.
 *
 * Segments are fed whole, in order; a record that continues into the next
 * segment is kept until that segment is fed (if the next segment fed is not
 * the consecutive one, the partial record is dropped and reading starts
 * afresh at the first record that begins in the new segment, as
 * pg_waldump does). Everything is bounded by the bytes actually given:
 * a length in the WAL is never trusted to size an allocation. Every
 * malformed page or record is an error naming the segment and the LSN.
 *
 * This header uses plain C types only: the server headers stay inside
 * the decoder's .c files. */
#ifndef STRATA_WAL_READER_H
#define STRATA_WAL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/wal.h"

#define WAL_PAGE_SIZE 8192
#define WAL_MAX_BLOCK_ID 32

/* PostgreSQL 15's resource managers the index interprets. */
enum
{
    WAL_RM_XLOG = 0,
    WAL_RM_XACT = 1,
    WAL_RM_SMGR = 2,
    WAL_RM_CLOG = 3,
    WAL_RM_DBASE = 4,
    WAL_RM_TBLSPC = 5,
    WAL_RM_RELMAP = 7,
    WAL_RM_MAX_BUILTIN = 21,   /* RM_LOGICALMSG_ID in PG15 */
};

/* Forks (ForkNumber). */
enum { WAL_FORK_MAIN = 0, WAL_FORK_FSM = 1, WAL_FORK_VM = 2, WAL_FORK_INIT = 3, WAL_FORK_MAX = 3 };

typedef struct WalRelFile
{
    uint32_t spc;   /* tablespace OID */
    uint32_t db;    /* database OID */
    uint32_t rel;   /* relfilenode */
} WalRelFile;

typedef struct WalBlockRef
{
    uint8_t id;              /* block reference id (0..32) */
    uint8_t fork;            /* ForkNumber */
    uint8_t flags;           /* BKPBLOCK_* bits as in the WAL */
    WalRelFile rel;
    uint32_t blkno;
    bool has_image;          /* a full-page image (never decompressed here) */
    bool apply_image;        /* BKPIMAGE_APPLY */
    bool will_init;          /* BKPBLOCK_WILL_INIT */
    uint8_t bimg_info;       /* BKPIMAGE_* bits: hole, apply, pglz/lz4/zstd */
    uint16_t bimg_len;       /* stored image bytes */
    uint16_t hole_offset;
    uint16_t hole_length;
    uint16_t data_len;       /* block data bytes (not the image) */
} WalBlockRef;

typedef struct WalRecord
{
    Lsn lsn;                 /* start of the record */
    Lsn end;                 /* first byte after it */
    uint32_t tli;            /* timeline of the segment file it ended in */
    uint32_t tot_len;
    uint32_t xid;
    Lsn prev;
    uint8_t info;            /* whole xl_info */
    uint8_t rmid;
    uint32_t toplevel_xid;   /* 0 unless the record says */
    uint16_t origin;
    int nblocks;
    WalBlockRef blocks[WAL_MAX_BLOCK_ID + 1];
    const uint8_t *main_data;   /* valid during the callback only */
    uint32_t main_len;
} WalRecord;

/* Called for each complete, CRC-checked record; non-zero stops the feed
 * with that return value (the callback sets err). */
typedef int (*WalRecordFn)(void *ctx, const WalRecord *rec, Error *err);

typedef struct WalReader WalReader;

/* seg_size: the node's segment size (a power of two, 1 MiB..1 GiB);
 * sysid: the system identifier every long page header must carry (0: take
 * it from the first segment fed). */
WalReader *wal_reader_new(uint64_t seg_size, uint64_t sysid);
void wal_reader_free(WalReader *r);

/* Feeds one whole segment file (exactly seg_size bytes). Returns 0 when
 * the segment was read to its end, to an XLOG_SWITCH, or to the end of
 * valid WAL (a zero record length or a zeroed page where a record would
 * start: see wal_reader_ended_early); -1 with err naming the segment and
 * the LSN on malformed input. */
int wal_reader_feed(WalReader *r, uint32_t tli, uint64_t segno, const uint8_t *data, size_t len, WalRecordFn fn,
                    void *ctx, Error *err);

/* After a feed: where the WAL of that segment ended early (0 if it did
 * not); whether it ended with an XLOG_SWITCH; whether a record continues
 * into the next segment (and from which LSN); the first record that began
 * in the segment after any continuation data (0 if none). */
Lsn wal_reader_ended_early(const WalReader *r);
bool wal_reader_switched(const WalReader *r);
Lsn wal_reader_pending_record(const WalReader *r);
Lsn wal_reader_first_record(const WalReader *r);
/* The record continuing into the next segment: its start, the bytes read
 * so far (valid until the next feed) and its total length; false if none. */
bool wal_reader_pending(const WalReader *r, Lsn *lsn, const uint8_t **bytes, uint32_t *len, uint32_t *total);
/* Makes the reader continue after segment prev_segno as if it had read
 * it: with the pending record (lsn, bytes, len of total) given, or none
 * (lsn 0: the segment ended with a complete record or a switch). The
 * next feed must be segment prev_segno + 1. */
void wal_reader_resume(WalReader *r, uint64_t prev_segno, Lsn lsn, const uint8_t *bytes, uint32_t len,
                       uint32_t total);

/* Whether this feed started afresh in the middle of a record (its tail
 * was skipped: the segment before was not fed, or did not fit). */
bool wal_reader_skipped_head(const WalReader *r);
/* The system identifier read from the first long header. */
uint64_t wal_reader_sysid(const WalReader *r);

/* A record's byte layout as PostgreSQL 15 writes it (DecodeXLogRecord):
 * header, block headers, data. Fills rec from the `len` bytes of raw. */
int wal_decode_record(const uint8_t *raw, uint32_t len, Lsn lsn, WalRecord *rec, Error *err);

/* PostgreSQL's CRC-32C of a record (data after the header, then the header
 * up to xl_crc), as ValidXLogRecord computes it. */
uint32_t wal_record_crc(const uint8_t *raw, uint32_t len);
/* Plain CRC-32C (Castagnoli, reflected, init and final xor ~0). */
uint32_t wal_crc32c(const void *data, size_t len);

/* Where a segment's first record begins when nothing continues into it from
 * the previous segment: right after the long page header (SizeOfXLogLongPHD). */
uint64_t wal_segment_first_record_offset(void);

#endif
