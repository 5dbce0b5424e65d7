/* strata backup: online full backup of one PostgreSQL instance.
 *
 *   1. pg_backup_start on the instance (a standby normally; it never blocks
 *      the primary), kept open on one connection;
 *   2. the data directory read by parallel workers, each file streamed
 *      read -> verify pages -> compress -> hash -> pool object;
 *   3. pg_backup_stop: the stop LSN and the backup_label;
 *   4. wait until the WAL from start to stop is in the pool (from a
 *      standby, ask the primary to switch segments so it gets archived);
 *   5. the manifest, written last: only now is the backup visible. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "backup/backup.h"
#include "backup/filelist.h"
#include "backup/incremental.h"
#include "backup/wal_wait.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/ratelimit.h"
#include "common/workers.h"
#include "pool/keys.h"
#include "pg/conn.h"
#include "pg/page_checksum.h"
#include "pipeline/page_verify.h"
#include "pool/manifest.h"
#include "pool/lease.h"
#include "common/crashpoint.h"
#include "storage/commit_queue.h"

#define READ_BUFFER (512 * 1024)


/* One work item: a whole file (its object, or an incremental's blocks of
 * it), or one range of a file split into ranges (pool/manifest_ranges.c). */
typedef struct CopyItem
{
    size_t file;
    ManifestRange *range;     /* NULL: the whole file */
} CopyItem;

/* Shared by the copy workers. */
typedef struct CopyContext
{
    const BackupOptions *opt;
    Pool *pool;
    Manifest *m;
    DataKey data_key;         /* when m->cipher is set */
    bool verify_pages;
    RateLimit rate;
    Progress progress;
    uint8_t **buffers;        /* one per worker */
    Compressor **compressors; /* one per worker */
    pthread_mutex_t lock;     /* page error list */
    const IncrState *incr;    /* an incremental backup's plan, else NULL */
    atomic_uint_fast64_t bytes_read;   /* from the data directory */
    CopyItem *items;          /* the work: whole files and ranges of split files */
    CommitQueue *commits;     /* while the workers run: their objects' commits */
} CopyContext;

static void
record_page_errors(CopyContext *cx, const char *path, const PageErrors *pe)
{
    if (pe->count == 0)
        return;
    pthread_mutex_lock(&cx->lock);
    Manifest *m = cx->m;
    m->page_errors = xrealloc(m->page_errors, (m->npage_errors + pe->count) * sizeof(ManifestPageError));
    for (size_t i = 0; i < pe->count; i++)
    {
        log_warn("page checksum mismatch in %s/%s, block %u: calculated %u but the page holds %u", cx->opt->pgdata,
                 path, pe->items[i].block, pe->items[i].expected, pe->items[i].found);
        m->page_errors[m->npage_errors].path = xstrdup(path);
        m->page_errors[m->npage_errors].block = pe->items[i].block;
        m->npage_errors++;
    }
    pthread_mutex_unlock(&cx->lock);
}

/* The next bytes of a whole file, or of range g of a split one, from
 * *pos (bytes read so far). A range ends where the next begins; the last
 * one (and a whole file) reads to the end, whatever the file grew to since
 * the scan. */
static ssize_t
read_bytes(CopyContext *cx, const ManifestFile *f, const ManifestRange *g, int fd, uint8_t *buf, uint64_t *pos,
           Error *err)
{
    bool last = !g || g == &f->ranges[f->nranges - 1];
    uint64_t limit = last ? UINT64_MAX : g->size, offset = g ? g->offset : 0;
    if (*pos >= limit)
        return 0;
    size_t want = limit - *pos < READ_BUFFER ? (size_t) (limit - *pos) : READ_BUFFER;
    for (;;)
    {
        ssize_t n = pread(fd, buf, want, (off_t) (offset + *pos));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_errno(err, "cannot read %s/%s at offset %" PRIu64, cx->opt->pgdata, f->path, offset + *pos);
        *pos += (uint64_t) n;
        return n;
    }
}

/* Where read_chunk is in a file's list of changed blocks: the range, and the
 * blocks of it read so far. Kept between calls so that each chunk costs the
 * same however far into the list it is (counting the list from its start
 * for every chunk made an incremental's CPU grow with the square of the
 * ranges in a file: that loop alone took 0.05 s for a 1 GB file with a
 * tenth of its blocks changed at random, 0.4 s with 30 %, 0.6 s with 60 %). */
