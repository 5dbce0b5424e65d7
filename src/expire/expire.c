/* strata expire: retention (docs/cli.md, "expire").
 *
 * Order matters for crash safety: a backup's manifest (the object that
 * makes it visible and usable) is removed first, then its objects; a crash
 * in between leaves objects without a manifest, which every reader already
 * treats as an interrupted backup and never restores.
 *
 * Interrupted backups (no manifest, and a lease missing or not renewed for
 * --interrupted-after; pool/lease.h) are removed: the lease first, so that
 * an owner that only stalled finds it gone and fails instead of completing
 * over removed objects, then the objects. So are the node backups of an
 * interrupted cluster backup, complete as they may be: nothing restorable
 * references them, and each would pin its node's WAL for good.
 *
 * WAL: every kept backup needs the WAL from its start LSN on, on its
 * timeline and on the timelines that follow it; all of that lies at or
 * after its start LSN. So on a node, segments whose number is below the
 * oldest kept backup's start segment are needed by no kept backup, on any
 * timeline, and go. History files are tiny and stay. */
#include "expire/expire.h"
#include "expire/expire_ctx.h"
#include "expire/retention.h"

#include "common/crashpoint.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "catalog/catalog.h"
#include "catalog/history.h"
#include "common/json_member.h"
#include "common/log.h"
#include "pool/keys.h"
#include "common/util.h"
#include "pool/lease.h"
#include "pool/manifest.h"
#include "wal/index_pool.h"

void
expire_note(Ctx *cx, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_array_add(cx->notes, json_object_new_string(msg));
}

void
expire_gone_add(Ctx *cx, const char *node, const char *id)
{
    cx->gone = xrealloc(cx->gone, (cx->ngone + 1) * sizeof(Gone));
    cx->gone[cx->ngone].node = xstrdup(node);
    cx->gone[cx->ngone].id = xstrdup(id);
    cx->ngone++;
}

bool
expire_is_gone(const Ctx *cx, const char *node, const char *id)
{
    for (size_t i = 0; i < cx->ngone; i++)
        if (!strcmp(cx->gone[i].node, node) && !strcmp(cx->gone[i].id, id))
            return true;
    return false;
}

/* Removes one node backup: manifest first, then its objects. */
int
expire_remove_node_backup(Ctx *cx, const char *node, const char *id, Error *err)
{
    if (cx->o->dry_run)
        return 0;
    crash_point("expire-backup");
    return backup_remove(cx->pool, node, id, err);
}

void
expire_catalog_mark_expired(Ctx *cx, const char *cluster, const char *id)
{
    if (!cx->meta || cx->o->dry_run)
        return;
    Error err;
    if (catalog_backup_mark_expired(cx->meta, cluster, id, &err) != 0)
        expire_note(cx, "catalog: backup %s of %s: %s", id, cluster, err.msg);
}

/* Is the backup (or cluster backup) in `dir` interrupted? `state` gets why. */
bool
expire_interrupted(Ctx *cx, const char *dir, char *state, size_t slen)
{
    return lease_interrupted(lease_state(cx->pool->storage, dir, (int64_t) time(NULL), cx->interrupted_after, state,
                                         slen));
}

/* Removes an interrupted backup's directory `dir`: the lease first
 * (pool/lease.h), then the rest. `node` NULL: a cluster backup. */
int
expire_remove_interrupted(Ctx *cx, const char *node, const char *id, const char *dir, const char *state, Error *err)
{
    int rc = 0;
    if (!cx->o->dry_run)
    {
        char *lease = xprintf("%s/%s", dir, LEASE_NAME);
        rc = storage_remove(cx->pool->storage, lease, err);
        free(lease);
        if (rc == 0)
            rc = storage_remove_tree(cx->pool->storage, dir, err);
        if (rc != 0)
            error_prefix(err, "removing interrupted %s %s%s%s: ", node ? "backup" : "cluster backup", id,
                         node ? " of node " : "", node ? node : "");
    }
    if (rc != 0)
        return -1;
    json_object *o = json_object_new_object();
    json_object_object_add(o, node ? "node" : "cluster", json_object_new_string(node ? node : cx->o->cluster));
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "why", json_object_new_string(state));
    json_object_array_add(cx->removed_interrupted, o);
    return 0;
}

