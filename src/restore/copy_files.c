#include "restore/copy_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/crashpoint.h"
#include "common/progress.h"
#include "common/ratelimit.h"
#include "common/workers.h"
#include "pg/page_checksum.h"
#include "restore/restore_ranges.h"
#include "storage/commit_queue.h"

#define READ_BUFFER (512 * 1024)
#define PG_CONTROL "global/pg_control"

typedef struct RestoreContext
{
    const RestoreOptions *opt;
    Pool *pool;
    const BackupChain *chain;
    const Manifest *m;        /* the tip */
    RestoreItem *items;       /* whole files and ranges, in the order written: global/pg_control last */
    RateLimit rate;
    Progress progress;
    uint8_t **buffers;
    CommitQueue *commits;     /* while the workers run: their files' syncs */
} RestoreContext;

/* ---- a written file, made durable behind the worker ---- */

/* The commit queue's view of a restored file: its sync, close and times
 * are done on the queue's thread while the worker writes the next one
 * (a worker that synced each file itself spent most of a restore waiting
 * for the disk). */
typedef struct RestoredFile
{
    StorageWriter base;
    int fd;
    char *dest;
    bool sync;
    bool set_times;
    int64_t mtime;
} RestoredFile;

/* Closes (after an fdatasync when asked) and sets the times; frees rf. */
static int
restored_file_finish(RestoredFile *rf, Error *err)
{
    int rc = 0;
    if (rf->sync && fdatasync(rf->fd) != 0)
        rc = error_errno(err, "cannot sync %s", rf->dest);
    if (close(rf->fd) != 0 && rc == 0)
        rc = error_errno(err, "cannot write %s", rf->dest);
    if (rc == 0 && rf->set_times)
    {
        struct timeval tv[2] = {{(time_t) rf->mtime, 0}, {(time_t) rf->mtime, 0}};
        utimes(rf->dest, tv);
    }
    free(rf->dest);
    free(rf);
    return rc;
}

static int
restored_file_write(StorageWriter *w, const void *buf, size_t len, Error *err)
{
    (void) w, (void) buf, (void) len;
    return error_set(err, "a restored file is written before it is handed over");
}

static int
restored_file_commit(StorageWriter *w, Error *err)
{
    return restored_file_finish((RestoredFile *) w, err);
}

static void
restored_file_abort(StorageWriter *w)
{
    RestoredFile *rf = (RestoredFile *) w;
    close(rf->fd);
    free(rf->dest);
    free(rf);
}

static const StorageWriterOps restored_file_ops = {restored_file_write, restored_file_commit, restored_file_abort};

/* ---- a terminal stage writing 8 KiB blocks at their places ---- */

typedef struct BlockStage
{
    Stage base;
    int fd;
    const char *path;
    const ManifestFile *f;
    size_t range;             /* current range */
    uint32_t in_range;        /* blocks of it written */
    uint8_t page[PG_BLCKSZ];  /* a block split across writes */
    size_t have;
} BlockStage;

static int
block_put(BlockStage *bs, const uint8_t *page, Error *err)
{
    if (bs->range >= bs->f->nblock_ranges)
        return error_set(err, "the blocks object of %s holds more blocks than its manifest entry lists", bs->path);
    const ManifestBlockRange *br = &bs->f->blocks[bs->range];
    off_t off = (off_t) (br->start + bs->in_range) * PG_BLCKSZ;
    for (size_t done = 0; done < PG_BLCKSZ;)
    {
        ssize_t n = pwrite(bs->fd, page + done, PG_BLCKSZ - done, off + (off_t) done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_errno(err, "cannot write %s", bs->path);
        done += (size_t) n;
    }
    if (++bs->in_range == br->count)
        bs->range++, bs->in_range = 0;
    return 0;
}

static int
block_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    BlockStage *bs = (BlockStage *) s;
    while (len > 0)
    {
        if (bs->have == 0 && len >= PG_BLCKSZ)
        {
            if (block_put(bs, data, err) != 0)
                return -1;
            data += PG_BLCKSZ, len -= PG_BLCKSZ;
            continue;
        }
        size_t take = PG_BLCKSZ - bs->have < len ? PG_BLCKSZ - bs->have : len;
        memcpy(bs->page + bs->have, data, take);
        bs->have += take, data += take, len -= take;
        if (bs->have == PG_BLCKSZ)
        {
            bs->have = 0;
            if (block_put(bs, bs->page, err) != 0)
                return -1;
        }
    }
    return 0;
}

static int
block_finish(Stage *s, Error *err)
{
    BlockStage *bs = (BlockStage *) s;
    if (bs->have || bs->range != bs->f->nblock_ranges)
        return error_set(err, "the blocks object of %s ends before the blocks its manifest entry lists", bs->path);
    return 0;
}