typedef struct BlockCursor
{
    size_t range;
    uint64_t done;
} BlockCursor;

/* Reads one chunk of the source: read_bytes (*pos: bytes read so far),
 * or (f->reference set) the next of the file's changed blocks from the
 * cursor. Returns the bytes read (0 at the end), -1 on error. A file that
 * shrank under us ends the block list there (WAL replay truncates it). */
static ssize_t
read_chunk(CopyContext *cx, ManifestFile *f, const ManifestRange *g, int fd, uint8_t *buf, uint64_t *pos,
           BlockCursor *cur, Error *err)
{
    if (!f->reference)
        return read_bytes(cx, f, g, fd, buf, pos, err);
    while (cur->range < f->nblock_ranges && cur->done >= f->blocks[cur->range].count)
    {
        cur->range++;
        cur->done = 0;
    }
    if (cur->range >= f->nblock_ranges)
        return 0;
    size_t k = cur->range;
    ManifestBlockRange *br = &f->blocks[k];
    uint64_t skip = cur->done;
    uint64_t want = br->count - skip;
    if (want > READ_BUFFER / PG_BLCKSZ)
        want = READ_BUFFER / PG_BLCKSZ;
    off_t off = (off_t) (br->start + skip) * PG_BLCKSZ;
    ssize_t n = pread(fd, buf, (size_t) want * PG_BLCKSZ, off);
    if (n < 0)
        return error_errno(err, "cannot read %s/%s at block %" PRIu64, cx->opt->pgdata, f->path,
                           (uint64_t) (br->start + skip));
    n -= n % PG_BLCKSZ;
    if ((uint64_t) n < want * PG_BLCKSZ)
    {
        /* Shrunk: keep the blocks read, drop the rest. */
        uint32_t got = (uint32_t) (skip + (uint64_t) n / PG_BLCKSZ);
        br->count = got;
        f->nblock_ranges = got ? k + 1 : k;
        f->size = (uint64_t) off + (uint64_t) n;
    }
    cur->done += (uint64_t) n / PG_BLCKSZ;
    return n;
}

