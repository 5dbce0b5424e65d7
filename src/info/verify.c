/* strata verify: re-reads the pool and checks every checksum (backup data
 * objects, manifests, WAL) and the WAL continuity along the timeline
 * history from every backup (info/continuity.h). Also what makes part of
 * the pool invisible: a node without node.json, a backup that lost its
 * manifest, files in the archive that are not WAL objects. Every problem
 * is reported, one line each, naming the file; it never stops at the first.
 * In a keyed pool without its key it checks what it can (structure, the
 * stored bytes' SHA-256 and sizes, the encrypted objects' headers) and
 * says what it could not (authentication, decryption, original bytes). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/workers.h"
#include "pool/keys.h"
#include "info/continuity.h"
#include "info/node_state.h"
#include "info/verify.h"
#include "pool/lease.h"
#include "pool/manifest.h"
#include "pg/page_checksum.h"
#include <time.h>
#include <json-c/json.h>

static const char usage_text[] =
    "usage: strata verify --pool POOL [--node NODE] [--backup ID] [--jobs N] [--output json]\n";

enum { OPT_BACKUP = OPT_FIRST_COMMAND_OPTION, OPT_JOBS };

typedef struct Problems
{
    pthread_mutex_t lock;
    char **items;
    size_t count;
    atomic_size_t data_not_decrypted;   /* without the pool's key (VerifyResult) */
    atomic_size_t wal_not_checked;
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
    const ManifestRange *range;   /* one range of f when it is split (pool/manifest_ranges.c) */
    const DataKey *key;       /* an encrypted backup's, when the key is configured */
    const WalObject *w;
} Task;

typedef struct VerifyContext
{
    Pool *pool;
    Task *tasks;
    Problems *problems;
    uint64_t bytes;
} VerifyContext;


/* Without the key: the stored bytes against the manifest, and the header. */
static void
verify_encrypted_unkeyed(Pool *pool, StorageReader *r, const char *key, const Manifest *m, const ManifestFile *f,
                         Problems *pr)
{
    Stage *head = stage_hash_new(stage_discard_new());
    uint8_t *buf = xmalloc(1 << 20);
    uint8_t header[STREAM_HEADER_LEN], id[STREAM_KEY_ID_LEN];
    size_t n, have = 0;
    Error err;
    int rc;
    while ((rc = storage_read(r, buf, 1 << 20, &n, &err)) == 0 && n > 0)
    {
        if (have < sizeof(header))
        {
            size_t k = n < sizeof(header) - have ? n : sizeof(header) - have;
            memcpy(header + have, buf, k);
            have += k;
        }
        if ((rc = stage_write(head, buf, n, &err)) != 0)
            break;
    }
    if (rc == 0)
        rc = stage_finish(head, &err);
    if (rc == 0)
        rc = stream_header_parse(header, have, id, key, &err);
    if (rc != 0)
        problem(pr, "%s: %s", key, err.msg);
    else
    {
        char hex[65];
        uint64_t stored;
        stage_hash_result(head, hex, &stored);
        if (strcmp(hex, f->sha256) != 0 || stored != f->stored_size)
            problem(pr, "%s: checksum mismatch (SHA-256 %s, %" PRIu64 " bytes; manifest %s, %" PRIu64 " bytes)", key, hex,
                    stored, f->sha256, f->stored_size);
        atomic_fetch_add(&pr->data_not_decrypted, 1);
    }
    stage_free(head);
    free(buf);
}

