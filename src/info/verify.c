/* strata verify: re-reads the pool and checks every checksum (backup data
 * objects, manifests, WAL) and the WAL continuity. Every problem is
 * reported, one line each, naming the file; it never stops at the first. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/workers.h"
#include "info/continuity.h"
#include "info/node_state.h"
#include "pool/manifest.h"
#include <json-c/json.h>

static const char usage_text[] =
    "usage: strata verify --pool POOL [--node NODE] [--backup ID] [--jobs N] [--output json]\n";

enum { OPT_BACKUP = OPT_FIRST_COMMAND_OPTION, OPT_JOBS };

typedef struct Problems
{
    pthread_mutex_t lock;
    char **items;
    size_t count;
} Problems;

static void
problem(void *ctx, const char *fmt, ...)
{
    Problems *p = ctx;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    pthread_mutex_lock(&p->lock);
    p->items = xrealloc(p->items, (p->count + 1) * sizeof(char *));
    p->items[p->count++] = msg;
    pthread_mutex_unlock(&p->lock);
}

/* One object to read back: a backup's data file or a WAL file. */
typedef struct Task
{
    const Manifest *m;
    const ManifestFile *f;
    const WalObject *w;
} Task;

typedef struct VerifyContext
{
    Pool *pool;
    Task *tasks;
    Problems *problems;
    uint64_t bytes;
} VerifyContext;

static int
verify_data_object(Pool *pool, const Manifest *m, const ManifestFile *f, Problems *pr)
{
    char *key = manifest_object_path(m, f);
    StorageReader *r;
    bool missing;
    Error err;
    if (storage_open_read(pool->storage, key, &r, &missing, &err) != 0)
        problem(pr, "%s: %s", key, err.msg);
    else if (missing)
        problem(pr, "%s: missing (backup %s, file %s)", key, m->id, f->path);
    else
    {
        Stage *count = stage_count_new(stage_discard_new());
        Stage *head = stage_hash_new(stage_decompress_new(m->compression, key, count));
        uint8_t *buf = xmalloc(1 << 20);
        size_t n;
        int rc;
        while ((rc = storage_read(r, buf, 1 << 20, &n, &err)) == 0 && n > 0)
            if ((rc = stage_write(head, buf, n, &err)) != 0)
                break;
        if (rc == 0)
            rc = stage_finish(head, &err);
        if (rc != 0)
            problem(pr, "%s: %s", key, err.msg);
        else
        {
            char hex[65];
            uint64_t stored;
            stage_hash_result(head, hex, &stored);
            if (strcmp(hex, f->sha256) != 0)
                problem(pr, "%s: checksum mismatch (SHA-256 %s, manifest %s)", key, hex, f->sha256);
            else if (stage_count_bytes(count) != f->size)
                problem(pr, "%s: holds %" PRIu64 " bytes, manifest says %" PRIu64, key, stage_count_bytes(count),
                        f->size);
        }
        stage_free(head);
        free(buf);
        storage_reader_close(r);
    }
    free(key);
    return 0;
}

static int
verify_task(void *ctx, size_t item, int worker, Error *err)
{
    VerifyContext *vx = ctx;
    Task *t = &vx->tasks[item];
    if (t->f)
        return verify_data_object(vx->pool, t->m, t->f, vx->problems);
    Stage *sink = stage_discard_new();
    Error e;
    if (archive_fetch(vx->pool, t->w, sink, &e) != 0)
        problem(vx->problems, "%s", e.msg);
    stage_free(sink);
    return 0;
}

