#include "storage/faulty.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[FAULT_OPS] = {"read", "write", "commit", "list", "remove"};

typedef struct FaultyStorage
{
    Storage base;
    Storage *inner;
    FaultPlan plan;
    char *prefix;   /* the plan's, owned */
    atomic_ulong calls[FAULT_OPS];
    atomic_ulong injected;
} FaultyStorage;

typedef struct FaultyReader
{
    StorageReader base;
    StorageReader *inner;
    FaultyStorage *fs;
    char *path;
} FaultyReader;

typedef struct FaultyWriter
{
    StorageWriter base;
    StorageWriter *inner;
    FaultyStorage *fs;
    char *path;
} FaultyWriter;

/* Counts a call of kind op on path; true when this one is to go wrong. */
static bool
strike(FaultyStorage *fs, FaultOp op, const char *path)
{
    if (fs->prefix && strncmp(path, fs->prefix, strlen(fs->prefix)) != 0)
        return false;
    unsigned long n = atomic_fetch_add(&fs->calls[op], 1) + 1;
    if (fs->plan.op != op || fs->plan.nth == 0)
        return false;
    bool hit = fs->plan.every_after ? n >= fs->plan.nth : n == fs->plan.nth;
    if (hit)
        atomic_fetch_add(&fs->injected, 1);
    return hit;
}

static int
injected(Error *err, FaultOp op, const char *path, const FaultyStorage *fs)
{
    return error_set(err, "injected fault: %s of %s (call %lu of that kind) in %s", op_names[op], path,
                     (unsigned long) atomic_load(&fs->calls[op]), fs->base.location);
}

static int
faulty_read(StorageReader *r, void *buf, size_t cap, size_t *n, Error *err)
{
    FaultyReader *fr = (FaultyReader *) r;
    if (storage_read(fr->inner, buf, cap, n, err) != 0)
        return -1;
    if (*n == 0 || !strike(fr->fs, FAULT_READ, fr->path))
        return 0;
    if (fr->fs->plan.kind == FAULT_FAIL)
    {
        *n = 0;
        return injected(err, FAULT_READ, fr->path, fr->fs);
    }
    ((unsigned char *) buf)[0] ^= 0xff;
    return 0;
}

static void
faulty_reader_close(StorageReader *r)
{
    FaultyReader *fr = (FaultyReader *) r;
    storage_reader_close(fr->inner);
    free(fr->path);
    free(fr);
}

static const StorageReaderOps faulty_reader_ops = {faulty_read, faulty_reader_close};

static int
faulty_open_read(Storage *s, const char *path, StorageReader **out, bool *missing, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    StorageReader *inner;
    if (storage_open_read(fs->inner, path, &inner, missing, err) != 0)
        return -1;
    if (*missing)
        return 0;
    FaultyReader *fr = xcalloc(1, sizeof(*fr));
    fr->base.ops = &faulty_reader_ops;
    fr->inner = inner;
    fr->fs = fs;
    fr->path = xstrdup(path);
    *out = &fr->base;
    return 0;
}

static int
faulty_write(StorageWriter *w, const void *buf, size_t len, Error *err)
{
    FaultyWriter *fw = (FaultyWriter *) w;
    if (!strike(fw->fs, FAULT_WRITE, fw->path))
        return storage_write(fw->inner, buf, len, err);
    if (fw->fs->plan.kind == FAULT_FAIL || len == 0)
        return injected(err, FAULT_WRITE, fw->path, fw->fs);
    unsigned char *copy = xmalloc(len);
    memcpy(copy, buf, len);
    copy[0] ^= 0xff;
    int rc = storage_write(fw->inner, copy, len, err);
    free(copy);
    return rc;
}

static void
faulty_writer_free(FaultyWriter *fw)
{
    free(fw->path);
    free(fw);
}

static int
faulty_commit(StorageWriter *w, Error *err)
{
    FaultyWriter *fw = (FaultyWriter *) w;
    int rc;
    if (strike(fw->fs, FAULT_COMMIT, fw->path))
    {
        storage_abort(fw->inner);
        rc = injected(err, FAULT_COMMIT, fw->path, fw->fs);
    }
    else
        rc = storage_commit(fw->inner, err);
    faulty_writer_free(fw);
    return rc;
}