static int
verify_data_object(Pool *pool, const Task *t, Problems *pr)
{
    const Manifest *m = t->m;
    /* A range is checked as a file of its own bytes, against its own entry. */
    ManifestFile view = t->range ? manifest_range_view(t->f, t->range) : *t->f;
    const ManifestFile *f = &view;
    char *key = t->range ? manifest_range_object_path(m, t->f, t->range) : manifest_object_path(m, f);
    StorageReader *r;
    bool missing;
    Error err;
    if (storage_open_read(pool->storage, key, &r, &missing, &err) != 0)
        problem(pr, "%s: %s", key, err.msg);
    else if (missing)
        problem(pr, "%s: missing (backup %s, file %s)", key, m->id, f->path);
    else if (m->cipher != CIPHER_NONE && !t->key)
    {
        verify_encrypted_unkeyed(pool, r, key, m, f, pr);
        storage_reader_close(r);
    }
    else
    {
        Stage *count = stage_count_new(stage_discard_new());
        Stage *head = backup_object_reader(m->compression, m->cipher, t->key, key, count);
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
            else if (stage_count_bytes(count) != (f->reference ? manifest_file_nblocks(f) * PG_BLCKSZ : f->size))
                problem(pr, "%s: holds %" PRIu64 " bytes, manifest says %" PRIu64, key, stage_count_bytes(count),
                        f->reference ? manifest_file_nblocks(f) * PG_BLCKSZ : f->size);
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
        return verify_data_object(vx->pool, t, vx->problems);
    if (vx->pool->keyed && !vx->pool->keys)
    {
        /* Neither the name's HMAC nor the content can be checked: only
         * that an encrypted object's header is well formed. */
        atomic_fetch_add(&vx->problems->wal_not_checked, 1);
        if (!t->w->encrypted)
            return 0;
        StorageReader *r;
        bool missing;
        Error e;
        uint8_t header[STREAM_HEADER_LEN], id[STREAM_KEY_ID_LEN];
        size_t n = 0, have = 0;
        int rc = storage_open_read(vx->pool->storage, t->w->key, &r, &missing, &e);
        if (rc == 0 && missing)
            rc = error_set(&e, "%s: vanished", t->w->key);
        if (rc == 0)
        {
            while (have < sizeof(header) && (rc = storage_read(r, header + have, sizeof(header) - have, &n, &e)) == 0 && n)
                have += n;
            storage_reader_close(r);
        }
        if (rc == 0)
            rc = stream_header_parse(header, have, id, t->w->key, &e);
        if (rc != 0)
            problem(vx->problems, "%s", e.msg);
        return 0;
    }
    Stage *sink = stage_discard_new();
    Error e;
    if (archive_fetch(vx->pool, t->w, sink, &e) != 0)
        problem(vx->problems, "%s", e.msg);
    stage_free(sink);
    return 0;
}

/* A node directory with backups or WAL but no node.json is invisible to
 * every command that lists nodes: a problem, not a node to skip. */
static int
report_nodes_without_info(Pool *pool, Problems *pr, Error *err)
{
    char **names;
    size_t n;
    if (pool_nodes_without_info(pool, &names, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        problem(pr, "node %s: nodes/%s/node.json is missing, but the node has backups or WAL in the pool: its identity "
                    "(system identifier, segment size) is lost and nothing of it can be checked or restored",
                names[i], names[i]);
    pool_free_names(names, n);
    return 0;
}

static bool
lease_missing(Pool *pool, const char *node, const char *id)
{
    char *dir = pool_backup_dir(node, id);
    LeaseState st = lease_state(pool->storage, dir, (int64_t) time(NULL), LEASE_INTERRUPTED_AFTER, NULL, 0);
    free(dir);
    return st == LEASE_MISSING;
}

static int
problem_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static const BackupEntry *
find_backup(const BackupList *bl, const char *id)
{
    for (size_t i = 0; i < bl->count; i++)
        if (!strcmp(bl->items[i].id, id))
            return &bl->items[i];
    return NULL;
}

static bool
has_file(const Manifest *m, const char *path)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (!strcmp(m->files[i].path, path))
            return true;
    return false;
}

/* Every incremental's parent is complete, and holds every file the
 * incremental takes blocks from: else the chain cannot be restored. */
static void
verify_chain(const BackupList *bl, const char *node, const BackupEntry *b, Problems *pr)
{
    const Manifest *m = &b->manifest;
    if (!m->parent)
        return;
    const BackupEntry *p = find_backup(bl, m->parent);
    if (!p || !p->complete)
    {
        problem(pr, "node %s: backup %s (%s) builds on backup %s, which is %s: it cannot be restored", node, b->id,
                m->type, m->parent, p ? "incomplete" : "missing");
        return;
    }
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].reference && !has_file(&p->manifest, m->files[i].path))
            problem(pr, "node %s: backup %s takes the rest of %s from backup %s, which has no such file", node, b->id,
                    m->files[i].path, m->parent);
}