/* Removes the WAL of `node` that no kept backup needs. */
int
expire_node_wal(Ctx *cx, const char *node, Error *err)
{
    /* What killed writers (a wal-push, a backup) left under the node: as
     * old as an interrupted backup's lease, nobody is writing it. */
    if (!cx->o->dry_run)
    {
        char *dir = xprintf("nodes/%s", node);
        size_t n;
        int rc = storage_remove_stale_writes(cx->pool->storage, dir, cx->interrupted_after, &n, err);
        free(dir);
        if (rc != 0)
            return error_prefix(err, "removing unfinished writes of node %s: ", node);
        if (n)
            expire_note(cx, "node %s: removed %zu unfinished write(s) of killed processes", node, n);
    }
    NodeInfo ni;
    bool exists;
    if (node_info_read(cx->pool, node, &ni, &exists, err) != 0)
        return -1;
    if (!exists || !ni.wal_segment_size)
        return 0;
    BackupList bl;
    if (backup_list_load(cx->pool, node, &bl, err) != 0)
        return -1;
    const Manifest *oldest = NULL;
    for (size_t i = 0; i < bl.count; i++)
    {
        const BackupEntry *b = &bl.items[i];
        if (b->complete && !expire_is_gone(cx, node, b->id) && (!oldest || b->manifest.start_lsn < oldest->start_lsn))
            oldest = &b->manifest;
    }
    /* An interrupted backup goes. One in progress (or with a damaged
     * manifest) stays; if it started before the oldest kept backup it may
     * need older WAL, so then the WAL stays too. */
    const char *blocker = NULL;
    int rc = 0;
    for (size_t i = 0; i < bl.count && rc == 0; i++)
    {
        const BackupEntry *b = &bl.items[i];
        if (b->complete)
            continue;
        char state[ERROR_MSG_MAX];
        if (b->no_manifest)
        {
            char *dir = pool_backup_dir(node, b->id);
            bool dead = expire_interrupted(cx, dir, state, sizeof(state));
            if (dead)
                rc = expire_remove_interrupted(cx, node, b->id, dir, state, err);
            free(dir);
            if (dead)
                continue;
        }
        else
            snprintf(state, sizeof(state), "%s", b->problem ? b->problem : "");
        json_object *inc = json_object_new_object();
        json_object_object_add(inc, "node", json_object_new_string(node));
        json_object_object_add(inc, "id", json_object_new_string(b->id));
        json_object_object_add(inc, "problem", json_object_new_string(state));
        json_object_array_add(cx->incomplete, inc);
        if (oldest && strcmp(b->id, oldest->id) < 0 && !blocker)
            blocker = b->id;
    }
    if (rc != 0)
    {
        backup_list_free(&bl);
        return -1;
    }
    if (!oldest)
        expire_note(cx, "node %s: no complete backup is kept, its WAL is left alone", node);
    else if (blocker)
        expire_note(cx, "node %s: WAL left alone: incomplete backup %s (in progress, or with a damaged manifest) is older "
                 "than the oldest kept backup %s and may need it", node, blocker, oldest->id);
    if (!oldest || blocker)
    {
        backup_list_free(&bl);
        return 0;
    }
    uint64_t keep_from = wal_segno(oldest->start_lsn, ni.wal_segment_size);
    char keep_name[WAL_NAME_LEN + 1];
    wal_segment_name(oldest->timeline, keep_from, ni.wal_segment_size, keep_name);
    char *oldest_id = xstrdup(oldest->id);
    backup_list_free(&bl);

    WalList wl;
    if (archive_list(cx->pool, node, ni.wal_segment_size, &wl, err) != 0)
    {
        free(oldest_id);
        return -1;
    }
    size_t count = 0;
    uint64_t bytes = 0;
    const char *first = NULL, *last = NULL;
    for (size_t i = 0; i < wl.count && rc == 0; i++)
    {
        const WalObject *w = &wl.items[i];
        if (!w->is_segment || w->segno >= keep_from)
            continue;
        crash_point("expire-wal");
        if (!cx->o->dry_run && storage_remove(cx->pool->storage, w->key, err) != 0)
        {
            rc = error_prefix(err, "removing WAL segment %s of node %s: ", w->name, node);
            break;
        }
        if (!cx->o->dry_run)
            wal_index_remove(cx->pool, node, w, ni.wal_segment_size);   /* derived data: a failure is only logged */
        if (!first)
            first = w->name;
        last = w->name;
        count++;
        bytes += w->stored_size;
    }
    if (count > 0)
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(node));
        json_object_object_add(o, "segments", json_object_new_int64((int64_t) count));
        json_object_object_add(o, "first", json_object_new_string(first));
        json_object_object_add(o, "last", json_object_new_string(last));
        json_object_object_add(o, "stored_bytes", json_object_new_int64((int64_t) bytes));
        json_object_object_add(o, "kept_from", json_object_new_string(keep_name));
        json_object_object_add(o, "oldest_kept_backup", json_object_new_string(oldest_id));
        json_object_array_add(cx->removed_wal, o);
    }
    wal_list_free(&wl);
    free(oldest_id);
    /* Directories the removal emptied (one per 4 GiB of WAL). */
    if (rc == 0 && count > 0 && !cx->o->dry_run)
    {
        char *waldir = pool_wal_dir(node);
        StorageList l;
        if (storage_list(cx->pool->storage, waldir, &l, err) == 0)
        {
            for (size_t i = 0; i < l.count; i++)
            {
                if (!l.entries[i].is_dir || !strcmp(l.entries[i].name, "history"))
                    continue;
                char *sub = xprintf("%s/%s", waldir, l.entries[i].name);
                StorageList sl;
                Error e2;
                if (storage_list(cx->pool->storage, sub, &sl, &e2) == 0)
                {
                    if (sl.count == 0 && storage_remove_tree(cx->pool->storage, sub, &e2) != 0)
                        expire_note(cx, "%s", e2.msg);
                    storage_list_free(&sl);
                }
                free(sub);
            }
            storage_list_free(&l);
        }
        else
            expire_note(cx, "%s", err->msg);
        free(waldir);
    }
    return rc;
}

