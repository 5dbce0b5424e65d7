/* The backup pool's storage: one interface every backend implements
 * (a POSIX directory, an S3 bucket; HDFS would slot in behind the same calls).
 *
 * Paths are '/'-separated keys relative to the pool root. Objects are
 * written through a StorageWriter and appear under their final name only on
 * commit (atomically), so no reader ever sees a partial object. A writer
 * that is aborted, or whose process dies, leaves nothing a listing shows. */
#ifndef STRATA_STORAGE_H
#define STRATA_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"

typedef struct Storage Storage;
typedef struct StorageReader StorageReader;
typedef struct StorageWriter StorageWriter;

typedef struct StorageEntry
{
    char *name;        /* one path component */
    bool is_dir;       /* a prefix with objects below it */
    uint64_t size;
} StorageEntry;

typedef struct StorageList
{
    StorageEntry *entries;
    size_t count;
} StorageList;

typedef struct StorageReaderOps
{
    /* Reads up to cap bytes; *n == 0 at the end. */
    int (*read)(StorageReader *r, void *buf, size_t cap, size_t *n, Error *err);
    void (*close)(StorageReader *r);
} StorageReaderOps;

struct StorageReader
{
    const StorageReaderOps *ops;
};

typedef struct StorageWriterOps
{
    int (*write)(StorageWriter *w, const void *buf, size_t len, Error *err);
    /* Makes the object durable and visible under its name; frees the writer. */
    int (*commit)(StorageWriter *w, Error *err);
    /* Discards everything written; frees the writer. */
    void (*abort)(StorageWriter *w);
} StorageWriterOps;

struct StorageWriter
{
    const StorageWriterOps *ops;
};

typedef struct StorageDriver
{
    const char *name;
    /* *missing is set (and 0 returned) when the object does not exist. */
    int (*open_read)(Storage *s, const char *path, StorageReader **out, bool *missing, Error *err);
    int (*open_write)(Storage *s, const char *path, StorageWriter **out, Error *err);
    int (*exists)(Storage *s, const char *path, bool *exists, Error *err);
    /* Entries one level below dir whose names start with prefix (NULL:
     * all), sorted by name; an absent dir lists empty. The prefix is the
     * driver's to use: an object store lists by prefix natively, a
     * directory skips the other names before it stats anything. */
    int (*list)(Storage *s, const char *dir, const char *prefix, StorageList *out, Error *err);
    int (*remove)(Storage *s, const char *path, Error *err);
    int (*remove_tree)(Storage *s, const char *dir, Error *err);
    /* Removes, anywhere below dir, what writers that died before commit or
     * abort left, when older than min_age seconds; *removed counts it.
     * NULL: the backend leaves nothing a process death could strand. */
    int (*remove_stale_writes)(Storage *s, const char *dir, int64_t min_age, size_t *removed, Error *err);
    void (*close)(Storage *s);
} StorageDriver;

struct Storage
{
    const StorageDriver *driver;
    char *location;    /* what the user gave, for messages */
};

/* Opens the storage that `location` names: a directory path, file://path
 * or s3://bucket[/prefix][?options] (storage/s3.c, docs/cli.md). */
int storage_open(const char *location, Storage **out, Error *err);
/* A location whose every object costs a network round trip (s3://), as
 * opposed to a directory: what read-ahead is worth doing for. */
bool storage_location_is_remote(const char *location);
Storage *storage_posix_new(const char *root);
int storage_s3_open(const char *location, Storage **out, Error *err);
void storage_close(Storage *s);

static inline int storage_open_read(Storage *s, const char *path, StorageReader **out, bool *missing, Error *err)
{ return s->driver->open_read(s, path, out, missing, err); }
static inline int storage_open_write(Storage *s, const char *path, StorageWriter **out, Error *err)
{ return s->driver->open_write(s, path, out, err); }
static inline int storage_exists(Storage *s, const char *path, bool *exists, Error *err)
{ return s->driver->exists(s, path, exists, err); }
static inline int storage_list(Storage *s, const char *dir, StorageList *out, Error *err)
{ return s->driver->list(s, dir, NULL, out, err); }
static inline int storage_list_prefix(Storage *s, const char *dir, const char *prefix, StorageList *out, Error *err)
{ return s->driver->list(s, dir, prefix, out, err); }
static inline int storage_remove_stale_writes(Storage *s, const char *dir, int64_t min_age, size_t *removed,
                                              Error *err)
{
    *removed = 0;
    return s->driver->remove_stale_writes ? s->driver->remove_stale_writes(s, dir, min_age, removed, err) : 0;
}
static inline int storage_remove(Storage *s, const char *path, Error *err)
{ return s->driver->remove(s, path, err); }
static inline int storage_remove_tree(Storage *s, const char *dir, Error *err)
{ return s->driver->remove_tree(s, dir, err); }

static inline int storage_read(StorageReader *r, void *buf, size_t cap, size_t *n, Error *err)
{ return r->ops->read(r, buf, cap, n, err); }
static inline void storage_reader_close(StorageReader *r) { r->ops->close(r); }
static inline int storage_write(StorageWriter *w, const void *buf, size_t len, Error *err)
{ return w->ops->write(w, buf, len, err); }
static inline int storage_commit(StorageWriter *w, Error *err) { return w->ops->commit(w, err); }
static inline void storage_abort(StorageWriter *w) { w->ops->abort(w); }

void storage_list_free(StorageList *l);

/* Whole small objects (manifests, descriptors). */
int storage_put(Storage *s, const char *path, const void *data, size_t len, Error *err);
/* Reads at most `max` bytes: a larger object is an error naming it and the
 * limit (a pool object is untrusted: it must not exhaust memory). */
int storage_get_limited(Storage *s, const char *path, size_t max, Buffer *out, bool *missing, Error *err);
/* storage_get_limited with STORAGE_GET_MAX. */
#define STORAGE_GET_MAX ((size_t) 256 << 20)
int storage_get(Storage *s, const char *path, Buffer *out, bool *missing, Error *err);

#endif
