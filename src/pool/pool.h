/* The backup pool: layout, descriptor and node identity (docs/pool-format.md). */
#ifndef STRATA_POOL_H
#define STRATA_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "storage/storage.h"

#define POOL_FORMAT 1
#define POOL_DESCRIPTOR "strata-pool.json"

typedef struct PoolKeys PoolKeys;   /* pool/keys.h */

typedef struct Pool
{
    Storage *storage;
    char *location;
    PoolKeys *keys;           /* the pool's keys, when the process has its user's key */
    bool keyed;               /* the pool has keys (keys/pool.key) */
    bool unauthenticated_ok;  /* verify, info: read authenticated objects without checking them */
    _Atomic unsigned long unauthenticated;   /* how many were read so */
} Pool;

/* Node identity: a pool node holds one PostgreSQL system's backups and WAL. */
typedef struct NodeInfo
{
    uint64_t system_identifier;
    int pg_version_num;       /* 150018; 0 until a backup records it */
    uint64_t wal_segment_size;
} NodeInfo;

int pool_init(const char *location, Error *err);
/* Opens an existing pool; a path that is not one gets an error saying so. */
int pool_open(const char *location, Pool **out, Error *err);
void pool_close(Pool *p);

int node_name_check(const char *node, Error *err);
/* The validated readings of the pool descriptor and of a node.json
 * (`path` names it in messages); for pool_open / node_info_read and the
 * fuzz targets. */
int pool_descriptor_parse(json_object *o, const char *location, int *format, Error *err);
int node_info_parse(json_object *o, const char *path, NodeInfo *info, Error *err);
/* Reads nodes/<node>/node.json; *exists false if the node has none yet. */
int node_info_read(Pool *p, const char *node, NodeInfo *info, bool *exists, Error *err);
/* Records the node's identity on first use; afterwards refuses a different
 * system (a misconfigured archive_command pointing two clusters at one node).
 * Fields of `info` that are 0 are not checked, and filled in if known. */
int node_info_ensure(Pool *p, const char *node, NodeInfo *info, Error *err);

/* Keys (callers free). */
char *pool_backups_dir(const char *node);
char *pool_backup_dir(const char *node, const char *id);
char *pool_manifest_path(const char *node, const char *id);
char *pool_wal_dir(const char *node);



/* Names of the nodes in the pool (those with a node.json), sorted. */
int pool_list_nodes(Pool *p, char ***names, size_t *count, Error *err);
void pool_free_names(char **names, size_t count);
#endif