/* ---- single-node mode ---- */

/* Node backups of `node` that some cluster backup in the pool references:
 * removing one would leave a cluster backup that looks usable and is not. */
static int
cluster_references(Ctx *cx, const char *node, json_object *refs, Error *err)
{
    StorageList l;
    if (storage_list(cx->pool->storage, "clusters", &l, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        if (!l.entries[i].is_dir)
            continue;
        json_object **all;
        size_t n;
        rc = cluster_backups_list(cx->pool, l.entries[i].name, &all, &n, err);
        for (size_t k = 0; rc == 0 && k < n; k++)
        {
            json_object *nodes;
            if (json_object_object_get_ex(all[k], "nodes", &nodes))
                for (size_t j = 0; j < json_object_array_length(nodes); j++)
                {
                    json_object *nj = json_object_array_get_idx(nodes, j);
                    const char *pn = json_member_string(nj, "pool_node"), *b = json_member_string(nj, "backup");
                    if (pn && b && !strcmp(pn, node))
                        json_object_object_add(refs, b, json_object_new_string(json_member_string(all[k], "id")));
                }
        }
        for (size_t k = 0; rc == 0 && k < n; k++)
            json_object_put(all[k]);
        if (rc == 0)
            free(all);
    }
    storage_list_free(&l);
    return rc;
}

/* The backups kept ones build on are kept too (retention_keep_parents);
 * each one so kept is said. */
static void
keep_parents(Ctx *cx, const char *node, const BackupList *bl, const size_t *idx, size_t nc, bool *keep)
{
    long *parent = xcalloc(nc ? nc : 1, sizeof(long));
    bool *before = xcalloc(nc ? nc : 1, sizeof(bool));
    for (size_t c = 0; c < nc; c++)
    {
        parent[c] = -1;
        before[c] = keep[c];
        const char *pid = bl->items[idx[c]].manifest.parent;
        for (size_t k = 0; pid && k < c; k++)
            if (!strcmp(bl->items[idx[k]].id, pid))
                parent[c] = (long) k;
    }
    if (retention_keep_parents(parent, nc, keep) > 0)
        for (size_t c = 0; c < nc; c++)
            if (keep[c] && !before[c])
                expire_note(cx, "backup %s of node %s: kept, a kept incremental builds on it", bl->items[idx[c]].id, node);
    free(parent);
    free(before);
}

static int
expire_single_node(Ctx *cx, Error *err)
{
    const char *node = cx->o->node;
    NodeInfo ni;
    bool exists;
    if (node_info_read(cx->pool, node, &ni, &exists, err) != 0)
        return -1;
    if (!exists)
        return error_set(err, "pool %s has no node %s", cx->pool->location, node);
    json_object *refs = json_object_new_object();
    BackupList bl;
    if (cluster_references(cx, node, refs, err) != 0 || backup_list_load(cx->pool, node, &bl, err) != 0)
    {
        json_object_put(refs);
        return -1;
    }
    size_t nc = 0;
    size_t *idx = xcalloc(bl.count ? bl.count : 1, sizeof(size_t));
    int64_t *started = xcalloc(bl.count ? bl.count : 1, sizeof(int64_t));
    bool *keep = xcalloc(bl.count ? bl.count : 1, sizeof(bool));
    for (size_t i = 0; i < bl.count; i++)
        if (bl.items[i].complete)
        {
            idx[nc] = i;
            started[nc++] = bl.items[i].manifest.start_time;
        }
    retention_choose_kept(started, nc, cx->o->keep, cx->o->keep_days, (int64_t) time(NULL), keep);
    keep_parents(cx, node, &bl, idx, nc, keep);
    int rc = 0;
    for (size_t c = 0; c < nc && rc == 0; c++)
    {
        const char *id = bl.items[idx[c]].id;
        json_object *user;
        if (!keep[c] && json_object_object_get_ex(refs, id, &user))
        {
            expire_note(cx, "backup %s of node %s is part of cluster backup %s: kept (expire it with --cluster)", id, node,
                 json_object_get_string(user));
            keep[c] = true;
        }
        if (keep[c])
        {
            json_object_array_add(cx->kept, json_object_new_string(id));
            continue;
        }
        rc = expire_remove_node_backup(cx, node, id, err);
        if (rc == 0)
        {
            expire_gone_add(cx, node, id);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_string(id));
            json_object_object_add(o, "started_epoch", json_object_new_int64(started[c]));
            json_object_array_add(cx->removed_backups, o);
        }
    }
    if (nc == 0)
        expire_note(cx, "node %s has no complete backup: nothing to expire", node);
    backup_list_free(&bl);
    free(idx);
    free(started);
    free(keep);
    json_object_put(refs);
    if (rc == 0)
        rc = expire_node_wal(cx, node, err);
    return rc;
}

