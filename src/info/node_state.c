#include "info/node_state.h"

#include <string.h>

int
node_state_load(Pool *p, const char *node, NodeState *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    bool exists;
    if (node_info_read(p, node, &out->info, &exists, err) != 0)
        return -1;
    if (!exists)
        return error_set(err, "node %s has nothing in pool %s", node, p->location);
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
