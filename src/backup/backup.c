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
#include "backup/cluster_backup.h"
#include "backup/filelist.h"
#include "cli/cli.h"
#include "client/dispatch.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/ratelimit.h"
#include "common/workers.h"
#include "pg/conn.h"
#include "pg/page_checksum.h"
#include "pipeline/page_verify.h"
#include "pool/manifest.h"
#include "pool/lease.h"

#define READ_BUFFER (512 * 1024)

static const char usage_text[] =
    "usage: strata backup --pool POOL --node NODE --pgdata DIR [options]\n"
    "  --pg-conn CONNINFO      the instance to back up (a standby normally); libpq defaults if absent\n"
    "  --pgdata DIR            its data directory, read directly\n"
    "  --primary-conn CONNINFO from a standby: the primary, to switch WAL segments\n"
    "                          (default: the standby's primary_conninfo)\n"
    "  --jobs N                parallel workers (default 2)\n"
    "  --compress ALGO         zstd (default), lz4 or none\n"
    "  --compress-level N      compression level (zstd default 3, lz4 1)\n"
    "  --max-rate RATE         read at most RATE bytes/s (K, M, G suffixes)\n"
    "  --nice N                raise the nice value of the reading/compressing threads by N\n"
    "                          (0-19, default 10): the databases on the host keep their CPU\n"
    "  --archive-timeout SEC   how long to wait for the backup's WAL to reach the pool (default 60)\n"
    "  --label TEXT            a label stored with the backup\n"
    "  --cluster NAME --meta-conn CONNINFO [--shard S] [--cp-timeout-ms MS]\n"
    "                          a consistent backup of a whole registered cluster (or one shard),\n"
    "                          each replica set from a standby, ending with a consistency point\n"
    "  --manager URL --token-file FILE --cluster NAME [--shard S]\n"
    "                          the cluster backup as a job of the cluster manager (--manager URL --help)\n"
    "  seed flags: -clustername C -shardname S -backuptype storage|compute -coldstoragetype file -workdir D\n"
    "  --quiet, --output json\n";

enum
{
    OPT_PGCONN = OPT_FIRST_COMMAND_OPTION,
    OPT_PGDATA,
    OPT_PRIMARY,
    OPT_JOBS,
    OPT_COMPRESS,
    OPT_LEVEL,
    OPT_MAXRATE,
    OPT_NICE,
    OPT_ARCHIVE_TIMEOUT,
    OPT_LABEL,
    OPT_CLUSTER,
    OPT_META,
    OPT_SHARD,
    OPT_CP_TIMEOUT,
};


