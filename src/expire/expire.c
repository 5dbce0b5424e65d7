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
#include "expire/cluster_chain.h"
#include "expire/retention.h"

#include "common/crashpoint.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "backup/cluster_backup.h"
#include "catalog/catalog.h"
#include "catalog/history.h"
#include "common/json_member.h"
#include "common/log.h"
#include "pool/keys.h"
#include "common/util.h"
#include "consistency/cp_store.h"
#include "pool/lease.h"
#include "pool/manifest.h"
#include "wal/index_pool.h"

/* A node backup that this run removes (or, dry run, would remove). */
typedef struct Gone
{
    char *node;
    char *id;
} Gone;

typedef struct Ctx
{
    const ExpireOptions *o;
    Pool *pool;
    PGconn *meta;            /* NULL: no catalog given or reachable */
    Gone *gone;
    size_t ngone;
    json_object *report;
    json_object *kept;
    json_object *removed_backups;
    json_object *removed_wal;
    json_object *removed_cps;
    json_object *incomplete;
    json_object *removed_interrupted;
    json_object *notes;
    int64_t interrupted_after;   /* seconds */
} Ctx;

static void
note(Ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(Ctx *cx, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_array_add(cx->notes, json_object_new_string(msg));
}

static void
gone_add(Ctx *cx, const char *node, const char *id)
{
    cx->gone = xrealloc(cx->gone, (cx->ngone + 1) * sizeof(Gone));
    cx->gone[cx->ngone].node = xstrdup(node);
    cx->gone[cx->ngone].id = xstrdup(id);
    cx->ngone++;
}

static bool
is_gone(const Ctx *cx, const char *node, const char *id)
{
    for (size_t i = 0; i < cx->ngone; i++)
        if (!strcmp(cx->gone[i].node, node) && !strcmp(cx->gone[i].id, id))
            return true;
    return false;
}

/* Removes one node backup: manifest first, then its objects. */
static int
remove_node_backup(Ctx *cx, const char *node, const char *id, Error *err)
{
    if (cx->o->dry_run)
        return 0;
    crash_point("expire-backup");
    return backup_remove(cx->pool, node, id, err);
}

static void
catalog_mark_expired(Ctx *cx, const char *cluster, const char *id)
{
    if (!cx->meta || cx->o->dry_run)
        return;
    Error err;
    if (catalog_backup_mark_expired(cx->meta, cluster, id, &err) != 0)
        note(cx, "catalog: backup %s of %s: %s", id, cluster, err.msg);
}

/* Is the backup (or cluster backup) in `dir` interrupted? `state` gets why. */
static bool
interrupted(Ctx *cx, const char *dir, char *state, size_t slen)
{
    return lease_interrupted(lease_state(cx->pool->storage, dir, (int64_t) time(NULL), cx->interrupted_after, state,
                                         slen));
}

/* Removes an interrupted backup's directory `dir`: the lease first
 * (pool/lease.h), then the rest. `node` NULL: a cluster backup. */
static int
remove_interrupted(Ctx *cx, const char *node, const char *id, const char *dir, const char *state, Error *err)
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
static int
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
            note(cx, "node %s: removed %zu unfinished write(s) of killed processes", node, n);
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
        if (b->complete && !is_gone(cx, node, b->id) && (!oldest || b->manifest.start_lsn < oldest->start_lsn))
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
            bool dead = interrupted(cx, dir, state, sizeof(state));
            if (dead)
                rc = remove_interrupted(cx, node, b->id, dir, state, err);
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
        note(cx, "node %s: no complete backup is kept, its WAL is left alone", node);
    else if (blocker)
        note(cx, "node %s: WAL left alone: incomplete backup %s (in progress, or with a damaged manifest) is older "
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
                        note(cx, "%s", e2.msg);
                    storage_list_free(&sl);
                }
                free(sub);
            }
            storage_list_free(&l);
        }
        else
            note(cx, "%s", err->msg);
        free(waldir);
    }
    return rc;
}

/* ---- cluster mode ---- */

static bool
scope_matches(json_object *m, const ExpireOptions *o)
{
    return cluster_manifest_in_scope(m, o->shard);
}

/* Is node backup (node, id) part of a cluster backup in all[] that stays? */
static const char *
referenced_by_kept(json_object **all, size_t n, const bool *removed, const char *node, const char *id)
{
    for (size_t i = 0; i < n; i++)
    {
        if (removed[i])
            continue;
        json_object *nodes;
        if (!json_object_object_get_ex(all[i], "nodes", &nodes))
            continue;
        for (size_t k = 0; k < json_object_array_length(nodes); k++)
        {
            json_object *nj = json_object_array_get_idx(nodes, k);
            const char *pn = json_member_string(nj, "pool_node"), *b = json_member_string(nj, "backup");
            if (pn && b && !strcmp(pn, node) && !strcmp(b, id))
                return json_member_string(all[i], "id");
        }
    }
    return NULL;
}