static void
block_destroy(Stage *s)
{
    free(s);
}

static const StageOps block_ops = {"blocks", block_write, block_finish, block_destroy};

static Stage *
stage_blocks_new(int fd, const char *path, const ManifestFile *f)
{
    BlockStage *bs = xcalloc(1, sizeof(*bs));
    bs->base.ops = &block_ops;
    bs->fd = fd;
    bs->path = path;
    bs->f = f;
    return &bs->base;
}

/* ---- copying ---- */

/* Streams one data object of chain member cm into fd (whole, one range g
 * of a split file at its offset, or blocks at their places for an
 * incremental entry), through decryption, decompression and hashing, and
 * checks it against its manifest entry (a range's own, restore_ranges.h). */
static int
copy_object(RestoreContext *rx, const ChainMember *cm, const ManifestFile *whole, const ManifestRange *g, int fd,
            const char *dest, int worker, Error *err)
{
    ManifestFile view = g ? manifest_range_view(whole, g) : *whole;
    const ManifestFile *f = &view;
    char *key = g ? manifest_range_object_path(cm->m, whole, g) : manifest_object_path(cm->m, whole);
    StorageReader *r = NULL;
    bool missing;
    int rc = storage_open_read(rx->pool->storage, key, &r, &missing, err);
    if (rc == 0 && missing)
        rc = error_set(err, "data object %s is missing from pool %s", key, rx->pool->location);
    /* Whole files and ranges are written from the fd's position: a range's
     * at its offset (each worker has its own open file, its own position). */
    else if (rc == 0 && !f->reference && lseek(fd, g ? (off_t) g->offset : 0, SEEK_SET) < 0)
    {
        rc = error_errno(err, "cannot seek to offset %" PRIu64 " of %s", g ? g->offset : 0, dest);
        storage_reader_close(r);
    }
    if (rc != 0)
    {
        free(key);
        return -1;
    }
    uint64_t expect = f->reference ? manifest_file_nblocks(f) * PG_BLCKSZ : f->size;
    Stage *count = stage_count_new(f->reference ? stage_blocks_new(fd, dest, f) : stage_fd_new(fd, dest));
    Stage *head = backup_object_reader(cm->m->compression, cm->m->cipher, &cm->key, key, count);
    uint8_t *buf = rx->buffers[worker];
    size_t n;
    uint64_t read_bytes = 0;
    while ((rc = storage_read(r, buf, READ_BUFFER, &n, err)) == 0 && n > 0)
    {
        /* A data object larger than the manifest says (or one that
         * inflates past its size) is refused as it streams, not after it
         * filled the target's disk. */
        read_bytes += n;
        if (read_bytes > f->stored_size)
        {
            rc = error_set(err, "data object %s is larger than the %" PRIu64 " bytes the manifest says", key,
                           f->stored_size);
            break;
        }
        if ((rc = stage_write(head, buf, n, err)) != 0)
            break;
        if (stage_count_bytes(count) > expect)
        {
            rc = error_set(err, "data object %s holds more than the %" PRIu64 " bytes the manifest says", key, expect);
            break;
        }
        ratelimit_take(&rx->rate, n);
        progress_add(&rx->progress, (uint64_t) ((double) n * ((double) expect / (double) (f->stored_size ? f->stored_size : 1))));
        if (rx->opt->on_progress)
            rx->opt->on_progress(rx->opt->progress_arg, atomic_load(&rx->progress.done), rx->m->size);
    }
    if (rc == 0)
        rc = stage_finish(head, err);
    if (rc == 0)
    {
        char hex[65];
        uint64_t stored;
        stage_hash_result(head, hex, &stored);
        if (strcmp(hex, f->sha256) != 0 || stored != f->stored_size)
            rc = error_set(err, "data object %s is corrupt: SHA-256 %s (%" PRIu64 " bytes), the manifest says %s (%" PRIu64 " bytes)",
                           key, hex, stored, f->sha256, f->stored_size);
        else if (stage_count_bytes(count) != expect)
            rc = error_set(err, "data object %s holds %" PRIu64 " bytes, the manifest says %" PRIu64, key,
                           stage_count_bytes(count), expect);
    }
    stage_free(head);
    storage_reader_close(r);
    free(key);
    return rc;
}

/* The file whole from its base member (its ranges one after the other
 * when the base split it: the blocks go over all of them), then each later
 * member's blocks laid over it, the file cut or extended to each member's
 * size. */