/* Shared by the copy workers. */
typedef struct CopyContext
{
    const BackupOptions *opt;
    Pool *pool;
    Manifest *m;
    bool verify_pages;
    RateLimit rate;
    Progress progress;
    uint8_t **buffers;        /* one per worker */
    pthread_mutex_t lock;     /* page error list */
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

/* Streams `fd` (or, when fd < 0, the bytes in `blob`) into the file's pool object. */
static int
store_object(CopyContext *cx, ManifestFile *f, int fd, const Buffer *blob, uint8_t *buf, Error *err)
{
    char *key = manifest_object_path(cx->m, f);
    StorageWriter *w;
    if (storage_open_write(cx->pool->storage, key, &w, err) != 0)
    {
        free(key);
        return -1;
    }
    Stage *hash = stage_hash_new(stage_storage_new(w));
    Stage *head = stage_compress_new(cx->opt->compression, cx->opt->level, hash);
    PageErrors pe = {0};
    uint32_t segno;
    if (fd >= 0 && cx->verify_pages && page_verify_applies(f->path, &segno))
        head = stage_page_verify_new(fd, segno * PG_RELSEG_BLOCKS, cx->m->start_lsn, &pe, head);

    int rc = 0;
    uint64_t size = 0;
    if (fd < 0)
    {
        rc = stage_write(head, (const uint8_t *) blob->data, blob->len, err);
        size = blob->len;
    }
    else
    {
        for (;;)
        {
            ssize_t n = read(fd, buf, READ_BUFFER);
            if (n < 0)
            {
                if (errno == EINTR)
                    continue;
                rc = error_errno(err, "cannot read %s/%s", cx->opt->pgdata, f->path);
                break;
            }
            if (n == 0)
                break;
            if (backup_cancelled(cx->opt))
            {
                rc = error_set(err, BACKUP_CANCELLED_MSG);
                break;
            }
            ratelimit_take(&cx->rate, (uint64_t) n);
            if ((rc = stage_write(head, buf, (size_t) n, err)) != 0)
                break;
            size += (uint64_t) n;
            progress_add(&cx->progress, (uint64_t) n);
            if (cx->opt->on_progress)
                cx->opt->on_progress(cx->opt->progress_arg, atomic_load(&cx->progress.done), cx->progress.total);
        }
    }
    if (rc == 0)
        rc = stage_finish(head, err);
    if (rc == 0)
    {
        stage_hash_result(hash, f->sha256, &f->stored_size);
        /* The file may have grown or shrunk since the scan: WAL replay
         * makes it right; the manifest records what we stored. */
        f->size = size;
        rc = storage_commit(w, err);
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

static int
copy_file(void *ctx, size_t item, int worker, Error *err)
{
    CopyContext *cx = ctx;
    ManifestFile *f = &cx->m->files[item];
    if (backup_cancelled(cx->opt))
        return error_set(err, BACKUP_CANCELLED_MSG);
    char *abs = xprintf("%s/%s", cx->opt->pgdata, f->path);
    int fd = open(abs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        int rc = 0;
        if (errno == ENOENT)   /* dropped during the backup: WAL replay agrees */
            f->skipped = true;
        else
            rc = error_errno(err, "cannot open %s", abs);
        free(abs);
        return rc;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    free(abs);
    int rc = store_object(cx, f, fd, NULL, cx->buffers[worker], err);
    close(fd);
    return rc;
}

void
backup_options_defaults(BackupOptions *o)
{
    memset(o, 0, sizeof(*o));
    common_options_init(&o->co);
    o->jobs = 2;
    o->compression = COMPRESS_ZSTD;
    o->level = compression_default_level(COMPRESS_ZSTD);
    o->archive_timeout = 60;
    o->cp_timeout_ms = 2000;
    /* A backup shares its host with databases (a standby, often a primary
     * of another set): it should use the CPU they leave idle. */
    o->nice = 10;
}

static int
parse_options(int argc, char **argv, BackupOptions *o)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"pg-conn", required_argument, NULL, OPT_PGCONN},
        {"pgdata", required_argument, NULL, OPT_PGDATA},
        {"primary-conn", required_argument, NULL, OPT_PRIMARY},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"compress", required_argument, NULL, OPT_COMPRESS},
        {"compress-level", required_argument, NULL, OPT_LEVEL},
        {"max-rate", required_argument, NULL, OPT_MAXRATE},
        {"nice", required_argument, NULL, OPT_NICE},
        {"archive-timeout", required_argument, NULL, OPT_ARCHIVE_TIMEOUT},
        {"label", required_argument, NULL, OPT_LABEL},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"meta-conn", required_argument, NULL, OPT_META},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"cp-timeout-ms", required_argument, NULL, OPT_CP_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    backup_options_defaults(o);
    const char *level_arg = NULL;
    Error err;
    long v;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&o->co, c, optarg, "backup", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_PGCONN: o->pg_conn = optarg; break;
            case OPT_PGDATA: o->pgdata = optarg; break;
            case OPT_PRIMARY: o->primary_conn = optarg; break;
            case OPT_LABEL: o->label = optarg; break;
            case OPT_CLUSTER: o->cluster = optarg; break;
            case OPT_META: o->meta_conn = optarg; break;
            case OPT_SHARD: o->shard = optarg; break;
            case OPT_CP_TIMEOUT:
                if (parse_int_range(optarg, 10, 600000, &v, &err) != 0)
                    return cli_usage_error("backup", "--cp-timeout-ms: %s", err.msg);
                o->cp_timeout_ms = (int) v;
                break;
            case OPT_LEVEL: level_arg = optarg; break;
            case OPT_JOBS:
                if (parse_int_range(optarg, 1, 64, &v, &err) != 0)
                    return cli_usage_error("backup", "--jobs: %s", err.msg);
                o->jobs = (int) v;
                break;
            case OPT_COMPRESS:
                if (compression_parse(optarg, &o->compression, &err) != 0)
                    return cli_usage_error("backup", "%s", err.msg);
                break;
            case OPT_MAXRATE:
                if (parse_size(optarg, &o->max_rate, &err) != 0 || o->max_rate == 0)
                    return cli_usage_error("backup", "--max-rate: %s", o->max_rate == 0 ? "must be above 0" : err.msg);
                break;
            case OPT_NICE:
                if (parse_int_range(optarg, 0, 19, &v, &err) != 0)
                    return cli_usage_error("backup", "--nice: %s", err.msg);
                o->nice = (int) v;
                break;
            case OPT_ARCHIVE_TIMEOUT:
                if (parse_int_range(optarg, 1, 86400, &v, &err) != 0)
                    return cli_usage_error("backup", "--archive-timeout: %s", err.msg);
                o->archive_timeout = (int) v;
                break;
            default: return cli_bad_option("backup", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    o->level = compression_default_level(o->compression);
    if (level_arg)
    {
        if (parse_int_range(level_arg, 0, 22, &v, &err) != 0)
            return cli_usage_error("backup", "--compress-level: %s", err.msg);
        o->level = (int) v;
    }
    if (o->compression != COMPRESS_NONE && compression_check_level(o->compression, o->level, &err) != 0)
        return cli_usage_error("backup", "%s", err.msg);
    if (!o->co.pool)
        return cli_usage_error("backup", "--pool is required");
    if (o->cluster)
    {
        if (!o->meta_conn)
            return cli_usage_error("backup", "--cluster needs --meta-conn (the metadata primary, where the topology is)");
        if (o->pgdata || o->pg_conn)
            return cli_usage_error("backup", "--cluster backs up every replica set from its topology: "
                                             "--pgdata and --pg-conn do not apply");
        return CLI_CONTINUE;
    }
    if (o->shard || o->meta_conn)
        return cli_usage_error("backup", "--shard and --meta-conn go with --cluster");
    if (!o->pgdata)
        return cli_usage_error("backup", "--pgdata is required (the instance's data directory)");
    if (node_name_check(o->co.node, &err) != 0)
        return cli_usage_error("backup", "%s", err.msg);
    return CLI_CONTINUE;
}

/* Facts about the instance, checked before anything is started. */
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
    PGconn *primary = NULL;
    bool primary_tried = false;
    double deadline = now_seconds() + o->archive_timeout, last_switch = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;)
    {
        if (backup_cancelled(o))
        {
            rc = error_set(err, BACKUP_CANCELLED_MSG " while waiting for WAL segment %s", names[i]);
            break;
        }
        WalObject obj;
        bool found;
        if ((rc = archive_find(pool, o->co.node, names[i], &obj, &found, err)) != 0)
            break;
        if (found)
        {
            Stage *sink = stage_discard_new();
            rc = archive_fetch(pool, &obj, sink, err);
            stage_free(sink);
            wal_object_free(&obj);
            i++;
            continue;
        }
        if (now_seconds() > deadline)
        {
            rc = error_set(err,
                           "WAL segment %s (needed to make this backup consistent) did not reach pool %s node %s "
                           "within %d s: is archive_command 'strata wal-push --pool %s --node %s %%p' set on the "
                           "primary? (see strata check)",
                           names[i], pool->location, o->co.node, o->archive_timeout, pool->location, o->co.node);
            break;
        }
        /* From a standby the last segment is still being filled on the
         * primary: ask it to switch, now and then while we wait. */
        if (m->from_standby && now_seconds() - last_switch > 5)
        {
            if (!primary && !primary_tried)
            {
                primary_tried = true;
                Error perr;
                primary = pg_connect(primary_conninfo, "primary", &perr);
                if (!primary)
                    log_warn("%s; waiting for the primary to archive %s on its own", perr.msg, names[i]);
            }
            if (primary)
            {
                Error perr;
                PGresult *r = pg_exec(primary, "primary", "SELECT pg_switch_wal()", 0, NULL, &perr);
                if (!r)
                    log_warn("%s", perr.msg);
                PQclear(r);
            }
            last_switch = now_seconds();
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    PQfinish(primary);
    free(names);
    return rc;
}

static void
make_backup_id(Pool *pool, const char *node, char id[32])
{
    for (;;)
    {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(id, 32, "%Y%m%d-%H%M%SF", &tm);
        char *dir = pool_backup_dir(node, id);
        bool exists = false;
        Error err;
        int rc = storage_exists(pool->storage, dir, &exists, &err);
        free(dir);
        if (rc != 0 || !exists)
            return;
        /* One backup per second at most: wait for the next id. */
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void
print_result(const BackupOptions *o, const Manifest *m)
{
    char start[32], stop[32];
    lsn_format(m->start_lsn, start);
    lsn_format(m->stop_lsn, stop);
    if (o->co.json)
    {
        printf("{\"id\": \"%s\", \"node\": \"%s\", \"start_lsn\": \"%s\", \"stop_lsn\": \"%s\", \"timeline\": %u, "
               "\"size\": %" PRIu64 ", \"stored_size\": %" PRIu64 ", \"duration\": %.3f, \"files\": %zu, "
               "\"page_errors\": %zu}\n",
               m->id, m->node, start, stop, m->timeline, m->size, m->stored_size, m->duration, m->nfiles,
               m->npage_errors);
        return;
    }
    char sz[32], st[32];
    format_bytes(m->size, sz, sizeof(sz));
    format_bytes(m->stored_size, st, sizeof(st));
    log_info("backup %s complete: %s in the database, %s in the pool, %.1f s, LSN %s to %s on timeline %u%s", m->id, sz,
             st, m->duration, start, stop, m->timeline, m->from_standby ? ", from a standby" : "");
    printf("%s\n", m->id);
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
    int rc = inspect_instance(conn, o, &in, err);
    NodeInfo ni = {.system_identifier = in.sysid, .pg_version_num = in.version_num, .wal_segment_size = in.seg_size};
    if (rc == 0)
        rc = node_info_ensure(pool, o->co.node, &ni, err);

    char id[32];
    if (rc == 0)
    {
        make_backup_id(pool, o->co.node, id);
        m.id = xstrdup(id);
        m.node = xstrdup(o->co.node);
        m.type = xstrdup("full");
        m.label = xstrdup(o->label ? o->label : "");
        m.pg_version_num = in.version_num;
        m.system_identifier = in.sysid;
        m.data_checksums = in.checksums;
        m.from_standby = in.in_recovery;
        m.wal_segment_size = in.seg_size;
        m.compression = o->compression;
        m.compress_level = o->level;
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
    }
    double t0 = now_seconds();

    /* 1. Start. Non-exclusive: if we die, the session ends and the server
     * forgets the backup; nothing to clean up on the instance. */
    if (rc == 0)
    {
        char label[128];
        snprintf(label, sizeof(label), "strata %s", id);
        const char *params[] = {label};
        PGresult *r = pg_exec(conn, "instance", "SELECT pg_backup_start($1, true)", 1, params, err);
        if (!r)
            rc = -1;
        else
        {
            rc = lsn_parse(PQgetvalue(r, 0, 0), &m.start_lsn, err);
            PQclear(r);
            backup_running = rc == 0;
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
        log_info("backup %s of %s: %zu files, %s, %d job(s), %s", id, o->pgdata, m.nfiles, total, o->jobs,
                 compression_name(o->compression));
        cx.opt = o;
        cx.pool = pool;
        cx.m = &m;
        cx.verify_pages = in.checksums;
        pthread_mutex_init(&cx.lock, NULL);
        ratelimit_init(&cx.rate, o->max_rate);
        cx.buffers = xcalloc((size_t) o->jobs, sizeof(uint8_t *));
        for (int i = 0; i < o->jobs; i++)
            cx.buffers[i] = xmalloc(READ_BUFFER);
        progress_start(&cx.progress, "backup", total_bytes, o->co.quiet);
        rc = workers_run_niced(o->jobs, o->nice, m.nfiles, copy_file, &cx, err);
        progress_finish(&cx.progress);
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
                rc = store_object(&cx, f, -1, &label, NULL, err);
            }
            buffer_free(&label);
            PQclear(r);
        }
        m.stop_time = (int64_t) time(NULL);
        primary_conninfo = xstrdup(o->primary_conn ? o->primary_conn : in.primary_conninfo);
    }
    /* 4. WAL. */
    if (rc == 0)
        rc = wait_for_wal(pool, o, &m, primary_conninfo, err);
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
        rc = lease_check(lease, err);
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
            free(cx.buffers[i]);
        free(cx.buffers);
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
    free(primary_conninfo);
    manifest_free(&m);
    filelist_free(&fl);
    instance_free(&in);
    PQfinish(conn);
    pool_close(pool);
    return rc;
}

/* Ctrl-C or SIGTERM of a backup run here: the backup stops at its next
 * read and removes what it wrote, as a cancelled job does. A second signal
 * kills at once (the handler is reset); the lease then leaves the rest to
 * expire. */
static atomic_bool interrupted;

static void
on_interrupt(int sig)
{
    (void) sig;
    atomic_store(&interrupted, true);
}

static void
catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int
backup_local(int argc, char **argv)
{
    BackupOptions o;
    int code = parse_options(argc, argv, &o);
    if (code != CLI_CONTINUE)
        return code;
    Error err;
    o.cancel = &interrupted;
    catch_interrupts();
    if (o.cluster)
    {
        json_object *m;
        if (cluster_backup(&o, &m, &err) != 0)
        {
            cli_fail(&err);
            return atomic_load(&interrupted) ? 130 : 1;
        }
        if (o.co.json)
            printf("%s\n", json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
        else
            printf("%s\n", json_object_get_string(json_object_object_get(m, "id")));
        json_object_put(m);
        return 0;
    }
    Manifest m;
    if (backup_node(&o, &m, &err) != 0)
    {
        cli_fail(&err);
        return atomic_load(&interrupted) ? 130 : 1;
    }
    print_result(&o, &m);
    manifest_free(&m);
    return 0;
}

/* Seed-style flags and --manager are sorted out first (client/dispatch.c). */
int
cmd_backup(int argc, char **argv)
{
    return dispatch_backup(argc, argv, backup_local);
}
