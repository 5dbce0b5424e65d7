/* A backup's manifest: everything restore needs, sealed, written last. */
#ifndef STRATA_MANIFEST_H
#define STRATA_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "pg/wal.h"
#include "pipeline/encrypt.h"
#include "pipeline/stage.h"
#include "pool/pool.h"

#define MANIFEST_FORMAT 1

typedef struct ManifestBlockRange
{
    uint32_t start;          /* first block of the file (not of the relation) */
    uint32_t count;
} ManifestBlockRange;
/* One range of a file stored as several objects (pool/manifest_ranges.c):
 * the bytes [offset, offset + size) of the file, in their own pool object,
 * read, checked and compressed by one worker while others do the rest. */
typedef struct ManifestRange
{
    uint64_t offset;         /* in the file */
    uint64_t size;           /* original bytes */
    uint64_t stored_size;    /* bytes of the range's pool object */
    char sha256[65];         /* of that object's bytes */
    bool vanished;           /* backup only: the file was gone when this range was read */
} ManifestRange;

typedef struct ManifestFile
{
    char *path;              /* relative to the data directory */
    uint64_t size;           /* original bytes */
    uint32_t mode;
    int64_t mtime;
    uint64_t stored_size;    /* bytes of the pool object */
    char sha256[65];         /* of the pool object's bytes */
    bool skipped;            /* vanished during the backup: not stored */
    /* Incremental entries (docs/pool-format.md, "Incremental backups"):
     * the object holds only these blocks (8 KiB each, in this order);
     * every other block below size comes from the same path in backup
     * `reference` (the manifest's parent). reference NULL: a full file. */
    char *reference;
    ManifestBlockRange *blocks;
    size_t nblock_ranges;
    /* Split into ranges (nranges >= 2), or one object for the whole file
     * (nranges 0). When split, size and stored_size are the ranges' sums
     * and sha256 is manifest_ranges_digest's (docs/pool-format.md). */
    ManifestRange *ranges;
    size_t nranges;
} ManifestFile;

typedef struct ManifestDir
{
    char *path;
    uint32_t mode;
} ManifestDir;

typedef struct ManifestPageError
{
    char *path;
    uint32_t block;
} ManifestPageError;

typedef struct Manifest
{
    char *id;
    char *node;
    char *type;              /* "full", "incr" or "diff" */
    /* incr/diff: the backup this one builds on (its blocks' reference);
     * NULL for a full. */
    char *parent;
    /* A full taken where an incremental was asked for: why (NULL: none). */
    char *incremental_fallback;
    char *label;
    char *cluster_backup;    /* the cluster backup this node backup is part of (NULL: none) */
    int pg_version_num;
    uint64_t system_identifier;
    bool data_checksums;
    bool from_standby;
    uint32_t timeline;
    Lsn start_lsn;
    Lsn stop_lsn;
    int64_t start_time;      /* Unix seconds (UTC) */
    int64_t stop_time;
    double duration;         /* seconds */
    uint64_t wal_segment_size;
    Compression compression;
    int compress_level;
    Cipher cipher;           /* data objects encrypted with backup.key's data key */
    uint64_t size;           /* sum of original bytes */
    uint64_t stored_size;    /* sum of pool bytes */
    ManifestFile *files;
    size_t nfiles;
    ManifestDir *dirs;
    size_t ndirs;
    ManifestPageError *page_errors;
    size_t npage_errors;
    /* Not stored: bytes the backup read from the data directory (set by
     * backup_node for its report). */
    uint64_t read_bytes;
} Manifest;

int manifest_save(Pool *p, const Manifest *m, Error *err);
/* *missing true when the backup has no manifest (incomplete). */
int manifest_load(Pool *p, const char *node, const char *id, Manifest *m, bool *missing, Error *err);
/* The validated reading of a manifest's JSON (manifest_load's, and the fuzz
 * target's); node and id, when given, must be the manifest's own. `path`
 * names it in messages. */