static int
options_check(const ExpireOptions *o, Error *err)
{
    if ((o->cluster != NULL) == (o->node != NULL))
        return error_set(err, "give --cluster C (cluster backups) or --node N (one node's backups), one of them");
    if (o->shard && !o->cluster)
        return error_set(err, "--shard needs --cluster");
    if ((o->keep > 0) == (o->keep_days > 0))
        return error_set(err, "give the retention: --keep N or --keep-days D, one of them");
    if (o->node && node_name_check(o->node, err) != 0)
        return -1;
    return 0;
}

int
expire_run(const ExpireOptions *o, json_object **report, Error *err)
{
    *report = NULL;
    if (!o->pool)
        return error_set(err, "no pool given (use --pool or STRATA_POOL)");
    if (options_check(o, err) != 0)
        return -1;
    Pool *pool;
    if (pool_open(o->pool, &pool, err) != 0)
        return -1;
    int rc = expire_run_pool(pool, o, report, err);
    pool_close(pool);
    return rc;
}

int
expire_run_pool(Pool *pool, const ExpireOptions *o, json_object **report, Error *err)
{
    *report = NULL;
    if (options_check(o, err) != 0)
        return -1;
    if (pool_require_key(pool, "expire", err) != 0)
        return -1;
    Ctx cx = {.o = o, .pool = pool};
    cx.report = json_object_new_object();
    json_object_object_add(cx.report, "pool", json_object_new_string(pool->location));
    if (o->cluster)
        json_object_object_add(cx.report, "cluster", json_object_new_string(o->cluster));
    if (o->shard)
        json_object_object_add(cx.report, "shard", json_object_new_string(o->shard));
    if (o->node)
        json_object_object_add(cx.report, "node", json_object_new_string(o->node));
    json_object_object_add(cx.report, "dry_run", json_object_new_boolean(o->dry_run));
    json_object *ret = json_object_new_object();
    if (o->keep > 0)
        json_object_object_add(ret, "keep", json_object_new_int(o->keep));
    else
        json_object_object_add(ret, "keep_days", json_object_new_int(o->keep_days));
    json_object_object_add(cx.report, "retention", ret);
    json_object_object_add(cx.report, "kept", cx.kept = json_object_new_array());
    json_object_object_add(cx.report, "removed_backups", cx.removed_backups = json_object_new_array());
    json_object_object_add(cx.report, "removed_wal", cx.removed_wal = json_object_new_array());
    json_object_object_add(cx.report, "removed_cps", cx.removed_cps = json_object_new_array());
    json_object_object_add(cx.report, "incomplete", cx.incomplete = json_object_new_array());
    json_object_object_add(cx.report, "removed_interrupted", cx.removed_interrupted = json_object_new_array());
    cx.interrupted_after = o->interrupted_after > 0 ? o->interrupted_after : LEASE_INTERRUPTED_AFTER;
    json_object_object_add(cx.report, "interrupted_after", json_object_new_int64(cx.interrupted_after));
    json_object_object_add(cx.report, "notes", cx.notes = json_object_new_array());
    const char *catalog = "not given";
    char *catalog_msg = NULL;
    if (o->meta_conn && o->cluster)
    {
        Error cerr;
        cx.meta = catalog_connect(o->meta_conn, false, &cerr);
        if (cx.meta)
            catalog = o->dry_run ? "not changed (dry run)" : "updated";
        else
            catalog = catalog_msg = xprintf("unreachable, not updated: %s", cerr.msg);
    }
    int rc = o->cluster ? expire_cluster(&cx, err) : expire_single_node(&cx, err);
    json_object_object_add(cx.report, "catalog", json_object_new_string(catalog));
    free(catalog_msg);
    PQfinish(cx.meta);
    for (size_t i = 0; i < cx.ngone; i++)
    {
        free(cx.gone[i].node);
        free(cx.gone[i].id);
    }
    free(cx.gone);
    *report = cx.report;
    return rc;
}
