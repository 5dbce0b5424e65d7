/* Incremental cluster backups' chains: see cluster_chain.h. */
#include "expire/cluster_chain.h"

#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/util.h"
#include "expire/retention.h"

/* Index among the candidates of the one whose node backup of pool_node
 * is `backup`, or -1. */
static long
candidate_holding(json_object **all, const size_t *idx, size_t nc, const char *pool_node, const char *backup)
{
    for (size_t c = 0; c < nc; c++)
    {
        json_object *nodes;
        if (!json_object_object_get_ex(all[idx[c]], "nodes", &nodes))
            continue;
        for (size_t k = 0; k < json_object_array_length(nodes); k++)
        {
            json_object *nj = json_object_array_get_idx(nodes, k);
            const char *pn = json_member_string(nj, "pool_node"), *b = json_member_string(nj, "backup");
            if (pn && b && !strcmp(pn, pool_node) && !strcmp(b, backup))
                return (long) c;
        }
    }
    return -1;
}

void
cluster_chain_keep(json_object **all, const size_t *idx, size_t nc, bool *keep)
{
    size_t nsets = 0;
    for (size_t c = 0; c < nc; c++)
    {
        json_object *nodes;
        if (json_object_object_get_ex(all[idx[c]], "nodes", &nodes) && json_object_array_length(nodes) > nsets)
            nsets = json_object_array_length(nodes);
    }
    if (nc == 0 || nsets == 0)
        return;
    long *parents = xcalloc(nc * nsets, sizeof(long));
    for (size_t c = 0; c < nc; c++)
    {
        json_object *nodes = json_object_object_get(all[idx[c]], "nodes");
        size_t have = nodes && json_object_is_type(nodes, json_type_array) ? json_object_array_length(nodes) : 0;
        for (size_t s = 0; s < nsets; s++)
        {
            json_object *nj = s < have ? json_object_array_get_idx(nodes, s) : NULL;
            const char *pn = nj ? json_member_string(nj, "pool_node") : NULL;
            const char *parent = nj ? json_member_string(nj, "parent") : NULL;
            parents[c * nsets + s] = pn && parent ? candidate_holding(all, idx, nc, pn, parent) : -1;
        }
    }
    retention_keep_parents_of_sets(parents, nsets, nc, keep);
    free(parents);
}