/* Streams the item's source bytes from fd into head; *size: how many. */
static int
stream_item(CopyContext *cx, ManifestFile *f, const ManifestRange *g, int fd, Stage *head, uint8_t *buf,
            uint64_t *size, Error *err)
{
    uint64_t pos = 0;
    BlockCursor cur = {0};
    for (;;)
    {
        ssize_t n = read_chunk(cx, f, g, fd, buf, &pos, &cur, err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        atomic_fetch_add(&cx->bytes_read, (uint64_t) n);
        if (backup_cancelled(cx->opt))
            return error_set(err, BACKUP_CANCELLED_MSG);
        ratelimit_take(&cx->rate, (uint64_t) n);
        if (stage_write(head, buf, (size_t) n, err) != 0)
            return -1;
        *size += (uint64_t) n;
        progress_add(&cx->progress, (uint64_t) n);
        if (cx->opt->on_progress)
            cx->opt->on_progress(cx->opt->progress_arg, atomic_load(&cx->progress.done), cx->progress.total);
    }
}

/* Streams `fd` (or, when fd < 0, the bytes in `blob`) into the file's pool
 * object: the whole file, its changed blocks when f->reference is set, or,
 * for a range `g` of a split file, that range's bytes into its own. */
static int
store_object(CopyContext *cx, ManifestFile *f, ManifestRange *g, int fd, const Buffer *blob, uint8_t *buf,
             Compressor *k, Error *err)
{
    char *key = g ? manifest_range_object_path(cx->m, f, g) : manifest_object_path(cx->m, f);
    StorageWriter *w;
    if (storage_open_write(cx->pool->storage, key, &w, err) != 0)
    {
        free(key);
        return -1;
    }
    Stage *hash = stage_hash_new(stage_storage_new(w));
    Stage *sealed = cx->m->cipher != CIPHER_NONE ? stage_encrypt_new(cx->data_key.key, cx->data_key.id, key, hash) : hash;
    Stage *head = k ? stage_compress_with(k, sealed) : stage_compress_new(cx->opt->compression, cx->opt->level, sealed);
    PageErrors pe = {0};
    uint32_t segno;
    if (fd >= 0 && !f->reference && cx->verify_pages && page_verify_applies(f->path, &segno))
        head = stage_page_verify_at(fd, segno * PG_RELSEG_BLOCKS, g ? g->offset : 0, cx->m->start_lsn, &pe, head);

    int rc = 0;
    uint64_t size = 0;
    if (fd < 0)
    {
        rc = stage_write(head, (const uint8_t *) blob->data, blob->len, err);
        size = blob->len;
    }
    else
        rc = stream_item(cx, f, g, fd, head, buf, &size, err);
    if (rc == 0)
        rc = stage_finish(head, err);
    if (rc == 0)
    {
        /* The file may have grown or shrunk since the scan: WAL replay
         * makes it right; the manifest records what we stored (for an
         * incremental entry, the file's size read_chunk settled). */
        if (g)
        {
            stage_hash_result(hash, g->sha256, &g->stored_size);
            g->size = size;
        }
        else
        {
            stage_hash_result(hash, f->sha256, &f->stored_size);
            if (!f->reference)
                f->size = size;
        }
        if (cx->commits)
            commit_queue_push(cx->commits, w, key);   /* durable before the manifest: see backup_node */
        else
        {
            rc = storage_commit(w, err);
            crash_point("backup-file");
        }
    }
    else
        storage_abort(w);
    stage_free(head);
    if (rc == 0)
        record_page_errors(cx, f->path, &pe);
    else
        error_prefix(err, "backing up %s to %s: ", f->path, key);
    page_errors_free(&pe);
    free(key);
    return rc;
}

/* An incremental's file not split into ranges: read as its changed blocks
 * when the plan can tell them (incr_plan.h), at its size now. */
static void
plan_blocks(CopyContext *cx, ManifestFile *f, int fd)
{
    struct stat st;
    if (!cx->incr || f->nranges || fstat(fd, &st) != 0)
        return;
    const char *why;
    ManifestBlockRange *ranges;
    size_t n;
    if (incr_plan_file(&cx->incr->plan, f->path, (uint64_t) st.st_size, &ranges, &n, &why))
    {
        f->reference = xstrdup(cx->incr->parent.id);
        f->blocks = ranges;
        f->nblock_ranges = n;
        f->size = (uint64_t) st.st_size;
    }
}

static int
copy_item(void *ctx, size_t item, int worker, Error *err)
{
    CopyContext *cx = ctx;
    ManifestFile *f = &cx->m->files[cx->items[item].file];
    ManifestRange *g = cx->items[item].range;
    if (backup_cancelled(cx->opt))
        return error_set(err, BACKUP_CANCELLED_MSG);
    if (commit_queue_failed(cx->commits))
        return commit_queue_drain(cx->commits, err);   /* its error */
    char *abs = xprintf("%s/%s", cx->opt->pgdata, f->path);
    int fd = open(abs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        int rc = 0;
        if (errno == ENOENT && g)   /* each range says so; manifest_ranges_finish sums up */
            g->vanished = true;
        else if (errno == ENOENT)   /* dropped during the backup: WAL replay agrees */
            f->skipped = true;
        else
            rc = error_errno(err, "cannot open %s", abs);
        free(abs);
        return rc;
    }
    free(abs);
    plan_blocks(cx, f, fd);
    posix_fadvise(fd, g ? (off_t) g->offset : 0, 0, f->reference ? POSIX_FADV_RANDOM : POSIX_FADV_SEQUENTIAL);
    int rc = store_object(cx, f, g, fd, NULL, cx->buffers[worker], cx->compressors[worker], err);
    close(fd);
    return rc;
}

/* Is f, at its scanned size, one an incremental reads as changed blocks?
 * Those stay one object (docs/pool-format.md, "Incremental backups and
 * ranges"); a file the incremental copies whole is split like a full's. */
static bool
reads_blocks(const IncrState *incr, const ManifestFile *f)
{
    if (!incr)
        return false;
    const char *why;
    ManifestBlockRange *ranges;
    size_t n;
    bool blocks = incr_plan_file(&incr->plan, f->path, f->size, &ranges, &n, &why);
    free(ranges);
    return blocks;
}

static int
path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A range's object X.range-<offset>.<ext> has the key a file named
 * X.range-<offset> stored whole would have: X is not split when the data
 * directory holds a name like that beside it (`sorted`: every path). */
static bool
range_keys_taken(char **sorted, size_t n, const char *path)
{
    char *prefix = xprintf("%s.range-", path);
    size_t lo = 0, hi = n;
    while (lo < hi)
    {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sorted[mid], prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool taken = lo < n && str_starts_with(sorted[lo], prefix);
    if (taken)
        log_info("%s is stored as one object, not split into ranges: %s is a file beside it", path, sorted[lo]);
    free(prefix);
    return taken;
}

/* The work items, largest first: files above the chunk size split into
 * ranges (pool/manifest_ranges.c), so no single file keeps one worker busy
 * while the others idle. `m->files` is sorted largest first. */
static size_t
plan_copy_items(Manifest *m, uint64_t chunk_size, const IncrState *incr, CopyItem **out)
{
    char **paths = xcalloc(m->nfiles ? m->nfiles : 1, sizeof(char *));
    for (size_t i = 0; i < m->nfiles; i++)
        paths[i] = m->files[i].path;
    qsort(paths, m->nfiles, sizeof(char *), path_cmp);
    size_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++)
    {
        ManifestFile *f = &m->files[i];
        if (manifest_range_count(f->size, chunk_size) && !reads_blocks(incr, f) &&
            !range_keys_taken(paths, m->nfiles, f->path))
            manifest_ranges_plan(f, chunk_size);
        n += f->nranges ? f->nranges : 1;
    }
    free(paths);
    CopyItem *items = xcalloc(n ? n : 1, sizeof(CopyItem));
    size_t k = 0;
    for (size_t i = 0; i < m->nfiles; i++)
    {
        if (m->files[i].nranges == 0)
            items[k++] = (CopyItem){.file = i};
        for (size_t r = 0; r < m->files[i].nranges; r++)
            items[k++] = (CopyItem){.file = i, .range = &m->files[i].ranges[r]};
    }
    *out = items;
    return n;
}

typedef struct Instance
{
    int version_num;
    bool checksums;
    bool in_recovery;
    uint64_t sysid;
    uint64_t seg_size;
    char *data_directory;
    char *primary_conninfo;
} Instance;

static int
inspect_instance(PGconn *conn, const BackupOptions *o, Instance *in, Error *err)
{
    PGresult *r = pg_exec(conn, "instance",
                          "SELECT current_setting('server_version_num'), current_setting('data_checksums'), "
                          "pg_is_in_recovery(), (pg_control_system()).system_identifier, "
                          "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
                          "current_setting('data_directory'), current_setting('block_size'), "
                          "current_setting('primary_conninfo'), "
                          "(SELECT count(*) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global'))",
                          0, NULL, err);
    if (!r)
        return -1;
    in->version_num = atoi(PQgetvalue(r, 0, 0));
    in->checksums = !strcmp(PQgetvalue(r, 0, 1), "on");
    in->in_recovery = !strcmp(PQgetvalue(r, 0, 2), "t");
    in->sysid = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
    in->seg_size = strtoull(PQgetvalue(r, 0, 4), NULL, 10);
    in->data_directory = xstrdup(PQgetvalue(r, 0, 5));
    int block_size = atoi(PQgetvalue(r, 0, 6));
    in->primary_conninfo = xstrdup(PQgetvalue(r, 0, 7));
    long tablespaces = atol(PQgetvalue(r, 0, 8));
    PQclear(r);

    if (in->version_num < 150000 || in->version_num >= 160000)
        return error_set(err, "the instance runs PostgreSQL %d; this strata supports PostgreSQL 15", in->version_num);
    if (block_size != PG_BLCKSZ)
        return error_set(err, "the instance uses %d-byte blocks; strata supports %d", block_size, PG_BLCKSZ);
    if (tablespaces > 0)
        return error_set(err, "the instance has %ld tablespace(s) besides pg_default and pg_global: "
                              "tablespaces are not supported by this version of strata", tablespaces);
    char real_given[PATH_MAX], real_server[PATH_MAX];
    if (!realpath(o->pgdata, real_given))
        return error_errno(err, "--pgdata %s", o->pgdata);
    if (!realpath(in->data_directory, real_server) || strcmp(real_given, real_server) != 0)
        return error_set(err, "--pgdata %s is not the data directory of the instance reached by --pg-conn (it uses %s)",
                         o->pgdata, in->data_directory);
    return 0;
}

static void
instance_free(Instance *in)
{
    free(in->data_directory);
    free(in->primary_conninfo);
}

static int
parse_label_timeline(const char *label, uint32_t *tli, Error *err)
{
    const char *p = strstr(label, "START TIMELINE: ");
    if (!p || sscanf(p + strlen("START TIMELINE: "), "%u", tli) != 1)
        return error_set(err, "pg_backup_stop returned a backup_label without START TIMELINE");
    return 0;
}

/* Waits until every WAL segment from start to stop is in the pool, checking
 * each one's content: without them the backup cannot be made consistent. */
static int
wait_for_wal(Pool *pool, const BackupOptions *o, const Manifest *m, const char *primary_conninfo, Error *err)
{
    char(*names)[WAL_NAME_LEN + 1];
    size_t n = manifest_required_wal(m, &names);
    int rc = backup_wait_for_segments(pool, o, names, n, m->from_standby, primary_conninfo, NULL,
                                      "needed to make this backup consistent", err);
    free(names);
    return rc;
}

/* YYYYMMDD-HHMMSS and F (full), I (incr) or D (diff); one backup per
 * second at most whatever its type, so that ids sort as the backups began. */
static void
make_backup_id(Pool *pool, const char *node, char kind, char id[32])
{
    for (;;)
    {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(id, 32, "%Y%m%d-%H%M%S", &tm);
        bool exists = false;
        int rc = 0;
        for (const char *k = "FID"; *k && rc == 0 && !exists; k++)
        {
            char probe[40];
            snprintf(probe, sizeof(probe), "%s%c", id, *k);
            char *dir = pool_backup_dir(node, probe);
            Error err;
            rc = storage_exists(pool->storage, dir, &exists, &err);
            free(dir);
        }
        size_t len = strlen(id);
        id[len] = kind;
        id[len + 1] = '\0';
        if (rc != 0 || !exists)
            return;
        /* One backup per second at most: wait for the next id. */
        sleep_ms(200);
    }
}

int
backup_node(const BackupOptions *o, Manifest *out, Error *err)
{
    Pool *pool;
    if (pool_open(o->co.pool, &pool, err) != 0)
        return -1;
    PGconn *conn = pg_connect(o->pg_conn, "instance", err);
    if (!conn)
    {
        pool_close(pool);
        return -1;
    }
    Instance in = {0};
    Manifest m = {0};
    FileList fl = {0};
    CopyContext cx = {0};
    Lease *lease = NULL;
    bool backup_running = false;
    Cipher cipher = CIPHER_NONE;
    int rc = pool_write_cipher(pool, o->cipher_set, o->cipher, &cipher, err);
    if (rc == 0)
        rc = inspect_instance(conn, o, &in, err);
    NodeInfo ni = {.system_identifier = in.sysid, .pg_version_num = in.version_num, .wal_segment_size = in.seg_size};
    if (rc == 0)
        rc = node_info_ensure(pool, o->co.node, &ni, err);

    double t0 = now_seconds();
    const char *primary = o->primary_conn ? o->primary_conn : in.primary_conninfo;
    /* An incremental's parent, chosen before the start: from a standby the
     * start depends on whether the primary checkpointed since it. */
    IncrState incr = {0};
    if (rc == 0 && o->type != BACKUP_TYPE_FULL)
        rc = incr_choose_parent(pool, o, &incr, err);
    if (rc == 0 && o->type != BACKUP_TYPE_FULL && in.in_recovery)
        incr_advance_standby_start(o, &incr, conn, primary);
    /* 1. Start. Non-exclusive: if we die, the session ends and the server
     * forgets the backup; nothing to clean up on the instance. Nothing is
     * written to the pool before the lease (below). */
    if (rc == 0)
    {
        char label[128];
        snprintf(label, sizeof(label), "strata backup of node %s", o->co.node);
        const char *params[] = {label};
        PGresult *r = pg_exec(conn, "instance", "SELECT pg_backup_start($1, true)", 1, params, err);
        if (!r)
            rc = -1;
        else
        {
            rc = lsn_parse(PQgetvalue(r, 0, 0), &m.start_lsn, err);
            PQclear(r);
            log_detail("backup of node %s started at %X/%X in %.2f s", o->co.node, (unsigned) (m.start_lsn >> 32),
                       (unsigned) m.start_lsn, now_seconds() - t0);
            backup_running = rc == 0;
        }
    }
    /* An incremental: what changed since its parent, or why a full. */
    if (rc == 0 && o->type != BACKUP_TYPE_FULL)
    {
        rc = incr_prepare(pool, o, conn, m.start_lsn, in.in_recovery, primary, &incr, err);
        if (rc == 0 && !incr.active)
        {
            log_warn("taking a full backup instead of a%s %s one: %s", o->type == BACKUP_TYPE_INCR ? "n" : "",
                     backup_type_name(o->type), incr.why);
            m.incremental_fallback = xstrdup(incr.why);
        }
        if (incr.active)
            m.parent = xstrdup(incr.parent.id);
    }
    char id[32];
    if (rc == 0)
    {
        BackupType type = incr.active ? o->type : BACKUP_TYPE_FULL;
        make_backup_id(pool, o->co.node, "FID"[type], id);
        m.id = xstrdup(id);
        m.node = xstrdup(o->co.node);
        m.type = xstrdup(backup_type_name(type));
        m.label = xstrdup(o->label ? o->label : "");
        m.pg_version_num = in.version_num;
        m.system_identifier = in.sysid;
        m.data_checksums = in.checksums;
        m.from_standby = in.in_recovery;
        m.wal_segment_size = in.seg_size;
        m.compression = o->compression;
        m.compress_level = o->level;
        m.cipher = cipher;
        m.start_time = (int64_t) time(NULL);
        if (o->cluster_backup)
            m.cluster_backup = xstrdup(o->cluster_backup);
        /* The first object of the backup: from here until the manifest, a
         * killed backup is told from a running one by its lease. */
        char *dir = pool_backup_dir(o->co.node, id);
        char what[128];
        snprintf(what, sizeof(what), "backup %s of node %s", id, o->co.node);
        rc = lease_take(pool->storage, dir, what, &lease, err);
        free(dir);
        /* The backup's own data key, before any object it encrypts. */
        if (rc == 0 && cipher != CIPHER_NONE)
        {
            char *kp = backup_key_path(o->co.node, id);
            rc = data_key_create(pool, kp, &cx.data_key, err);
            free(kp);
        }
    }
    /* 2. Copy. */
    if (rc == 0)
        rc = filelist_scan(o->pgdata, &fl, err);
    if (rc == 0)
    {
        filelist_sort_by_size(&fl);
        m.files = fl.files;
        m.nfiles = fl.nfiles;
        m.dirs = fl.dirs;
        m.ndirs = fl.ndirs;
        uint64_t total_bytes = fl.total;
        memset(&fl, 0, sizeof(fl));   /* the manifest owns the lists now */
        char total[32];
        format_bytes(total_bytes, total, sizeof(total));
        log_info("backup %s of %s: %zu files, %s, %d job(s), %s%s", id, o->pgdata, m.nfiles, total, o->jobs,
                 compression_name(o->compression), cipher != CIPHER_NONE ? ", encrypted (aes-256-gcm)" : "");
        cx.opt = o;
        cx.pool = pool;
        cx.m = &m;
        cx.verify_pages = in.checksums;
        cx.incr = incr.active ? &incr : NULL;
        pthread_mutex_init(&cx.lock, NULL);
        ratelimit_init(&cx.rate, o->max_rate);
        cx.buffers = xcalloc((size_t) o->jobs, sizeof(uint8_t *));
        cx.compressors = xcalloc((size_t) o->jobs, sizeof(Compressor *));
        for (int i = 0; i < o->jobs; i++)
        {
            cx.buffers[i] = xmalloc(READ_BUFFER);
            cx.compressors[i] = compressor_new(o->compression, o->level);
        }
        size_t nitems = plan_copy_items(&m, o->chunk_size, cx.incr, &cx.items);
        if (nitems > m.nfiles)
        {
            char chunk[32];
            format_bytes(o->chunk_size, chunk, sizeof(chunk));
            log_info("files above the chunk size (%s) split into ranges: %zu work items for %zu files", chunk, nitems,
                     m.nfiles);
        }
        progress_start(&cx.progress, "backup", total_bytes, o->co.quiet);
        /* Objects are committed (made durable) behind the workers, which go
         * on reading and compressing; all are committed before the stop. */
        cx.commits = commit_queue_new(o->jobs, 2 * (size_t) o->jobs, "backup-file");
        rc = workers_run_niced(o->jobs, o->nice, nitems, copy_item, &cx, err);
        rc = commit_queue_close(cx.commits, rc, err);
        cx.commits = NULL;
        progress_finish(&cx.progress);
        log_detail("backup %s: files copied %.2f s after the start", id, now_seconds() - t0);
        for (size_t i = 0; rc == 0 && i < m.nfiles; i++)
            if (m.files[i].nranges)
                manifest_ranges_finish(&m.files[i]);
        free(cx.items);
    }
    /* 3. Stop. */
    char *primary_conninfo = NULL;
    if (rc == 0)
    {
        PGresult *r = pg_exec(conn, "instance", "SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(false)", 0, NULL,
                              err);
        backup_running = false;
        if (!r)
            rc = -1;
        else
        {
            rc = lsn_parse(PQgetvalue(r, 0, 0), &m.stop_lsn, err);
            Buffer label = {0};
            buffer_append(&label, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
            if (rc == 0)
                rc = parse_label_timeline(label.data, &m.timeline, err);
            if (rc == 0)
            {
                /* backup_label joins the backup as one more file. */
                m.files = xrealloc(m.files, (m.nfiles + 1) * sizeof(ManifestFile));
                ManifestFile *f = &m.files[m.nfiles++];
                memset(f, 0, sizeof(*f));
                f->path = xstrdup("backup_label");
                f->mode = 0600;
                f->mtime = (int64_t) time(NULL);
                rc = store_object(&cx, f, NULL, -1, &label, NULL, NULL, err);
            }
            buffer_free(&label);
            PQclear(r);
        }
        m.stop_time = (int64_t) time(NULL);
        primary_conninfo = xstrdup(primary);
    }
    /* 4. WAL. */
    if (rc == 0)
    {
        double waited = now_seconds();
        rc = wait_for_wal(pool, o, &m, primary_conninfo, err);
        log_detail("backup %s: stopped at %X/%X; its WAL reached the pool in %.2f s", m.id, (unsigned) (m.stop_lsn >> 32),
                   (unsigned) m.stop_lsn, now_seconds() - waited);
    }
    /* 5. Manifest: the backup exists from here on. */
    if (rc == 0)
    {
        for (size_t i = 0; i < m.nfiles; i++)
        {
            if (m.files[i].skipped)
                continue;
            m.size += m.files[i].size;
            m.stored_size += m.files[i].stored_size;
        }
        m.duration = now_seconds() - t0;
        m.read_bytes = atomic_load(&cx.bytes_read);
        rc = lease_check(lease, err);
        crash_point("backup-manifest");
        if (rc == 0)
            rc = manifest_save(pool, &m, err);
    }
    if (rc == 0)
    {
        if (m.npage_errors)
            log_warn("backup %s has %zu page(s) with invalid checksums (listed above and in strata info)", m.id,
                     m.npage_errors);
        *out = m;
        memset(&m, 0, sizeof(m));   /* the caller owns it now */
    }
    else if (m.id)
        error_prefix(err, "backup %s of node %s failed (nothing usable was left in the pool): ", m.id, o->co.node);

    if (backup_running)
    {
        PGresult *r = PQexec(conn, "SELECT pg_backup_stop(false)");
        PQclear(r);
    }
    if (cx.buffers)
    {
        for (int i = 0; i < o->jobs; i++)
        {
            free(cx.buffers[i]);
            compressor_free(cx.compressors[i]);
        }
        free(cx.buffers);
        free(cx.compressors);
        ratelimit_destroy(&cx.rate);
        pthread_mutex_destroy(&cx.lock);
    }
    /* A failed backup's objects are removed; if we cannot, they stay
     * invisible (no manifest) and, the lease no longer renewed, expire
     * removes them later. */
    lease_release(lease, rc == 0);
    if (rc != 0 && m.id)
    {
        char *dir = pool_backup_dir(o->co.node, m.id);
        Error rerr;
        if (storage_remove_tree(pool->storage, dir, &rerr) != 0)
            log_warn("%s", rerr.msg);
        free(dir);
    }
    memset(&cx.data_key, 0, sizeof(cx.data_key));
    incr_state_free(&incr);
    free(primary_conninfo);
    manifest_free(&m);
    filelist_free(&fl);
    instance_free(&in);
    PQfinish(conn);
    pool_close(pool);
    return rc;
}
