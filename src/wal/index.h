/* The WAL index: what one archived segment changes, read once when the
 * segment is archived so that incremental backups and exact restore
 * targets need not decode WAL again (docs/pool-format.md, "WAL index").
 *
 * An index describes every record that ENDS in its segment (a record
 * that began in the previous segment is included; one that continues
 * into the next is left to the next segment's index). Block numbers are
 * aggregated per relation fork as sorted, merged ranges; everything else
 * is a list in WAL order with each record's start LSN. */
#ifndef STRATA_WAL_INDEX_H
#define STRATA_WAL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wal/reader.h"

#define WAL_INDEX_FORMAT 1

/* Index flags. */
enum
{
    /* The previous segment was not available (or not decodable), so the
     * record that continues into this segment, if any, is not described:
     * coverage starts at covered_from, not at the segment's start. */
    WAL_INDEX_HEAD_MISSING = 1 << 0,
    WAL_INDEX_SWITCHED = 1 << 1,        /* ends with XLOG_SWITCH */
    WAL_INDEX_ENDED_EARLY = 1 << 2,     /* valid WAL stops at valid_end (no switch) */
    /* A record declared XLR_SPECIAL_REL_UPDATE (it changes relation files
     * beyond its block references) and strata does not know it: an
     * incremental across this segment must be refused (take a full). */
    WAL_INDEX_UNKNOWN_SPECIAL = 1 << 3,
    WAL_INDEX_DECODE_ERROR = 1 << 4,    /* malformed WAL at valid_end: see error */
    /* The record that continues into the next segment is kept (tail): the
     * next segment's index is built without reading this segment again. */
    WAL_INDEX_TAIL = 1 << 5,
    WAL_INDEX_CLEAN_END = 1 << 6,       /* nothing continues into the next segment */
};

#define WAL_INDEX_TAIL_MAX (256 * 1024)   /* a longer pending record is not kept */

typedef struct WalBlockRange
{
    uint32_t start;
    uint32_t count;
} WalBlockRange;

typedef struct WalForkBlocks
{
    WalRelFile rel;
    uint8_t fork;
    size_t nranges;
    WalBlockRange *ranges;
} WalForkBlocks;

typedef struct WalTruncation
{
    Lsn lsn;
    WalRelFile rel;
    uint32_t blkno;     /* new length in blocks */
    uint32_t flags;     /* 1 main, 2 visibility map, 4 free space map (SMGR_TRUNCATE_*) */
} WalTruncation;

typedef enum WalRelEventKind
{
    WAL_REL_CREATE = 1,       /* smgr create of one fork */
    WAL_REL_DROP = 2,         /* dropped (all forks) by a commit or an abort */
} WalRelEventKind;

typedef struct WalRelEvent
{
    Lsn lsn;
    uint8_t kind;
    uint8_t fork;       /* create: the fork; drop: 0xFF (every fork) */
    WalRelFile rel;
    uint32_t xid;       /* drop: the transaction whose record dropped it */
} WalRelEvent;

typedef enum WalDbEventKind
{
    WAL_DB_CREATE_FILE_COPY = 1,   /* copied from src_db's files at a checkpoint */
    WAL_DB_CREATE_WAL_LOG = 2,     /* directory made; its pages follow as FPIs */
    WAL_DB_DROP = 3,               /* one event per tablespace dropped from */
} WalDbEventKind;

typedef struct WalDbEvent
{
    Lsn lsn;
    uint8_t kind;
    uint32_t db, spc;
    uint32_t src_db, src_spc;   /* FILE_COPY only */
} WalDbEvent;

typedef enum WalXactKind
{
    WAL_XACT_COMMIT = 1,
    WAL_XACT_ABORT = 2,
    WAL_XACT_PREPARE = 3,
    WAL_XACT_COMMIT_PREPARED = 4,
    WAL_XACT_ABORT_PREPARED = 5,
} WalXactKind;

#define WAL_GID_MAX 200   /* GIDSIZE */

typedef struct WalXact
{
    Lsn lsn, end;
    uint8_t kind;
    /* COMMIT/ABORT: the record's xid; PREPARE: the prepared xid;
     * *_PREPARED: the prepared transaction's xid (not the record's). */
    uint32_t xid;
    int64_t time_us;   /* Unix microseconds, the server's clock */
    /* PREPARE always; COMMIT/ABORT PREPARED only at wal_level logical
     * (PostgreSQL writes it there only): map xid -> gid via PREPARE. */
    char gid[WAL_GID_MAX];
} WalXact;