static int
write_chain_file(RestoreContext *rx, const ManifestFile *f, int fd, const char *dest, int worker, Error *err)
{
    size_t base;
    if (backup_chain_base(rx->chain, f, &base, err) != 0)
        return -1;
    const BackupChain *c = rx->chain;
    const ManifestFile *b = backup_chain_file(c, base, f->path);
    int rc = b->nranges ? 0 : copy_object(rx, &c->members[base], b, NULL, fd, dest, worker, err);
    for (size_t g = 0; rc == 0 && g < b->nranges; g++)
        rc = copy_object(rx, &c->members[base], b, &b->ranges[g], fd, dest, worker, err);
    for (size_t i = base + 1; rc == 0 && i < c->count; i++)
    {
        const ManifestFile *e = i == c->count - 1 ? f : backup_chain_file(c, i, f->path);
        if (ftruncate(fd, (off_t) e->size) != 0)
            rc = error_errno(err, "cannot set the size of %s", dest);
        else
            rc = copy_object(rx, &c->members[i], e, NULL, fd, dest, worker, err);
    }
    return rc;
}

static int
restore_file(void *ctx, size_t item, int worker, Error *err)
{
    RestoreContext *rx = ctx;
    const RestoreItem *it = &rx->items[item];
    const ManifestFile *f = &rx->m->files[it->file];
    if (rx->commits && commit_queue_failed(rx->commits))
        return commit_queue_drain(rx->commits, err);   /* its error */
    char *dest = xprintf("%s/%s", rx->opt->target_dir, f->path);
    int rc = 0;
    int fd = restore_item_open(dest, f->mode, it->range, err);
    if (fd < 0)
        rc = -1;
    if (rc == 0)
        rc = f->reference ? write_chain_file(rx, f, fd, dest, worker, err)
                          : copy_object(rx, &rx->chain->members[rx->chain->count - 1], f, it->range, fd, dest, worker,
                                        err);
    if (fd >= 0)
    {
        /* Durable file by file (a restore must not make the whole host's
         * filesystem flush, syncfs, on its behalf), behind the worker. */
        RestoredFile *rf = xcalloc(1, sizeof(*rf));
        rf->base.ops = &restored_file_ops;
        rf->fd = fd;
        rf->dest = dest;
        rf->sync = f->size > 0;
        rf->set_times = !it->range;   /* a split file's: restore_ranges_finish */
        rf->mtime = f->mtime;
        if (rc != 0)
            restored_file_abort(&rf->base);
        else if (rx->commits)
            commit_queue_push(rx->commits, &rf->base, f->path);
        else
        {
            rc = restored_file_finish(rf, err);
            if (rc == 0)
                crash_point("restore-file");
        }
        return rc;
    }
    free(dest);
    return rc;
}

static int
make_dirs(const RestoreOptions *o, const Manifest *m, Error *err)
{
    for (size_t i = 0; i < m->ndirs; i++)
    {
        char *d = xprintf("%s/%s", o->target_dir, m->dirs[i].path);
        int rc = mkdir_p(d, 0700, err);
        if (rc == 0 && chmod(d, (mode_t) (m->dirs[i].mode & 07777)) != 0)
            rc = error_errno(err, "cannot set the mode of %s", d);
        free(d);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
restore_files(Pool *pool, const RestoreOptions *o, const BackupChain *chain, Error *err)
{
    const Manifest *m = chain->members[chain->count - 1].m;
    RestoreContext rx = {.opt = o, .pool = pool, .chain = chain, .m = m};
    if (make_dirs(o, m, err) != 0)
        return -1;
    ratelimit_init(&rx.rate, o->max_rate);
    rx.buffers = xcalloc((size_t) o->jobs, sizeof(uint8_t *));
    for (int i = 0; i < o->jobs; i++)
        rx.buffers[i] = xmalloc(READ_BUFFER);
    bool control;
    size_t n = restore_items_plan(m, PG_CONTROL, &rx.items, &control);
    if (control)
        n--;
    progress_start(&rx.progress, "restore", m->size, o->co.quiet);
    /* Every file is synced before the ranges are finished and, last,
     * pg_control is written. */
    rx.commits = commit_queue_new(o->jobs, 2 * (size_t) o->jobs, "restore-file");
    int rc = workers_run(o->jobs, n, restore_file, &rx, err);
    rc = commit_queue_close(rx.commits, rc, err);
    rx.commits = NULL;
    if (rc == 0)
        rc = restore_ranges_finish(o->target_dir, m, err);
    if (rc == 0 && control)
        rc = restore_file(&rx, n, 0, err);
    progress_finish(&rx.progress);
    free(rx.items);
    for (int i = 0; i < o->jobs; i++)
        free(rx.buffers[i]);
    free(rx.buffers);
    ratelimit_destroy(&rx.rate);
    /* Directories last, deepest first, so every entry is durable. */
    for (size_t i = m->ndirs; rc == 0 && i > 0; i--)
    {
        char *d = xprintf("%s/%s", o->target_dir, m->dirs[i - 1].path);
        rc = fsync_path(d, true, err);
        free(d);
    }
    if (rc == 0)
        rc = fsync_path(o->target_dir, true, err);
    return rc;
}