static int
remove_cluster_backup(Ctx *cx, json_object **all, size_t n, const bool *removed, json_object *m, Error *err)
{
    const char *cluster = cx->o->cluster, *id = json_member_string(m, "id");
    if (!id)
        return error_set(err, "a cluster.manifest of cluster %s has no id", cluster);
    json_object *entry = json_object_new_object();
    json_object_object_add(entry, "id", json_object_new_string(id));
    json_object_object_add(entry, "started_epoch", json_object_new_int64(json_member_int(m, "started_epoch")));
    json_object *nodes_out = json_object_new_array();
    json_object_object_add(entry, "nodes", nodes_out);
    json_object_array_add(cx->removed_backups, entry);
    int rc = 0;
    /* The cluster manifest first: from here on the backup is not listed. */
    if (!cx->o->dry_run)
    {
        char *path = cluster_manifest_path(cluster, id);
        rc = storage_remove(cx->pool->storage, path, err);
        free(path);
        if (rc != 0)
            return error_prefix(err, "removing cluster backup %s of %s: ", id, cluster);
    }
    json_object *nodes;
    if (json_object_object_get_ex(m, "nodes", &nodes))
    {
        for (size_t k = 0; k < json_object_array_length(nodes) && rc == 0; k++)
        {
            json_object *nj = json_object_array_get_idx(nodes, k);
            const char *pn = json_member_string(nj, "pool_node"), *b = json_member_string(nj, "backup");
            if (!pn || !b)
                continue;
            const char *user = referenced_by_kept(all, n, removed, pn, b);
            if (user)
            {
                note(cx, "node backup %s of %s is also part of kept cluster backup %s: kept", b, pn, user);
                continue;
            }
            rc = remove_node_backup(cx, pn, b, err);
            if (rc == 0)
            {
                gone_add(cx, pn, b);
                json_object *o = json_object_new_object();
                json_object_object_add(o, "node", json_object_new_string(pn));
                json_object_object_add(o, "backup", json_object_new_string(b));
                json_object_array_add(nodes_out, o);
            }
        }
    }
    if (rc == 0 && !cx->o->dry_run)
    {
        char *dir = xprintf("clusters/%s/backups/%s", cluster, id);
        rc = storage_remove_tree(cx->pool->storage, dir, err);
        free(dir);
        if (rc != 0)
            error_prefix(err, "removing cluster backup %s of %s: ", id, cluster);
    }
    if (rc == 0)
        catalog_mark_expired(cx, cluster, id);
    return rc;
}

/* CPs older than the oldest kept cluster backup's end CP: no backup left
 * can be restored to them. */
