/* The node's WAL archive in the pool: naming, lookup, listing, fetching.
 * An object is <walname>-<sha256 of the original>.<ext>: the name alone
 * says whether a second push is the same content (idempotent) or not. */
#ifndef STRATA_ARCHIVE_H
#define STRATA_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "pg/wal.h"
#include "pipeline/stage.h"
#include "pool/pool.h"

typedef struct WalObject
{
    char *name;             /* 000000010000000000000003, 00000002.history, ... */
    char *key;              /* pool key */
    char sha256[65];        /* of the original file */
    Compression compression;
    bool is_segment;        /* a full 24-hex segment */
    uint32_t tli;           /* segments only */
    uint64_t segno;
    uint64_t stored_size;
} WalObject;

typedef struct WalList
{
    WalObject *items;
    size_t count;
} WalList;

char *archive_dir_for(const char *node, const char *walname);
int archive_find(Pool *p, const char *node, const char *walname, WalObject *out, bool *found, Error *err);
/* Every WAL object of the node; segments sorted by (timeline, segno). */
int archive_list(Pool *p, const char *node, uint64_t seg_size, WalList *out, Error *err);
void wal_object_free(WalObject *o);
void wal_list_free(WalList *l);

/* Streams the original bytes into `sink`, checking the frame and the SHA-256. */
int archive_fetch(Pool *p, const WalObject *o, Stage *sink, Error *err);

/* A missing run of segments on one timeline. */
typedef struct WalGap
{
    uint32_t tli;
    uint64_t first_missing;
    uint64_t last_missing;
} WalGap;

/* Gaps between the first and the last segment of each timeline. */
size_t archive_gaps(const WalList *l, WalGap **gaps);
/* Is segment (tli, segno) in the list? */
bool archive_has_segment(const WalList *l, uint32_t tli, uint64_t segno);

#endif
