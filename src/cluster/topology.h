/* A cluster's topology (DESIGN §1): the metadata replica set, the shards
 * (replica sets) and the compute nodes, as registered in the catalog
 * (strata.clusters / shards / nodes) or read from a topology JSON file:
 *
 *   {"name": "c1", "database": "bank", "meta_database": "strata",
 *    "origin": "c0",
 *    "meta":    [{"name": "meta-1", "host": "127.0.0.1", "port": 57000,
 *                 "role": "primary", "data_dir": "/d/meta-1/data"}, ...],
 *    "shards":  [{"name": "shard1", "nodes": [{...}, ...]}, ...],
 *    "compute": [{"name": "compute-1", "host": ..., "port": ...}]}
 *
 * database (default "bank"), meta_database (default "strata"), origin and
 * data_dir are optional; a compute node's role defaults to "compute". */
#ifndef STRATA_TOPOLOGY_H
#define STRATA_TOPOLOGY_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "common/error.h"

#include "common/name_limits.h"
/* The replica set name of the metadata cluster (strata.nodes.shard). */
#define TOPO_META_SET "meta"

typedef enum NodeRole
{
    NODE_PRIMARY,
    NODE_STANDBY,
    NODE_COMPUTE
} NodeRole;

typedef struct TopoNode
{
    char *name;      /* unique in the cluster */
    char *host;
    int port;
    NodeRole role;
    char *data_dir;  /* NULL when not known */
} TopoNode;

/* A replica set: the metadata cluster or one shard. */
typedef struct ReplicaSet
{
    char *name;      /* TOPO_META_SET or the shard's name */
    TopoNode *nodes; /* in registration order */
    size_t nnodes;
} ReplicaSet;

typedef struct Topology
{
    char *name;
    char *database;      /* business database on shards and compute nodes */
    char *meta_database; /* the metadata database on the metadata nodes */
    char *origin;        /* cluster this one was restored from, or NULL */
    char *created_at;    /* when registered (text from the catalog), or NULL */
    ReplicaSet meta;
    ReplicaSet *shards;  /* shard k holds workload account ids [k*1000000, (k+1)*1000000) */
    size_t nshards;
    TopoNode *compute;
    size_t ncompute;
} Topology;

const char *node_role_name(NodeRole role);

/* Parses and validates a topology document; `source` names it in errors. */
int topology_from_json(const char *text, const char *source, Topology *out, Error *err);
int topology_load_file(const char *path, Topology *out, Error *err);
/* The same document; the caller json_object_put()s it. */
json_object *topology_to_json(const Topology *t);

/* Reads cluster `cluster` from the catalog on `meta`. */
int topology_load(PGconn *meta, const char *cluster, Topology *out, Error *err);
/* Records t in the catalog, replacing a previous registration of the same
 * name, in one transaction. The catalog must exist (catalog_ensure). */
int topology_save(PGconn *meta, const Topology *t, Error *err);
void topology_free(Topology *t);

/* The replica set's primary, or NULL if it has none. */
const TopoNode *topology_primary(const ReplicaSet *set);
/* The shard named `name`, or NULL. */
const ReplicaSet *topology_shard(const Topology *t, const char *name);
/* "host='H' port='P' dbname='D'" for a node. Caller frees. */
char *topology_conninfo(const TopoNode *n, const char *dbname);
/* Conninfo of the metadata primary (meta_database) / a shard's primary
 * (database); NULL with err set when the set has no primary. Caller frees. */
char *topology_meta_conninfo(const Topology *t, Error *err);
char *topology_shard_conninfo(const Topology *t, const ReplicaSet *shard, Error *err);

/* [A-Za-z0-9_.-]{1,63}: names end up in pool node names, gtxids and SQL. */
int topology_name_check(const char *what, const char *name, Error *err);

#endif