static int
expire_cps(Ctx *cx, json_object **all, size_t n, const bool *removed, Error *err)
{
    double oldest_end = -1;
    for (size_t i = 0; i < n; i++)
    {
        json_object *cp, *ep;
        if (removed[i] || !json_object_object_get_ex(all[i], "end_cp", &cp) ||
            !json_object_object_get_ex(cp, "epoch", &ep))
            continue;
        double t = json_object_get_double(ep);
        if (oldest_end < 0 || t < oldest_end)
            oldest_end = t;
    }
    if (oldest_end < 0)
        return 0;   /* no cluster backup left: nothing says which CPs are dead */
    ConsistencyPoint *cps;
    size_t ncps;
    if (cp_list_pool(cx->pool, cx->o->cluster, &cps, &ncps, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < ncps && rc == 0; i++)
    {
        if (cps[i].time >= oldest_end)
            continue;
        if (!cx->o->dry_run)
        {
            char *path = xprintf("clusters/%s/cps/%s.json", cx->o->cluster, cps[i].name);
            rc = storage_remove(cx->pool->storage, path, err);
            free(path);
            if (rc != 0)
            {
                error_prefix(err, "removing consistency point %s of %s: ", cps[i].name, cx->o->cluster);
                break;
            }
            if (cx->meta)
            {
                Error cerr;
                if (catalog_cp_delete(cx->meta, cx->o->cluster, cps[i].name, &cerr) != 0)
                    note(cx, "catalog: removing consistency point %s failed", cps[i].name);
            }
        }
        json_object_array_add(cx->removed_cps, json_object_new_string(cps[i].name));
    }
    cp_list_free(cps, ncps);
    return rc;
}

static bool
in_ids(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return true;
    return false;
}

/* Cluster backups of the cluster that have no cluster.manifest: those in
 * progress stay; the interrupted ones go, with every node backup that is
 * part of them (complete or not), on every node of the cluster. A node
 * backup part of a cluster backup that is not in the pool at all is the
 * remnant of a removal that was itself interrupted: it goes too. */
static int
expire_interrupted_cluster_backups(Ctx *cx, json_object **all, size_t n, Error *err)
{
    const char *cluster = cx->o->cluster;
    char *bdir = xprintf("clusters/%s/backups", cluster);
    StorageList l;
    int rc = storage_list(cx->pool->storage, bdir, &l, err);
    free(bdir);
    if (rc != 0)
        return -1;
    char **complete = xcalloc(n ? n : 1, sizeof(char *)), **live = xcalloc(l.count ? l.count : 1, sizeof(char *));
    char **dead = xcalloc(l.count ? l.count : 1, sizeof(char *)), **dead_why = xcalloc(l.count ? l.count : 1,
                                                                                        sizeof(char *));
    size_t nlive = 0, ndead = 0;
    for (size_t i = 0; i < n; i++)
        complete[i] = (char *) json_member_string(all[i], "id");
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        const char *id = l.entries[i].name;
        if (!l.entries[i].is_dir || in_ids(complete, n, id))
            continue;
        char state[ERROR_MSG_MAX];
        char *dir = cluster_backup_dir(cluster, id);
        bool is_dead = interrupted(cx, dir, state, sizeof(state));
        free(dir);
        if (is_dead)
        {
            dead_why[ndead] = xstrdup(state);
            dead[ndead++] = xstrdup(id);
        }
        else
        {
            live[nlive++] = xstrdup(id);
            note(cx, "cluster backup %s of %s: %s", id, cluster, state);
        }
    }
    /* Their node backups, before the cluster backups' directories: if this
     * run is cut short, what is left is found again by the next one. */
    char **names = NULL;
    size_t nn = 0;
    if (rc == 0)
        rc = pool_list_nodes(cx->pool, &names, &nn, err);
    char *prefix = xprintf("%s/", cluster);
    for (size_t k = 0; rc == 0 && k < nn; k++)
    {
        if (!str_starts_with(names[k], prefix))
            continue;
        BackupList bl;
        if ((rc = backup_list_load(cx->pool, names[k], &bl, err)) != 0)
            break;
        for (size_t i = 0; i < bl.count && rc == 0; i++)
        {
            const BackupEntry *b = &bl.items[i];
            const char *cb = b->complete ? b->manifest.cluster_backup : NULL;
            if (!cb || in_ids(complete, n, cb) || in_ids(live, nlive, cb) || is_gone(cx, names[k], b->id))
                continue;
            rc = remove_node_backup(cx, names[k], b->id, err);
            if (rc != 0)
                break;
            gone_add(cx, names[k], b->id);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "node", json_object_new_string(names[k]));
            json_object_object_add(o, "id", json_object_new_string(b->id));
            char *why = xprintf("part of cluster backup %s, which %s", cb,
                                in_ids(dead, ndead, cb) ? "was interrupted" : "is not in the pool");
            json_object_object_add(o, "why", json_object_new_string(why));
            free(why);
            json_object_array_add(cx->removed_interrupted, o);
        }
        backup_list_free(&bl);
    }
    free(prefix);
    if (names)
        pool_free_names(names, nn);
    for (size_t i = 0; i < ndead && rc == 0; i++)
    {
        char *dir = cluster_backup_dir(cluster, dead[i]);
        rc = remove_interrupted(cx, NULL, dead[i], dir, dead_why[i], err);
        free(dir);
    }
    for (size_t i = 0; i < nlive; i++)
        free(live[i]);
    for (size_t i = 0; i < ndead; i++)
    {
        free(dead[i]);
        free(dead_why[i]);
    }
    free(live);
    free(dead);
    free(dead_why);
    free(complete);
    storage_list_free(&l);
    return rc;
}

static int
cluster_in_pool(Ctx *cx, bool *found, Error *err)
{
    StorageList l;
    *found = false;
    if (storage_list(cx->pool->storage, "clusters", &l, err) != 0)
        return -1;
    for (size_t i = 0; i < l.count; i++)
        if (l.entries[i].is_dir && !strcmp(l.entries[i].name, cx->o->cluster))
            *found = true;
    storage_list_free(&l);
    return 0;
}

/* The cluster backups kept incremental ones build on are kept too
 * (cluster_chain.h), and the report says why. */
