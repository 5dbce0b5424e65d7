/* strata restore: a backup into an empty data directory, recovered to a
 * target from the archived WAL.
 *
 * Nothing is written until the backup and the WAL it cannot do without
 * have been checked in the pool. Every object's checksum is verified while
 * it is written; on any failure the directory is emptied again, so nothing
 * half-restored can be started by mistake. The restored instance never
 * connects to the source's primary and does not archive into the source's
 * node. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "client/dispatch.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/ratelimit.h"
#include "common/workers.h"
#include "pool/manifest.h"
#include "cluster/topology.h"
#include "restore/cluster_restore.h"
#include "restore/restore.h"

#define READ_BUFFER (512 * 1024)

static const char usage_text[] =
    "usage: strata restore --pool POOL --node NODE --target-dir DIR [options]\n"
    "  --backup ID             the backup to restore (default: the latest that can reach the target)\n"
    "  targets (one; default --latest):\n"
    "    --latest              replay all archived WAL\n"
    "    --time 'YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]'\n"
    "    --xid XID | --lsn X/Y | --name RESTORE_POINT | --immediate (end of the backup)\n"
    "  --exclusive             stop just before the target instead of just after it\n"
    "  --target-action A       promote (default), pause or shutdown\n"
    "  --jobs N                parallel workers (default 2)\n"
    "  --max-rate RATE         write at most RATE bytes/s (K, M, G suffixes)\n"
    "  --force                 empty a non-empty DIR first (never a running instance's)\n"
    "  --set NAME=VALUE        a setting for the restored instance (repeatable)\n"
    "  --port PORT             the restored instance's port\n"
    "  --archive-node NODE     let the restored instance archive into NODE (never the source's)\n"
    "  --start                 start it and wait until it reached the target\n"
    "  --start-timeout SEC     how long --start waits (default 300)\n"
    "  --pg-bin DIR            PostgreSQL binaries (default: pg_config --bindir)\n"
    "  cluster mode: --cluster NAME --to NEW --dir DIR --base-port PORT\n"
    "                [--cp NAME | --time T | --gtxid G --meta-conn SOURCE_META | --latest]\n"
    "                [--shard S [--meta-conn SOURCE_META]]: one shard alone\n"
    "  --manager URL --token-file FILE --cluster NAME --to NEW (--cp NAME | --time T | --latest)\n"
    "                          the cluster restore as a job of the cluster manager (--manager URL --help)\n"
    "  seed flags: -origclustername C -origshardname S -restoretime T -restoretype storage\n"
    "              -enable-globalconsistent [true] -metaclusterconnstr CONNINFO\n"
    "  --quiet, --output json\n";

enum
{
    OPT_TARGET_DIR = OPT_FIRST_COMMAND_OPTION,
    OPT_BACKUP,
    OPT_LATEST,
    OPT_TIME,
    OPT_XID,
    OPT_LSN,
    OPT_NAME,
    OPT_IMMEDIATE,
    OPT_EXCLUSIVE,
    OPT_ACTION,
    OPT_JOBS,
    OPT_MAXRATE,
    OPT_FORCE,
    OPT_SET,
    OPT_PORT,
    OPT_ARCHIVE_NODE,
    OPT_START,
    OPT_START_TIMEOUT,
    OPT_PGBIN,
    OPT_CLUSTER,
    OPT_TO,
    OPT_DIR,
    OPT_BASE_PORT,
    OPT_CP,
    OPT_GTXID,
    OPT_META,
    OPT_SHARD,
};


void
restore_options_defaults(RestoreOptions *o)
{
    memset(o, 0, sizeof(*o));
    common_options_init(&o->co);
    o->jobs = 2;
    o->action = "promote";
    o->start_timeout = 300;
}

static int
parse_options(int argc, char **argv, RestoreOptions *o)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"target-dir", required_argument, NULL, OPT_TARGET_DIR},
        {"backup", required_argument, NULL, OPT_BACKUP},
        {"latest", no_argument, NULL, OPT_LATEST},
        {"time", required_argument, NULL, OPT_TIME},
        {"xid", required_argument, NULL, OPT_XID},
        {"lsn", required_argument, NULL, OPT_LSN},
        {"name", required_argument, NULL, OPT_NAME},
        {"immediate", no_argument, NULL, OPT_IMMEDIATE},
        {"exclusive", no_argument, NULL, OPT_EXCLUSIVE},
        {"target-action", required_argument, NULL, OPT_ACTION},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"max-rate", required_argument, NULL, OPT_MAXRATE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"set", required_argument, NULL, OPT_SET},
        {"port", required_argument, NULL, OPT_PORT},
        {"archive-node", required_argument, NULL, OPT_ARCHIVE_NODE},
        {"start", no_argument, NULL, OPT_START},
        {"start-timeout", required_argument, NULL, OPT_START_TIMEOUT},
        {"pg-bin", required_argument, NULL, OPT_PGBIN},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"to", required_argument, NULL, OPT_TO},
        {"dir", required_argument, NULL, OPT_DIR},
        {"base-port", required_argument, NULL, OPT_BASE_PORT},
        {"cp", required_argument, NULL, OPT_CP},
        {"gtxid", required_argument, NULL, OPT_GTXID},
        {"meta-conn", required_argument, NULL, OPT_META},
        {"shard", required_argument, NULL, OPT_SHARD},
        {NULL, 0, NULL, 0},
    };
    restore_options_defaults(o);
    Error err;
    long v;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&o->co, c, optarg, "restore", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        int rc = 0;
        switch (c)
        {
            case OPT_TARGET_DIR: o->target_dir = optarg; break;
            case OPT_BACKUP: o->backup_id = optarg; break;
            case OPT_LATEST: o->ntargets++; break;
            case OPT_TIME: o->ntargets++; target_free(&o->target); rc = target_parse_time(optarg, &o->target, &err); break;
            case OPT_XID: o->ntargets++; target_free(&o->target); rc = target_parse_xid(optarg, &o->target, &err); break;
            case OPT_LSN: o->ntargets++; target_free(&o->target); rc = target_parse_lsn(optarg, &o->target, &err); break;
            case OPT_NAME: o->ntargets++; target_free(&o->target); rc = target_parse_name(optarg, &o->target, &err); break;
            case OPT_IMMEDIATE: o->ntargets++; o->target.kind = TARGET_IMMEDIATE; break;
            case OPT_EXCLUSIVE: o->exclusive = true; break;
            case OPT_ACTION:
                if (strcmp(optarg, "promote") && strcmp(optarg, "pause") && strcmp(optarg, "shutdown"))
                    rc = error_set(&err, "--target-action '%s' is not promote, pause or shutdown", optarg);
                o->action = optarg;
                break;
            case OPT_JOBS:
                rc = parse_int_range(optarg, 1, 64, &v, &err);
                if (rc)
                    error_prefix(&err, "--jobs: ");
                o->jobs = (int) v;
                break;
            case OPT_MAXRATE:
                rc = parse_size(optarg, &o->max_rate, &err);
                if (rc)
                    error_prefix(&err, "--max-rate: ");
                else if (o->max_rate == 0)
                    rc = error_set(&err, "--max-rate must be above 0");
                break;
            case OPT_FORCE: o->force = true; break;
            case OPT_SET:
                if (!strchr(optarg, '=') || optarg[0] == '=')
                    rc = error_set(&err, "--set '%s' is not NAME=VALUE", optarg);
                o->sets = xrealloc(o->sets, (o->nsets + 1) * sizeof(char *));
                o->sets[o->nsets++] = optarg;
                break;
            case OPT_PORT:
                rc = parse_int_range(optarg, 1, 65535, &v, &err);
                if (rc)
                    error_prefix(&err, "--port: ");
                o->port = (int) v;
                break;
            case OPT_ARCHIVE_NODE: o->archive_node = optarg; break;
            case OPT_START: o->start = true; break;
            case OPT_START_TIMEOUT:
                rc = parse_int_range(optarg, 1, 86400 * 7, &v, &err);
                if (rc)
                    error_prefix(&err, "--start-timeout: ");
                o->start_timeout = (int) v;
                break;
            case OPT_PGBIN: o->pg_bin = optarg; break;
            case OPT_CLUSTER: o->cluster = optarg; break;
            case OPT_TO: o->to = optarg; break;
            case OPT_DIR: o->dir = optarg; break;
            case OPT_BASE_PORT:
                rc = parse_int_range(optarg, 1024, 65000, &v, &err);
                if (rc)
                    error_prefix(&err, "--base-port: ");
                o->base_port = (int) v;
                break;
            case OPT_CP: o->ntargets++; o->cp = optarg; break;
            case OPT_GTXID: o->ntargets++; o->gtxid = optarg; break;
            case OPT_META: o->meta_conn = optarg; break;
            case OPT_SHARD: o->shard = optarg; break;
            default: return cli_bad_option("restore", argv, c);
        }
        if (rc != 0)
            return cli_usage_error("restore", "%s", err.msg);
    }
    if (optind != argc)
        return cli_usage_error("restore", "unexpected argument '%s'", argv[optind]);
    if (o->ntargets > 1)
        return cli_usage_error("restore", "give one target at most (--latest, --time, --xid, --lsn, --name, --immediate, "
                                          "--cp, --gtxid)");
    if (o->cluster)
    {
        Error e2;
        if (topology_name_check("--cluster", o->cluster, &e2) != 0)
            return cli_usage_error("restore", "%s", e2.msg);
        if (o->target.kind != TARGET_LATEST && o->target.kind != TARGET_TIME)
            return cli_usage_error("restore", "a cluster restores to a consistency point: --cp, --time, --gtxid or "
                                              "--latest (per-shard --xid/--lsn/--name targets would not be consistent)");
        if (!o->dir || !o->base_port)
            return cli_usage_error("restore", "--cluster needs --dir and --base-port for the new cluster");
        if (!o->shard && !o->to)
            return cli_usage_error("restore", "--cluster needs --to NAME, the new cluster's name");
        if (o->to && topology_name_check("--to", o->to, &e2) != 0)
            return cli_usage_error("restore", "%s", e2.msg);
        if (o->to && !strcmp(o->to, o->cluster))
            return cli_usage_error("restore", "--to must name a new cluster, not the source %s", o->cluster);
        if (!o->co.pool)
            return cli_usage_error("restore", "--pool is required");
        return CLI_CONTINUE;
    }
    if (o->cp || o->gtxid || o->to || o->dir || o->base_port || o->shard)
        return cli_usage_error("restore", "--cp, --gtxid, --to, --dir, --base-port and --shard go with --cluster");
    if (o->exclusive && (o->target.kind == TARGET_LATEST || o->target.kind == TARGET_IMMEDIATE ||
                         o->target.kind == TARGET_NAME))
        return cli_usage_error("restore", "--exclusive applies to --time, --xid and --lsn only");
    if (!o->target_dir)
        return cli_usage_error("restore", "--target-dir is required");
    if (node_name_check(o->co.node, &err) != 0)
        return cli_usage_error("restore", "%s", err.msg);
    if (o->archive_node)
    {
        if (node_name_check(o->archive_node, &err) != 0)
            return cli_usage_error("restore", "--archive-node: %s", err.msg);
        if (!strcmp(o->archive_node, o->co.node))
            return cli_usage_error("restore", "--archive-node must differ from the source node %s: the restored "
                                              "instance must not write into its source's archive", o->co.node);
    }
    if (!o->co.pool)
        return cli_usage_error("restore", "--pool is required");
    return CLI_CONTINUE;
}

/* ---- choosing the backup ---- */

