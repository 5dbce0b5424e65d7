/* What the pool knows of one node, read together by info, verify and check. */
#ifndef STRATA_NODE_STATE_H
#define STRATA_NODE_STATE_H

#include "archive/archive.h"
#include "pool/manifest.h"

typedef struct NodeState
{
    NodeInfo info;
    BackupList backups;
    WalList wal;
} NodeState;

/* Fails naming the node when the pool has nothing of it. */
int node_state_load(Pool *p, const char *node, NodeState *out, Error *err);
void node_state_free(NodeState *s);
/* `node` alone when given, else every node in the pool. */
int pool_select_nodes(Pool *p, const char *node, char ***names, size_t *count, Error *err);

/* Directories under nodes/ that hold backups/ or WAL segments but no node.json
 * (a node whose identity file was lost), sorted. */
int pool_nodes_without_info(Pool *p, char ***names, size_t *count, Error *err);

#endif