static void
keep_cluster_parents(Ctx *cx, json_object **all, const size_t *idx, size_t nc, bool *keep)
{
    bool *before = xcalloc(nc ? nc : 1, sizeof(bool));
    memcpy(before, keep, nc * sizeof(bool));
    cluster_chain_keep(all, idx, nc, keep);
    for (size_t c = 0; c < nc; c++)
        if (keep[c] && !before[c])
            note(cx, "cluster backup %s is kept: a kept incremental cluster backup builds on it",
                 json_member_string(all[idx[c]], "id"));
    free(before);
}

static int
expire_cluster(Ctx *cx, Error *err)
{
    const ExpireOptions *o = cx->o;
    bool found;
    if (cluster_in_pool(cx, &found, err) != 0)
        return -1;
    if (!found)
        return error_set(err, "pool %s holds nothing of cluster %s (no clusters/%s)", cx->pool->location, o->cluster,
                         o->cluster);
    if (o->shard)
    {
        char *node = xprintf("%s/%s", o->cluster, o->shard);
        NodeInfo ni;
        bool exists = false;
        int rc = node_name_check(node, err) == 0 ? node_info_read(cx->pool, node, &ni, &exists, err) : -1;
        if (rc == 0 && !exists)
            rc = error_set(err, "pool %s has no shard %s of cluster %s (no node %s)", cx->pool->location, o->shard,
                           o->cluster, node);
        free(node);
        if (rc != 0)
            return -1;
    }
    json_object **all;
    size_t n;
    if (cluster_backups_list(cx->pool, o->cluster, &all, &n, err) != 0)
        return -1;
    /* The candidates: this scope's backups, oldest first (ids are times). */
    size_t *idx = xcalloc(n ? n : 1, sizeof(size_t));
    int64_t *started = xcalloc(n ? n : 1, sizeof(int64_t));
    bool *keep = xcalloc(n ? n : 1, sizeof(bool));
    bool *removed = xcalloc(n ? n : 1, sizeof(bool));
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (scope_matches(all[i], o))
        {
            idx[nc] = i;
            started[nc++] = json_member_int(all[i], "started_epoch");
        }
    retention_choose_kept(started, nc, o->keep, o->keep_days, (int64_t) time(NULL), keep);
    keep_cluster_parents(cx, all, idx, nc, keep);
    for (size_t c = 0; c < nc; c++)
        if (!keep[c])
            removed[idx[c]] = true;
        else
            json_object_array_add(cx->kept, json_object_new_string(json_member_string(all[idx[c]], "id")));
    if (nc == 0)
        note(cx, "cluster %s has no complete %s backup%s%s in the pool: nothing to expire", o->cluster,
             o->shard ? "shard" : "whole-cluster", o->shard ? " of " : "", o->shard ? o->shard : "");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (removed[i])
            rc = remove_cluster_backup(cx, all, n, removed, all[i], err);
    if (rc == 0)
        rc = expire_interrupted_cluster_backups(cx, all, n, err);
    /* WAL of the nodes in scope. */
    if (rc == 0)
    {
        char **names;
        size_t nn;
        rc = pool_list_nodes(cx->pool, &names, &nn, err);
        char *prefix = o->shard ? xprintf("%s/%s", o->cluster, o->shard) : xprintf("%s/", o->cluster);
        for (size_t i = 0; rc == 0 && i < nn; i++)
        {
            bool in_scope = o->shard ? !strcmp(names[i], prefix) : str_starts_with(names[i], prefix);
            if (in_scope)
                rc = expire_node_wal(cx, names[i], err);
        }
        free(prefix);
        if (names)
            pool_free_names(names, nn);
    }
    if (rc == 0)
        rc = expire_cps(cx, all, n, removed, err);
    for (size_t i = 0; i < n; i++)
        json_object_put(all[i]);
    free(all);
    free(idx);
    free(started);
    free(keep);
    free(removed);
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
                note(cx, "backup %s of node %s: kept, a kept incremental builds on it", bl->items[idx[c]].id, node);
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
            note(cx, "backup %s of node %s is part of cluster backup %s: kept (expire it with --cluster)", id, node,
                 json_object_get_string(user));
            keep[c] = true;
        }
        if (keep[c])
        {
            json_object_array_add(cx->kept, json_object_new_string(id));
            continue;
        }
        rc = remove_node_backup(cx, node, id, err);
        if (rc == 0)
        {
            gone_add(cx, node, id);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_string(id));
            json_object_object_add(o, "started_epoch", json_object_new_int64(started[c]));
            json_object_array_add(cx->removed_backups, o);
        }
    }
    if (nc == 0)
        note(cx, "node %s has no complete backup: nothing to expire", node);
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