typedef struct WalRestorePoint
{
    Lsn lsn, end;
    int64_t time_us;
    char name[64];
} WalRestorePoint;

typedef enum WalServerEventKind
{
    WAL_SRV_PARAMETER_CHANGE = 1,   /* wal_level and friends changed */
    WAL_SRV_END_OF_RECOVERY = 2,    /* promotion: timeline prev_tli -> tli */
    WAL_SRV_CHECKPOINT_SHUTDOWN = 3,
    WAL_SRV_TIMELINE_CHECKPOINT = 4, /* a checkpoint that switched timeline */
} WalServerEventKind;

typedef struct WalServerEvent
{
    Lsn lsn;
    uint8_t kind;
    int32_t wal_level;   /* 0 minimal, 1 replica, 2 logical; -1 not said */
    uint32_t tli, prev_tli;
    int64_t time_us;
} WalServerEvent;

typedef struct WalUnknownRecord
{
    Lsn lsn;
    uint8_t rmid;
    uint8_t info;
} WalUnknownRecord;

typedef struct WalIndex
{
    uint32_t tli;
    uint64_t segno;
    uint64_t seg_size;
    uint64_t sysid;
    char segment_sha256[65];   /* of the segment this was built from */
    Lsn covered_from;          /* every record ending from here to valid_end is described */
    Lsn valid_end;             /* end of the last record (segment end if it runs on) */
    uint32_t flags;
    uint64_t nrecords;
    char error[512];           /* DECODE_ERROR */
    Lsn tail_lsn;              /* TAIL: the pending record's start, */
    uint32_t tail_total;       /* its length, */
    uint32_t tail_len;         /* and the bytes of it in this segment */
    uint8_t *tail;

    WalForkBlocks *forks;        size_t nforks;
    WalTruncation *truncations;  size_t ntruncations;
    WalRelEvent *rels;           size_t nrels;
    WalDbEvent *dbs;             size_t ndbs;
    WalXact *xacts;              size_t nxacts;
    WalRestorePoint *rpoints;    size_t nrpoints;
    WalServerEvent *servers;     size_t nservers;
    WalUnknownRecord *unknown;   size_t nunknown;
} WalIndex;

void wal_index_free(WalIndex *ix);

/* Building: feed records, then finish (sorts and merges the blocks). */
typedef struct WalIndexBuilder WalIndexBuilder;
WalIndexBuilder *wal_index_builder_new(WalIndex *ix);
/* Adds what one record changes (rmgr.c). Malformed main data of a record
 * strata interprets is an error naming the LSN. */
int wal_index_add_record(WalIndexBuilder *b, const WalRecord *rec, Error *err);
void wal_index_builder_finish(WalIndexBuilder *b);

/* Builds the index of segment (tli, segno) from its bytes; prev (may be
 * NULL) is the previous segment's bytes (same or older timeline), needed
 * for the record that continues into this one; without them, prev_ix (may
 * be NULL), the previous segment's index, serves if it has TAIL or
 * CLEAN_END. A malformed segment is
 * not an error here: the index records DECODE_ERROR and the message
 * (the caller logs it); an error is returned only if the segment is not
 * a PostgreSQL 15 segment of this size at all. */
int wal_index_build(uint32_t tli, uint64_t segno, uint64_t seg_size, uint64_t sysid, const uint8_t *seg,
                    const uint8_t *prev, uint32_t prev_tli, const WalIndex *prev_ix, const char *segment_sha256,
                    WalIndex *ix, Error *err);
/* Can prev_ix stand in for its segment's bytes when indexing the next? */
bool wal_index_continues(const WalIndex *prev_ix);

/* The stored form (index_format.c): serialized and checksummed. */
struct Buffer;   /* common/util.h (not included: the decoder sees server headers) */
void wal_index_serialize(const WalIndex *ix, struct Buffer *out);
/* Parses and checks an index object; `what` names it in messages. */
int wal_index_parse(const uint8_t *data, size_t len, const char *what, WalIndex *ix, Error *err);

/* PostgreSQL timestamps count microseconds from 2000-01-01. */
static inline int64_t wal_pg_time_to_unix_us(int64_t pg) { return pg + INT64_C(946684800000000); }

#endif