static int
problem_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
verify_node(Pool *pool, const char *node, const char *backup_id, int jobs, Problems *pr, size_t *objects, Error *err)
{
    NodeState ns;
    if (node_state_load(pool, node, &ns, err) != 0)
        return -1;
    BackupList bl = ns.backups;
    WalList wl = ns.wal;
    NodeInfo ni = ns.info;
    size_t ntasks = 0, cap = 64;
    Task *tasks = xcalloc(cap, sizeof(Task));
    bool found_backup = false;
    for (size_t i = 0; i < bl.count; i++)
    {
        BackupEntry *b = &bl.items[i];
        if (backup_id && strcmp(b->id, backup_id) != 0)
            continue;
        found_backup = true;
        if (!b->complete)
        {
            /* A crash leaves these; restore never uses them, so they are
             * not corruption, unless the operator asked for this one. A
             * sealed manifest that fails its check is corruption. */
            if (backup_id || strstr(b->problem, "corrupt") || strstr(b->problem, "field"))
                problem(pr, "node %s: backup %s is not usable: %s", node, b->id, b->problem);
            else
                log_info("note: node %s: backup %s is incomplete (%s); restore ignores it", node, b->id, b->problem);
            continue;
        }
        for (size_t k = 0; k < b->manifest.nfiles; k++)
        {
            if (ntasks == cap)
                tasks = xrealloc(tasks, (cap *= 2) * sizeof(Task));
            tasks[ntasks++] = (Task){.m = &b->manifest, .f = &b->manifest.files[k]};
        }
    }
    int rc = 0;
    if (backup_id && !found_backup)
        rc = error_set(err, "no backup %s for node %s in pool %s", backup_id, node, pool->location);
    if (rc == 0 && !backup_id)
    {
        for (size_t i = 0; i < wl.count; i++)
        {
            if (ntasks == cap)
                tasks = xrealloc(tasks, (cap *= 2) * sizeof(Task));
            tasks[ntasks++] = (Task){.w = &wl.items[i]};
        }
        wal_continuity_check(node, ni.wal_segment_size, &wl, &bl, problem, pr);
    }
    if (rc == 0)
    {
        VerifyContext vx = {.pool = pool, .tasks = tasks, .problems = pr};
        rc = workers_run(jobs, ntasks, verify_task, &vx, err);
        *objects += ntasks;
    }
    free(tasks);
    node_state_free(&ns);
    return rc;
}

int
cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"backup", required_argument, NULL, OPT_BACKUP},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {NULL, 0, NULL, 0},
    };
    CommonOptions co;
    common_options_init(&co);
    co.node = NULL;
    const char *backup_id = NULL;
    int jobs = 2, c, code;
    long v;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "verify", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_BACKUP: backup_id = optarg; break;
            case OPT_JOBS:
                if (parse_int_range(optarg, 1, 64, &v, &err) != 0)
                    return cli_usage_error("verify", "--jobs: %s", err.msg);
                jobs = (int) v;
                break;
            default: return cli_bad_option("verify", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
    if (backup_id && !co.node)
        return cli_usage_error("verify", "--backup needs --node");
    if (co.node && node_name_check(co.node, &err) != 0)
        return cli_usage_error("verify", "%s", err.msg);
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    char **names = NULL;
    size_t count = 0, objects = 0;
    int rc = 0;
    rc = pool_select_nodes(pool, co.node, &names, &count, &err);
    Problems pr = {.lock = PTHREAD_MUTEX_INITIALIZER};
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = verify_node(pool, names[i], backup_id, jobs, &pr, &objects, &err);
    if (pr.count)
        qsort(pr.items, pr.count, sizeof(char *), problem_cmp);
    if (rc == 0)
    {
        if (co.json)
        {
            json_object *o = json_object_new_object(), *a = json_object_new_array();
            for (size_t i = 0; i < pr.count; i++)
                json_object_array_add(a, json_object_new_string(pr.items[i]));
            json_object_object_add(o, "objects_checked", json_object_new_int64((int64_t) objects));
            json_object_object_add(o, "problems", a);
            json_object_object_add(o, "ok", json_object_new_boolean(pr.count == 0));
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(o);
        }
        else
        {
            for (size_t i = 0; i < pr.count; i++)
                printf("PROBLEM %s\n", pr.items[i]);
            printf("verify: %zu object(s) checked in %zu node(s), %zu problem(s)\n", objects, count, pr.count);
        }
    }
    for (size_t i = 0; i < pr.count; i++)
        free(pr.items[i]);
    free(pr.items);
    pool_free_names(names, count);
    pool_close(pool);
    if (rc != 0)
        return cli_fail(&err);
    return pr.count ? 1 : 0;
}