static void
faulty_abort(StorageWriter *w)
{
    FaultyWriter *fw = (FaultyWriter *) w;
    storage_abort(fw->inner);
    faulty_writer_free(fw);
}

static const StorageWriterOps faulty_writer_ops = {faulty_write, faulty_commit, faulty_abort};

static int
faulty_open_write(Storage *s, const char *path, StorageWriter **out, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    StorageWriter *inner;
    if (storage_open_write(fs->inner, path, &inner, err) != 0)
        return -1;
    FaultyWriter *fw = xcalloc(1, sizeof(*fw));
    fw->base.ops = &faulty_writer_ops;
    fw->inner = inner;
    fw->fs = fs;
    fw->path = xstrdup(path);
    *out = &fw->base;
    return 0;
}

static int
faulty_exists(Storage *s, const char *path, bool *exists, Error *err)
{
    return storage_exists(((FaultyStorage *) s)->inner, path, exists, err);
}

static int
faulty_list(Storage *s, const char *dir, const char *prefix, StorageList *out, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    if (!strike(fs, FAULT_LIST, dir))
        return fs->inner->driver->list(fs->inner, dir, prefix, out, err);
    if (fs->plan.kind == FAULT_FAIL)
    {
        out->entries = NULL;
        out->count = 0;
        return injected(err, FAULT_LIST, dir, fs);
    }
    if (fs->inner->driver->list(fs->inner, dir, prefix, out, err) != 0)
        return -1;
    if (out->count > 0)
    {
        free(out->entries[0].name);
        memmove(out->entries, out->entries + 1, (out->count - 1) * sizeof(out->entries[0]));
        out->count--;
    }
    return 0;
}

static int
faulty_remove(Storage *s, const char *path, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    if (strike(fs, FAULT_REMOVE, path))
        return injected(err, FAULT_REMOVE, path, fs);
    return storage_remove(fs->inner, path, err);
}

static int
faulty_remove_tree(Storage *s, const char *dir, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    if (strike(fs, FAULT_REMOVE, dir))
        return injected(err, FAULT_REMOVE, dir, fs);
    return storage_remove_tree(fs->inner, dir, err);
}

static int
faulty_remove_stale_writes(Storage *s, const char *dir, int64_t min_age, size_t *removed, Error *err)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    *removed = 0;
    if (strike(fs, FAULT_REMOVE, dir))
        return injected(err, FAULT_REMOVE, dir, fs);
    return storage_remove_stale_writes(fs->inner, dir, min_age, removed, err);
}

static void
faulty_close(Storage *s)
{
    FaultyStorage *fs = (FaultyStorage *) s;
    storage_close(fs->inner);
    free(fs->prefix);
    free(fs->base.location);
    free(fs);
}

static const StorageDriver faulty_driver = {
    "faulty", faulty_open_read, faulty_open_write, faulty_exists, faulty_list, faulty_remove, faulty_remove_tree,
    faulty_remove_stale_writes, faulty_close,
};

Storage *
storage_faulty_new(Storage *inner, const FaultPlan *plan)
{
    FaultyStorage *fs = xcalloc(1, sizeof(*fs));
    fs->base.driver = &faulty_driver;
    fs->base.location = xprintf("%s (with injected faults)", inner->location);
    fs->inner = inner;
    fs->plan = *plan;
    if (plan->path_prefix)
        fs->prefix = xstrdup(plan->path_prefix);
    fs->plan.path_prefix = fs->prefix;
    for (int i = 0; i < FAULT_OPS; i++)
        atomic_init(&fs->calls[i], 0);
    atomic_init(&fs->injected, 0);
    return &fs->base;
}

unsigned long
storage_faulty_calls(Storage *s, FaultOp op)
{
    return atomic_load(&((FaultyStorage *) s)->calls[op]);
}

unsigned long
storage_faulty_injected(Storage *s)
{
    return atomic_load(&((FaultyStorage *) s)->injected);
}
