/* A backup's manifest: everything restore needs, sealed, written last. */
#ifndef STRATA_MANIFEST_H
#define STRATA_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "pg/wal.h"
#include "pipeline/stage.h"
#include "pool/pool.h"

#define MANIFEST_FORMAT 1

typedef struct ManifestFile
{
    char *path;              /* relative to the data directory */
    uint64_t size;           /* original bytes */
    uint32_t mode;
    int64_t mtime;
    uint64_t stored_size;    /* bytes of the pool object */
    char sha256[65];         /* of the pool object's bytes */
    bool skipped;            /* vanished during the backup: not stored */
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
    char *type;              /* "full" */
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
    uint64_t size;           /* sum of original bytes */
    uint64_t stored_size;    /* sum of pool bytes */
    ManifestFile *files;
    size_t nfiles;
    ManifestDir *dirs;
    size_t ndirs;
    ManifestPageError *page_errors;
    size_t npage_errors;
} Manifest;

int manifest_save(Pool *p, const Manifest *m, Error *err);
/* *missing true when the backup has no manifest (incomplete). */
int manifest_load(Pool *p, const char *node, const char *id, Manifest *m, bool *missing, Error *err);
void manifest_free(Manifest *m);

/* Pool key of a file's data object. */
char *manifest_object_path(const Manifest *m, const ManifestFile *f);
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