/* The backups a verify of backup_id reads: it and every backup it builds on. */
static bool *
selected_backups(const BackupList *bl, const char *backup_id)
{
    bool *sel = xcalloc(bl->count ? bl->count : 1, sizeof(bool));
    for (const char *id = backup_id; id;)
    {
        const char *next = NULL;
        for (size_t i = 0; i < bl->count; i++)
            if (!strcmp(bl->items[i].id, id) && !sel[i])
            {
                sel[i] = true;
                next = bl->items[i].complete ? bl->items[i].manifest.parent : NULL;
            }
        id = next;
    }
    return sel;
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
    DataKey *keys = xcalloc(bl.count ? bl.count : 1, sizeof(DataKey));
    bool found_backup = false;
    bool *selected = backup_id ? selected_backups(&bl, backup_id) : NULL;
    for (size_t i = 0; i < bl.count; i++)
    {
        BackupEntry *b = &bl.items[i];
        if (selected && !selected[i])
            continue;
        if (selected && strcmp(b->id, backup_id) != 0)
            log_info("backup %s of node %s: checked too (backup %s builds on it)", b->id, node, backup_id);
        found_backup = true;
        if (!b->complete)
        {
            /* A crash leaves these; restore never uses them, so they are
             * not corruption, unless the operator asked for this one. A
             * sealed manifest that fails its check is corruption. */
            if (backup_id || strstr(b->problem, "corrupt") || strstr(b->problem, "field") ||
                strstr(b->problem, "forged"))
                problem(pr, "node %s: backup %s is not usable: %s", node, b->id, b->problem);
            else if (b->no_manifest && lease_missing(pool, node, b->id))
                /* The lease is the first object a backup writes and is
                 * removed only after its manifest: objects with neither
                 * are a complete backup that lost its manifest (or an
                 * expire that was interrupted removing it). */
                problem(pr, "node %s: backup %s has neither a manifest nor a lease: its manifest was deleted (or an expire was interrupted removing it; strata expire finishes that)",
                        node, b->id);
            else
                log_info("note: node %s: backup %s is incomplete (%s); restore ignores it", node, b->id, b->problem);
            continue;
        }
        verify_chain(&bl, node, b, pr);
        const DataKey *key = NULL;
        if (b->manifest.cipher != CIPHER_NONE && pool->keys)
        {
            Error kerr;
            if (backup_key_load(pool, node, b->id, &keys[i], &kerr) != 0)
            {
                problem(pr, "node %s: backup %s: %s", node, b->id, kerr.msg);
                continue;
            }
            key = &keys[i];
        }
        for (size_t k = 0; k < b->manifest.nfiles; k++)
        {
            const ManifestFile *f = &b->manifest.files[k];
            for (size_t g = 0; g < (f->nranges ? f->nranges : 1); g++)
            {
                if (ntasks == cap)
                    tasks = xrealloc(tasks, (cap *= 2) * sizeof(Task));
                tasks[ntasks++] = (Task){.m = &b->manifest, .f = f, .range = f->nranges ? &f->ranges[g] : NULL,
                                         .key = key};
            }
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
        for (size_t i = 0; i < wl.nforeign; i++)
            problem(pr, "node %s: %s is not a WAL object (its name or place is not one strata writes): it is never "
                        "read; remove it or move it out of the pool", node, wl.foreign[i]);
    }
    if (rc == 0)
        wal_continuity_check(pool, node, ni.wal_segment_size, &wl, &bl, backup_id, problem, pr);
    if (rc == 0)
    {
        VerifyContext vx = {.pool = pool, .tasks = tasks, .problems = pr};
        rc = workers_run(jobs, ntasks, verify_task, &vx, err);
        *objects += ntasks;
    }
    free(tasks);
    free(selected);
    memset(keys, 0, (bl.count ? bl.count : 1) * sizeof(DataKey));
    free(keys);
    node_state_free(&ns);
    return rc;
}

int
verify_pool(Pool *pool, const char *node, const char *backup_id, int jobs, VerifyResult *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    char **names = NULL;
    size_t count = 0;
    int rc = pool_select_nodes(pool, node, &names, &count, err);
    Problems pr = {.lock = PTHREAD_MUTEX_INITIALIZER};
    if (rc == 0 && !node)
        rc = report_nodes_without_info(pool, &pr, err);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = verify_node(pool, names[i], backup_id, jobs, &pr, &out->objects, err);
    if (pr.count)
        qsort(pr.items, pr.count, sizeof(char *), problem_cmp);
    out->problems = pr.items;
    out->nproblems = pr.count;
    out->nodes = count;
    out->data_not_decrypted = atomic_load(&pr.data_not_decrypted);
    out->wal_not_checked = atomic_load(&pr.wal_not_checked);
    pool_free_names(names, count);
    if (rc != 0)
        verify_result_free(out);
    return rc;
}

void
verify_result_free(VerifyResult *r)
{
    for (size_t i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    r->problems = NULL;
    r->nproblems = 0;
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
    pool->unauthenticated_ok = true;   /* without the key: check the rest, say what was not */
    VerifyResult vr;
    int rc = verify_pool(pool, co.node, backup_id, jobs, &vr, &err);
    if (rc == 0)
    {
        if (co.json)
        {
            json_object *o = json_object_new_object(), *a = json_object_new_array();
            for (size_t i = 0; i < vr.nproblems; i++)
                json_object_array_add(a, json_object_new_string(vr.problems[i]));
            json_object_object_add(o, "objects_checked", json_object_new_int64((int64_t) vr.objects));
            json_object_object_add(o, "problems", a);
            json_object_object_add(o, "ok", json_object_new_boolean(vr.nproblems == 0));
            json_object *u = json_object_new_object();
            json_object_object_add(u, "key_configured", json_object_new_boolean(pool->keys != NULL));
            json_object_object_add(u, "unauthenticated_metadata", json_object_new_int64((int64_t) pool->unauthenticated));
            json_object_object_add(u, "data_objects_not_decrypted", json_object_new_int64((int64_t) vr.data_not_decrypted));
            json_object_object_add(u, "wal_objects_not_checked", json_object_new_int64((int64_t) vr.wal_not_checked));
            json_object_object_add(o, "unchecked", u);
            cli_json_result(json_object_get(o));
            json_object_put(o);
        }
        else
        {
            for (size_t i = 0; i < vr.nproblems; i++)
                printf("PROBLEM %s\n", vr.problems[i]);
            printf("verify: %zu object(s) checked in %zu node(s), %zu problem(s)\n", vr.objects, vr.nodes,
                   vr.nproblems);
            if (pool->keyed && !pool->keys)
                printf("verify: NOT CHECKED without pool %s's key (--key-file / --passphrase-file): the "
                       "authentication of %lu manifest(s) and descriptor(s); the decrypted content of %zu encrypted "
                       "data object(s) (their stored bytes' SHA-256, sizes and headers were checked); the content and "
                       "authentication of %zu WAL object(s) (only encrypted headers were checked)\n",
                       pool->location, (unsigned long) pool->unauthenticated, vr.data_not_decrypted,
                       vr.wal_not_checked);
        }
    }
    bool problems = rc == 0 && vr.nproblems > 0;
    if (rc == 0)
        verify_result_free(&vr);
    pool_close(pool);
    if (rc != 0)
        return cli_fail(&err);
    return problems ? 1 : 0;
}