int manifest_parse(json_object *o, const char *path, const char *node, const char *id, Manifest *m, Error *err);
void manifest_free(Manifest *m);

/* Blocks an incremental entry's object holds (the sum of its counts). */
uint64_t manifest_file_nblocks(const ManifestFile *f);
/* Is this a full backup (the base of a chain)? */
bool manifest_is_full(const Manifest *m);

/* Pool key of a file's data object. */
char *manifest_object_path(const Manifest *m, const ManifestFile *f);

/* ---- files split into ranges (pool/manifest_ranges.c) ---- */

/* Default and bounds of --chunk-size: a file larger than it is split. */
#define CHUNK_SIZE_DEFAULT ((uint64_t) 64 << 20)
#define CHUNK_SIZE_MIN ((uint64_t) 1 << 20)
#define CHUNK_SIZE_MAX ((uint64_t) 1 << 40)
/* A chunk size must be a multiple of the page size (each range then holds
 * whole pages, checked on their own) within the bounds above. */
int chunk_size_check(uint64_t chunk_size, Error *err);
/* How many ranges a file of `size` bytes is split into: 0 (one object)
 * when it is not larger than chunk_size, else ceil(size / chunk_size). */
size_t manifest_range_count(uint64_t size, uint64_t chunk_size);
/* Sets f->ranges to the split of its scanned size (offsets, sizes planned;
 * the last range reads to the end of the file, whatever it then is). */
void manifest_ranges_plan(ManifestFile *f, uint64_t chunk_size);
/* After every range is stored: f->size, stored_size and sha256 from the
 * ranges; f->skipped when the file vanished under one of them. */
void manifest_ranges_finish(ManifestFile *f);
/* The file entry's sha256 of a split file: SHA-256 of the ranges' sha256
 * hex strings, concatenated in order. */
void manifest_ranges_digest(const ManifestFile *f, char out[65]);
/* Where the file's bytes end: the end of its last non-empty range. */
uint64_t manifest_ranges_extent(const ManifestFile *f);
/* Pool key of range `r` of f: the file's key with ".range-<offset>"
 * before the extension. */
char *manifest_range_object_path(const Manifest *m, const ManifestFile *f, const ManifestRange *r);
/* The file as one range sees it (size, stored_size, sha256 of the range):
 * a shallow copy for the checks written for whole-file objects. */
ManifestFile manifest_range_view(const ManifestFile *f, const ManifestRange *r);
/* Count of data objects in a manifest (a split file counts its ranges). */
size_t manifest_object_count(const Manifest *m);
/* JSON of / validated reading of a file entry's "ranges" (manifest.c). */
json_object *manifest_ranges_to_json(const ManifestFile *f);
struct FieldReader;
void manifest_ranges_read(struct FieldReader *r, json_object *entry, ManifestFile *f);
/* The WAL segment names from start to stop LSN (inclusive), the ones a
 * restore of this backup cannot do without. Caller frees the array. */
size_t manifest_required_wal(const Manifest *m, char (**names)[WAL_NAME_LEN + 1]);

/* Backups of a node, sorted by id (oldest first). */
typedef struct BackupEntry
{
    char *id;
    bool complete;           /* has a valid manifest */
    bool no_manifest;        /* none at all: interrupted or in progress (its lease tells) */
    char *problem;           /* why not complete: the seal error, or "no manifest" */
    Manifest manifest;       /* valid when complete */
} BackupEntry;

typedef struct BackupList
{
    BackupEntry *items;
    size_t count;
} BackupList;

int backup_list_load(Pool *p, const char *node, BackupList *out, Error *err);
void backup_list_free(BackupList *l);

/* Removes a node backup: its manifest first (from then on nothing lists it
 * as usable), then its objects. */
int backup_remove(Pool *p, const char *node, const char *id, Error *err);

#endif
