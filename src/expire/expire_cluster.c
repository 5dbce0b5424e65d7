/* strata expire, cluster mode: whole-cluster (or one shard's) backups of
 * a cluster, kept by the retention with the cluster backups they build on;
 * the node backups only removed ones reference; interrupted cluster
 * backups; and the CPs no kept backup can restore to. The crash-safety
 * order of expire.c holds here too: a cluster backup's sealed manifest
 * goes first, then its node backups. */
#include "expire/expire_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "catalog/history.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "consistency/cp_store.h"
#include "expire/cluster_chain.h"
#include "expire/retention.h"
#include "pool/manifest.h"

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
                expire_note(cx, "node backup %s of %s is also part of kept cluster backup %s: kept", b, pn, user);
                continue;
            }
            rc = expire_remove_node_backup(cx, pn, b, err);
            if (rc == 0)
            {
                expire_gone_add(cx, pn, b);
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
        expire_catalog_mark_expired(cx, cluster, id);
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
                    expire_note(cx, "catalog: removing consistency point %s failed", cps[i].name);
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
        bool is_dead = expire_interrupted(cx, dir, state, sizeof(state));
        free(dir);
        if (is_dead)
        {
            dead_why[ndead] = xstrdup(state);
            dead[ndead++] = xstrdup(id);
        }
        else
        {
            live[nlive++] = xstrdup(id);
            expire_note(cx, "cluster backup %s of %s: %s", id, cluster, state);
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
            if (!cb || in_ids(complete, n, cb) || in_ids(live, nlive, cb) || expire_is_gone(cx, names[k], b->id))
                continue;
            rc = expire_remove_node_backup(cx, names[k], b->id, err);
            if (rc != 0)
                break;
            expire_gone_add(cx, names[k], b->id);
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
        rc = expire_remove_interrupted(cx, NULL, dead[i], dir, dead_why[i], err);
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
            expire_note(cx, "cluster backup %s is kept: a kept incremental cluster backup builds on it",
                 json_member_string(all[idx[c]], "id"));
    free(before);
}

int
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
        expire_note(cx, "cluster %s has no complete %s backup%s%s in the pool: nothing to expire", o->cluster,
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