static int
choose_backup(Pool *pool, const RestoreOptions *o, Manifest *out, Error *err)
{
    BackupList bl;
    if (backup_list_load(pool, o->co.node, &bl, err) != 0)
        return -1;
    const BackupEntry *chosen = NULL, *earliest = NULL;
    for (size_t i = 0; i < bl.count; i++)
    {
        const BackupEntry *b = &bl.items[i];
        if (o->backup_id)
        {
            if (!strcmp(b->id, o->backup_id))
            {
                if (!b->complete)
                {
                    int rc = error_set(err, "backup %s of node %s cannot be restored: %s", b->id, o->co.node, b->problem);
                    backup_list_free(&bl);
                    return rc;
                }
                chosen = b;
            }
            continue;
        }
        if (!b->complete)
            continue;
        if (!earliest)
            earliest = b;
        const Manifest *m = &b->manifest;
        if (o->target.kind == TARGET_TIME && (double) m->stop_time > o->target.time)
            continue;
        if (o->target.kind == TARGET_LSN && m->stop_lsn > o->target.lsn)
            continue;
        chosen = b;   /* ids sort by time: the last that fits wins */
    }
    int rc = 0;
    if (!chosen)
    {
        if (o->backup_id)
            rc = error_set(err, "no backup %s for node %s in pool %s (see strata info)", o->backup_id, o->co.node,
                           pool->location);
        else if (!earliest)
            rc = error_set(err, "node %s has no complete backup in pool %s", o->co.node, pool->location);
        else
        {
            char when[64], lsn[32];
            format_utc((time_t) earliest->manifest.stop_time, when, sizeof(when));
            lsn_format(earliest->manifest.stop_lsn, lsn);
            rc = error_set(err,
                           "target %s '%s' is outside the recoverable window of node %s: the earliest backup (%s) is "
                           "consistent from %s (LSN %s) on",
                           target_kind_name(o->target.kind), o->target.text, o->co.node, earliest->id, when, lsn);
        }
    }
    else
    {
        *out = chosen->manifest;   /* take ownership */
        ((BackupEntry *) chosen)->complete = false;
    }
    backup_list_free(&bl);
    return rc;
}

