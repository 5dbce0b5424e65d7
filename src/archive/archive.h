/* The node's WAL archive in the pool: naming, lookup, listing, fetching.
 * An object is <walname>-<checksum of the original>.<ext>[.enc]: the name
 * alone says whether a second push is the same content (idempotent) or
 * not. The checksum is the SHA-256 of the content, or in a keyed pool the
 * HMAC-SHA256 of the WAL name and the content with the pool's WAL name key
 * (pool/keys.h), so that nobody without the key can put WAL of their own
 * in; ".enc": encrypted (pipeline/encrypt.h) with the node's WAL key. */
#ifndef STRATA_ARCHIVE_H
#define STRATA_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "pg/wal.h"
#include "pipeline/stage.h"
#include "pool/pool.h"

typedef enum WalKind
{
    WAL_SEGMENT,            /* 000000010000000000000003 */
    WAL_PARTIAL,            /* 000000010000000000000007.partial: a timeline's last, unfinished segment */
    WAL_HISTORY,            /* 00000002.history */
    WAL_BACKUP_LABEL,       /* 000000010000000000000003.00000028.backup */
} WalKind;

typedef struct WalObject
{
    char *name;             /* 000000010000000000000003, 00000002.history, ... */
    char *key;              /* pool key */
    char sha256[65];        /* the checksum of the original file (see above) */
    Compression compression;
    bool encrypted;         /* ".enc": compressed, then encrypted with the node's WAL data key */
    WalKind kind;
    bool is_segment;        /* kind == WAL_SEGMENT and the name parsed with the node's segment size */
    uint32_t tli;           /* segments, partials (with the segment size) and histories */
    uint64_t segno;         /* segments and partials */
    uint64_t stored_size;
} WalObject;

typedef struct WalList
{
    WalObject *items;
    size_t count;
    /* Keys below the node's wal/ that are not WAL objects of ours (a stray
     * copy, an editor's backup): never used, listed so verify can name them. */
    char **foreign;
    size_t nforeign;
} WalList;

char *archive_dir_for(const char *node, const char *walname);
int archive_find(Pool *p, const char *node, const char *walname, WalObject *out, bool *found, Error *err);
/* Every WAL object of the node; segments sorted by (timeline, segno). */
int archive_list(Pool *p, const char *node, uint64_t seg_size, WalList *out, Error *err);
/* The same, restricted to timelines >= min_tli (histories included): what
 * wal-get needs to tell a hole from the end, without the older timelines. */
int archive_list_from(Pool *p, const char *node, uint64_t seg_size, uint32_t min_tli, WalList *out, Error *err);
/* Classifies a WAL file name (pure): false if it is not one archive_command
 * is given. Fills o->kind, tli, segno, is_segment; nothing else. */
bool wal_object_classify(const char *walname, uint64_t seg_size, WalObject *o);
/* Sorts items as archive_list does (after building a list by hand). */
void wal_list_sort(WalList *l);
void wal_object_free(WalObject *o);
void wal_list_free(WalList *l);

/* Streams the original bytes into `sink`, checking the frame and the
 * checksum (and decrypting). A keyed pool needs its key. */
int archive_fetch(Pool *p, const WalObject *o, Stage *sink, Error *err);
/* The content checksum a WAL file of that name and content is stored under. */
void archive_content_checksum(Pool *p, const char *walname, const void *data, size_t len, char hex[65]);

/* Called by wal-push after a file is archived (or found archived with the
 * same content): the WAL index (src/wal/) sits above the archive, so it
 * registers itself here (main.c) instead of the archive including it. Must
 * not fail the push: it reports its own problems. NULL: nothing to do. */
typedef void (*ArchivePushHook)(Pool *p, const char *node, const char *walname, const uint8_t *content, size_t len,
                                uint64_t seg_size);
extern ArchivePushHook archive_after_push;

#endif
