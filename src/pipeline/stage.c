#include "pipeline/stage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

int
stage_finish(Stage *s, Error *err)
{
    return s->ops->finish(s, err);
}

void
stage_free(Stage *head)
{
    while (head)
    {
        Stage *next = head->next;
        head->ops->destroy(head);
        head = next;
    }
}

/* Finish for stages with nothing of their own to flush. */
static int
finish_next(Stage *s, Error *err)
{
    return s->next ? stage_finish(s->next, err) : 0;
}

int
compression_parse(const char *name, Compression *out, Error *err)
{
    if (!strcmp(name, "zstd") || !strcmp(name, "zst"))
        *out = COMPRESS_ZSTD;
    else if (!strcmp(name, "lz4"))
        *out = COMPRESS_LZ4;
    else if (!strcmp(name, "none"))
        *out = COMPRESS_NONE;
    else
        return error_set(err, "--compress: unknown algorithm '%s' (zstd, lz4 or none)", name);
    return 0;
}

const char *
compression_name(Compression c)
{
    return c == COMPRESS_ZSTD ? "zstd" : c == COMPRESS_LZ4 ? "lz4" : "none";
}

const char *
compression_ext(Compression c)
{
    return c == COMPRESS_ZSTD ? "zst" : c == COMPRESS_LZ4 ? "lz4" : "raw";
}

int
compression_from_ext(const char *ext, Compression *out)
{
    if (!strcmp(ext, "zst"))
        *out = COMPRESS_ZSTD;
    else if (!strcmp(ext, "lz4"))
        *out = COMPRESS_LZ4;
    else if (!strcmp(ext, "raw"))
        *out = COMPRESS_NONE;
    else
        return -1;
    return 0;
}

int
compression_default_level(Compression c)
{
    return c == COMPRESS_ZSTD ? 3 : c == COMPRESS_LZ4 ? 1 : 0;
}

int
compression_check_level(Compression c, int level, Error *err)
{
    int lo = 0, hi = 0;
    if (c == COMPRESS_ZSTD)
    {
        lo = 1;
        hi = ZSTD_maxCLevel();
    }
    else if (c == COMPRESS_LZ4)
    {
        lo = 1;
        hi = 12;
    }
    if (level < lo || level > hi)
        return error_set(err, "--compress-level %d is out of range for %s (%d to %d)", level,
                         compression_name(c), lo, hi);
    return 0;
}

/* ---- count ---- */

typedef struct CountStage
{
    Stage base;
    uint64_t bytes;
} CountStage;

static int
count_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    ((CountStage *) s)->bytes += len;
    return stage_write(s->next, data, len, err);
}

static void
plain_destroy(Stage *s)
{
    free(s);
}

static const StageOps count_ops = {"count", count_write, finish_next, plain_destroy};

Stage *
stage_count_new(Stage *next)
{
    CountStage *cs = xcalloc(1, sizeof(*cs));
    cs->base.ops = &count_ops;
    cs->base.next = next;
    return &cs->base;
}

uint64_t
stage_count_bytes(Stage *s)
{
    return ((CountStage *) s)->bytes;
}

/* ---- storage writer ---- */

typedef struct StorageStage
{
    Stage base;
    StorageWriter *w;
} StorageStage;

static int
storage_stage_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    return storage_write(((StorageStage *) s)->w, data, len, err);
}

static const StageOps storage_stage_ops = {"storage", storage_stage_write, finish_next, plain_destroy};

Stage *
stage_storage_new(StorageWriter *w)
{
    StorageStage *ss = xcalloc(1, sizeof(*ss));
    ss->base.ops = &storage_stage_ops;
    ss->w = w;
    return &ss->base;
}

/* ---- file descriptor ---- */

typedef struct FdStage
{
    Stage base;
    int fd;
    const char *path;
} FdStage;

static int
fd_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    FdStage *fs = (FdStage *) s;
    while (len > 0)
    {
        ssize_t n = write(fs->fd, data, len);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            return error_errno(err, "cannot write %s", fs->path);
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static const StageOps fd_ops = {"file", fd_write, finish_next, plain_destroy};

Stage *
stage_fd_new(int fd, const char *path)
{
    FdStage *fs = xcalloc(1, sizeof(*fs));
    fs->base.ops = &fd_ops;
    fs->fd = fd;
    fs->path = path;
    return &fs->base;
}

/* ---- discard ---- */

static int
discard_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    return 0;
}

static const StageOps discard_ops = {"discard", discard_write, finish_next, plain_destroy};

Stage *
stage_discard_new(void)
{
    Stage *s = xcalloc(1, sizeof(*s));
    s->ops = &discard_ops;
    return s;
}