/* ---- the target directory ---- */

static bool
running_postmaster(const char *dir, long *pid)
{
    char *path = xprintf("%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return false;
    *pid = 0;
    bool alive = fscanf(f, "%ld", pid) == 1 && *pid > 0 && (kill((pid_t) *pid, 0) == 0 || errno == EPERM);
    fclose(f);
    return alive;
}

static int
prepare_target_dir(const RestoreOptions *o, Error *err)
{
    long pid;
    if (running_postmaster(o->target_dir, &pid))
        return error_set(err, "--target-dir %s belongs to a running PostgreSQL (pid %ld): stop it first; strata never "
                              "restores onto a running instance", o->target_dir, pid);
    bool empty;
    if (dir_is_empty(o->target_dir, &empty, err) != 0)
        return error_prefix(err, "--target-dir: ");
    if (!empty && !o->force)
        return error_set(err, "--target-dir %s is not empty: give an empty or new directory, or --force to replace "
                              "its contents", o->target_dir);
    if (mkdir_p(o->target_dir, 0700, err) != 0)
        return -1;
    if (chmod(o->target_dir, 0700) != 0)
        return error_errno(err, "cannot set mode 0700 on %s", o->target_dir);
    if (!empty)
    {
        log_info("--force: removing the contents of %s", o->target_dir);
        if (remove_tree_contents(o->target_dir, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- checks before writing ---- */

/* Replaying "everything archived" through a hole would stop at the hole
 * and promote, silently losing every transaction after it. For --latest
 * the archive must be whole from the backup's start on each timeline;
 * explicit targets are protected by PostgreSQL itself (recovery that ends
 * before its target is fatal) and by wal-get's gap check. */
static int
check_wal_continuity_after(Pool *pool, const Manifest *m, Error *err)
{
    WalList wl;
    if (archive_list(pool, m->node, m->wal_segment_size, &wl, err) != 0)
        return -1;
    WalGap *gaps;
    size_t n = archive_gaps(&wl, &gaps);
    uint64_t start = wal_segno(m->start_lsn, m->wal_segment_size);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        if (gaps[i].tli < m->timeline || gaps[i].last_missing < start)
            continue;
        char name[WAL_NAME_LEN + 1];
        wal_segment_name(gaps[i].tli, gaps[i].first_missing, m->wal_segment_size, name);
        rc = error_set(err, "WAL segment %s is missing from pool %s (node %s) although later ones exist: replaying "
                            "to the latest would stop there and lose everything after it. Restore to a target "
                            "before it (--lsn, --time) or repair the archive (strata verify lists the gaps)",
                       name, pool->location, m->node);
    }
    free(gaps);
    wal_list_free(&wl);
    return rc;
}

static int
check_required_wal(Pool *pool, const Manifest *m, Error *err)
{
    char(*names)[WAL_NAME_LEN + 1];
    size_t n = manifest_required_wal(m, &names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        WalObject obj;
        bool found;
        if ((rc = archive_find(pool, m->node, names[i], &obj, &found, err)) != 0)
            break;
        if (!found)
        {
            rc = error_set(err, "WAL segment %s, needed to make backup %s consistent, is missing from pool %s",
                           names[i], m->id, pool->location);
            break;
        }
        Stage *sink = stage_discard_new();
        rc = archive_fetch(pool, &obj, sink, err);
        stage_free(sink);
        wal_object_free(&obj);
    }
    free(names);
    return rc;
}

/* ---- copying ---- */

typedef struct RestoreContext
{
    const RestoreOptions *opt;
    Pool *pool;
    const Manifest *m;
    RateLimit rate;
    Progress progress;
    uint8_t **buffers;
} RestoreContext;

static int
restore_file(void *ctx, size_t item, int worker, Error *err)
{
    RestoreContext *rx = ctx;
    const ManifestFile *f = &rx->m->files[item];
    char *key = manifest_object_path(rx->m, f);
    char *dest = xprintf("%s/%s", rx->opt->target_dir, f->path);
    StorageReader *r = NULL;
    bool missing;
    int rc = storage_open_read(rx->pool->storage, key, &r, &missing, err);
    if (rc == 0 && missing)
        rc = error_set(err, "data object %s is missing from pool %s", key, rx->pool->location);
    int fd = -1;
    if (rc == 0)
    {
        fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t) (f->mode & 0777));
        if (fd < 0)
            rc = error_errno(err, "cannot create %s", dest);
    }
    if (rc == 0)
    {
        Stage *count = stage_count_new(stage_fd_new(fd, dest));
        Stage *head = stage_hash_new(stage_decompress_new(rx->m->compression, key, count));
        uint8_t *buf = rx->buffers[worker];
        size_t n;
        while ((rc = storage_read(r, buf, READ_BUFFER, &n, err)) == 0 && n > 0)
        {
            if ((rc = stage_write(head, buf, n, err)) != 0)
                break;
            ratelimit_take(&rx->rate, n);
            progress_add(&rx->progress, (uint64_t) ((double) n * ((double) f->size / (double) (f->stored_size ? f->stored_size : 1))));
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
            else if (stage_count_bytes(count) != f->size)
                rc = error_set(err, "data object %s holds %" PRIu64 " bytes, the manifest says %" PRIu64, key,
                               stage_count_bytes(count), f->size);
        }
        stage_free(head);
    }
    if (fd >= 0)
    {
        /* Durable file by file, in the worker that wrote it: a restore must
         * not make the whole host's filesystem flush (syncfs) on its behalf. */
        if (rc == 0 && f->size > 0 && fdatasync(fd) != 0)
            rc = error_errno(err, "cannot sync %s", dest);
        if (close(fd) != 0 && rc == 0)
            rc = error_errno(err, "cannot write %s", dest);
        if (rc == 0)
        {
            struct timeval tv[2] = {{(time_t) f->mtime, 0}, {(time_t) f->mtime, 0}};
            utimes(dest, tv);
        }
    }
    if (r)
        storage_reader_close(r);
    free(key);
    free(dest);
    return rc;
}

static int
restore_files(Pool *pool, const RestoreOptions *o, const Manifest *m, Error *err)
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
    RestoreContext rx = {.opt = o, .pool = pool, .m = m};
    ratelimit_init(&rx.rate, o->max_rate);
    rx.buffers = xcalloc((size_t) o->jobs, sizeof(uint8_t *));
    for (int i = 0; i < o->jobs; i++)
        rx.buffers[i] = xmalloc(READ_BUFFER);
    progress_start(&rx.progress, "restore", m->size, o->co.quiet);
    int rc = workers_run(o->jobs, m->nfiles, restore_file, &rx, err);
    progress_finish(&rx.progress);
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

/* ---- recovery settings ---- */

/* 'value' for postgresql.conf: single quotes doubled. */
static void
conf_quoted(Buffer *b, const char *value)
{
    buffer_append(b, "'", 1);
    for (const char *p = value; *p; p++)
    {
        buffer_append(b, p, 1);
        if (*p == '\'')
            buffer_append(b, "'", 1);
    }
    buffer_append(b, "'", 1);
}

/* A word for the shell that runs restore_command / archive_command. */
static char *
shell_quoted(const char *s)
{
    Buffer b = {0};
    buffer_append(&b, "'", 1);
    for (const char *p = s; *p; p++)
    {
        if (*p == '\'')
            buffer_append(&b, "'\\''", 4);
        else
            buffer_append(&b, p, 1);
    }
    buffer_append(&b, "'", 1);
    return b.data;
}

static int
write_recovery_settings(const RestoreOptions *o, const Manifest *m, const char *pool_abs, Error *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return error_errno(err, "cannot find the strata executable's path (/proc/self/exe)");
    exe[n] = '\0';
    char *qexe = shell_quoted(exe), *qpool = shell_quoted(pool_abs);

    Buffer b = {0};
    char when[64];
    format_utc(time(NULL), when, sizeof(when));
    buffer_appendf(&b, "\n# Recovery settings written by strata restore of backup %s (node %s) at %s\n", m->id, m->node,
                   when);
    char *cmd = xprintf("%s wal-get --pool %s --node %s \"%%f\" \"%%p\"", qexe, qpool, m->node);
    buffer_append(&b, "restore_command = ", 18);
    conf_quoted(&b, cmd);
    free(cmd);
    buffer_append(&b, "\n", 1);
    switch (o->target.kind)
    {
        case TARGET_LATEST: break;
        case TARGET_IMMEDIATE: buffer_appendf(&b, "recovery_target = 'immediate'\n"); break;
        case TARGET_TIME: buffer_append(&b, "recovery_target_time = ", 23); break;
        case TARGET_XID: buffer_append(&b, "recovery_target_xid = ", 22); break;
        case TARGET_LSN: buffer_append(&b, "recovery_target_lsn = ", 22); break;
        case TARGET_NAME: buffer_append(&b, "recovery_target_name = ", 23); break;
    }
    if (o->target.kind != TARGET_LATEST && o->target.kind != TARGET_IMMEDIATE)
    {
        conf_quoted(&b, o->target.text);
        buffer_append(&b, "\n", 1);
    }
    if (o->exclusive)
        buffer_appendf(&b, "recovery_target_inclusive = off\n");
    if (o->target.kind != TARGET_LATEST)
        buffer_appendf(&b, "recovery_target_action = '%s'\n", o->action);
    /* Follow timeline switches (a failover after the backup) to the newest. */
    buffer_appendf(&b, "recovery_target_timeline = 'latest'\n");
    /* Never stream from, nor hold a slot on, the source's primary. */
    buffer_appendf(&b, "primary_conninfo = ''\nprimary_slot_name = ''\n");
    if (o->archive_node)
    {
        char *push = xprintf("%s wal-push --pool %s --node %s \"%%p\"", qexe, qpool, o->archive_node);
        buffer_appendf(&b, "archive_mode = 'on'\narchive_command = ");
        conf_quoted(&b, push);
        buffer_append(&b, "\n", 1);
        free(push);
    }
    else
        buffer_appendf(&b, "archive_mode = 'off'\n");
    if (o->port)
        buffer_appendf(&b, "port = %d\n", o->port);
    for (size_t i = 0; i < o->nsets; i++)
    {
        const char *eq = strchr(o->sets[i], '=');
        buffer_appendf(&b, "%.*s = ", (int) (eq - o->sets[i]), o->sets[i]);
        conf_quoted(&b, eq + 1);
        buffer_append(&b, "\n", 1);
    }
    free(qexe);
    free(qpool);

    char *conf = xprintf("%s/postgresql.auto.conf", o->target_dir);
    Buffer existing = {0};
    struct stat st;
    int rc = 0;
    if (stat(conf, &st) == 0)
        rc = read_small_file(conf, &existing, err);
    if (rc == 0)
    {
        buffer_append(&existing, b.data, b.len);
        rc = write_file_atomic(conf, existing.data, existing.len, 0600, err);
    }
    free(conf);
    buffer_free(&existing);
    buffer_free(&b);
    if (rc != 0)
        return -1;

    /* Recovery from the archive, not standby mode (which would wait for a
     * primary forever instead of reaching the target). */
    const char *remove[] = {"standby.signal", "recovery.signal"};
    for (size_t i = 0; i < 2; i++)
    {
        char *p = xprintf("%s/%s", o->target_dir, remove[i]);
        unlink(p);
        free(p);
    }
    char *signal = xprintf("%s/recovery.signal", o->target_dir);
    rc = write_file_atomic(signal, "", 0, 0600, err);
    free(signal);
    return rc;
}

static void
print_summary(const RestoreOptions *o, const Manifest *m, double secs, const StartResult *sr)
{
    char size[32];
    format_bytes(m->size, size, sizeof(size));
    if (o->co.json)
    {
        printf("{\"backup\": \"%s\", \"node\": \"%s\", \"target_dir\": \"%s\", \"target\": \"%s\", \"target_value\": \"%s\", "
               "\"size\": %" PRIu64 ", \"duration\": %.3f",
               m->id, m->node, o->target_dir, target_kind_name(o->target.kind), o->target.text ? o->target.text : "",
               m->size, secs);
        if (sr && sr->started)
            printf(", \"started\": true, \"pid\": %ld, \"port\": %d, \"state\": \"%s\", \"reached_lsn\": \"%s\", "
                   "\"reached_time\": \"%s\", \"timeline\": %u",
                   sr->pid, sr->port, sr->state, sr->reached_lsn, sr->reached_time, sr->timeline);
        printf("}\n");
        return;
    }
    log_info("restored backup %s of node %s into %s: %s in %.1f s", m->id, m->node, o->target_dir, size, secs);
    if (sr && sr->started)
        printf("%s: %s at LSN %s, last transaction at %s, timeline %u (pid %ld, port %d)\n", o->target_dir, sr->state,
               sr->reached_lsn, sr->reached_time[0] ? sr->reached_time : "(none replayed)", sr->timeline, sr->pid,
               sr->port);
    else
        printf("%s\n", o->target_dir);
}

int
restore_node(RestoreOptions *o, Manifest *out, double *out_secs, StartResult *out_sr, Error *err)
{
    if (o->start && geteuid() == 0)
        return error_set(err, "--start: PostgreSQL refuses to run as root; run strata restore as the user that will "
                              "own the instance");
    char pool_abs[PATH_MAX];
    Pool *pool;
    if (pool_open(o->co.pool, &pool, err) != 0)
        return -1;
    if (!realpath(o->co.pool, pool_abs))
        snprintf(pool_abs, sizeof(pool_abs), "%s", o->co.pool);
    Manifest m = {0};
    int rc = choose_backup(pool, o, &m, err);
    if (rc == 0)
    {
        char start[32];
        lsn_format(m.stop_lsn, start);
        log_info("restoring backup %s (consistent at LSN %s) to target %s%s%s", m.id, start,
                 target_kind_name(o->target.kind), o->target.text ? " " : "", o->target.text ? o->target.text : "");
        rc = check_required_wal(pool, &m, err);
        if (rc == 0 && o->target.kind == TARGET_LATEST)
            rc = check_wal_continuity_after(pool, &m, err);
    }
    if (rc == 0)
        rc = prepare_target_dir(o, err);
    double t0 = now_seconds();
    bool wrote = rc == 0;
    if (rc == 0)
        rc = restore_files(pool, o, &m, err);
    if (rc == 0)
        rc = write_recovery_settings(o, &m, pool_abs, err);
    if (rc != 0 && wrote)
    {
        /* Leave nothing that looks like a data directory. */
        Error cerr;
        if (remove_tree_contents(o->target_dir, &cerr) != 0)
            log_warn("could not empty %s after the failure: %s", o->target_dir, cerr.msg);
        error_prefix(err, "restore into %s failed, the directory was emptied: ", o->target_dir);
    }
    double secs = now_seconds() - t0;
    StartResult sr = {0};
    if (rc == 0 && o->start)
    {
        StartRequest req = {.data_dir = o->target_dir, .pg_bin = o->pg_bin, .pg_version_num = m.pg_version_num,
                            .action = o->action, .timeout = o->start_timeout, .target_kind = o->target.kind};
        rc = instance_start_and_wait(&req, &sr, err);
    }
    if (rc == 0)
    {
        *out = m;
        *out_secs = secs;
        *out_sr = sr;
    }
    else
        manifest_free(&m);
    pool_close(pool);
    return rc;
}

static int
restore_local(int argc, char **argv)
{
    RestoreOptions o;
    int code = parse_options(argc, argv, &o);
    Error err;
    int rc = 0;
    if (code != CLI_CONTINUE)
        rc = code;
    else
    {
        Manifest m;
        double secs;
        StartResult sr;
        if (o.cluster)
            rc = cluster_restore(&o, &err) == 0 ? 0 : cli_fail(&err);
        else if (restore_node(&o, &m, &secs, &sr, &err) != 0)
            rc = cli_fail(&err);
        else
        {
            print_summary(&o, &m, secs, &sr);
            manifest_free(&m);
        }
    }
    target_free(&o.target);
    free(o.sets);
    return rc;
}

/* Seed-style flags and --manager are sorted out first (client/dispatch.c). */
int
cmd_restore(int argc, char **argv)
{
    return dispatch_restore(argc, argv, restore_local);
}
