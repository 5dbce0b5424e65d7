#include "info/node_state.h"

#include <stdlib.h>
#include <string.h>

int
node_state_load(Pool *p, const char *node, NodeState *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    bool exists;
    if (node_info_read(p, node, &out->info, &exists, err) != 0)
        return -1;
    if (!exists)
    {
        char **lost;
        size_t n;
        bool identity_lost = false;
        if (pool_nodes_without_info(p, &lost, &n, err) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            identity_lost = identity_lost || !strcmp(lost[i], node);
        pool_free_names(lost, n);
        if (identity_lost)
            return error_set(err, "node %s: nodes/%s/node.json is missing from pool %s, but the node has backups or "
                                  "WAL there: its identity is lost", node, node, p->location);
        return error_set(err, "node %s has nothing in pool %s", node, p->location);
    }
    if (backup_list_load(p, node, &out->backups, err) != 0)
        return -1;
    if (archive_list(p, node, out->info.wal_segment_size, &out->wal, err) != 0)
    {
        backup_list_free(&out->backups);
        return -1;
    }
    return 0;
}

void
node_state_free(NodeState *s)
{
    wal_list_free(&s->wal);
    backup_list_free(&s->backups);
}

int
pool_select_nodes(Pool *p, const char *node, char ***names, size_t *count, Error *err)
{
    if (!node)
        return pool_list_nodes(p, names, count, err);
    *names = xcalloc(1, sizeof(char *));
    (*names)[0] = xstrdup(node);
    *count = 1;
    return 0;
}

/* WAL other than history files: a node.json is written with the first
 * segment, so a node that holds only history files (a new primary pushes
 * its history first) is not missing one yet. */
static bool
wal_beyond_history(Pool *p, const char *node)
{
    char *dir = pool_wal_dir(node);
    StorageList l;
    Error err;
    bool beyond = false;
    if (storage_list(p->storage, dir, &l, &err) == 0)
    {
        for (size_t i = 0; i < l.count; i++)
            beyond = beyond || strcmp(l.entries[i].name, "history") != 0;
        storage_list_free(&l);
    }
    free(dir);
    return beyond;
}

static int
find_without_info(Pool *p, const char *prefix, int depth, char ***names, size_t *count, Error *err)
{
    char *dir = *prefix ? xprintf("nodes/%s", prefix) : xstrdup("nodes");
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    free(dir);
    if (rc != 0)
        return -1;
    bool info = false, data = false;
    for (size_t i = 0; i < l.count; i++)
    {
        info = info || !strcmp(l.entries[i].name, "node.json");
        data = data || (l.entries[i].is_dir && !strcmp(l.entries[i].name, "backups"));
        if (*prefix && l.entries[i].is_dir && !strcmp(l.entries[i].name, "wal"))
            data = data || wal_beyond_history(p, prefix);
    }
    if (*prefix && data && !info)
    {
        *names = xrealloc(*names, (*count + 1) * sizeof(char *));
        (*names)[(*count)++] = xstrdup(prefix);
    }
    /* Node names may hold '/' (cluster/set): look a few levels down, as
     * pool_list_nodes does. */
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        const StorageEntry *e = &l.entries[i];
        if (!e->is_dir || depth >= 4 || !strcmp(e->name, "backups") || !strcmp(e->name, "wal"))
            continue;
        char *child = *prefix ? xprintf("%s/%s", prefix, e->name) : xstrdup(e->name);
        rc = find_without_info(p, child, depth + 1, names, count, err);
        free(child);
    }
    storage_list_free(&l);
    return rc;
}

int
pool_nodes_without_info(Pool *p, char ***names, size_t *count, Error *err)
{
    *names = NULL;
    *count = 0;
    if (find_without_info(p, "", 0, names, count, err) != 0)
    {
        pool_free_names(*names, *count);
        *names = NULL;
        *count = 0;
        return -1;
    }
    return 0;
}
