/* What the two halves of expire (expire.c: single-node mode, WAL and the
 * run itself; expire_cluster.c: cluster mode) share: the run's context and
 * the removals both make. Internal to src/expire. */
#ifndef STRATA_EXPIRE_CTX_H
#define STRATA_EXPIRE_CTX_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "expire/expire.h"
#include "pool/pool.h"

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

/* Adds a line to the report's "notes". */
void expire_note(Ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records that node backup (node, id) is removed by this run. */
void expire_gone_add(Ctx *cx, const char *node, const char *id);
bool expire_is_gone(const Ctx *cx, const char *node, const char *id);
/* Removes one node backup: manifest first, then its objects (not in a dry run). */
int expire_remove_node_backup(Ctx *cx, const char *node, const char *id, Error *err);
/* Marks a cluster backup expired in the catalog, if one is connected;
 * a failure becomes a note. */
void expire_catalog_mark_expired(Ctx *cx, const char *cluster, const char *id);
/* Is the backup (or cluster backup) in `dir` interrupted? `state` gets why. */
bool expire_interrupted(Ctx *cx, const char *dir, char *state, size_t slen);
/* Removes an interrupted backup's directory `dir`: the lease first
 * (pool/lease.h), then the rest. `node` NULL: a cluster backup. */
int expire_remove_interrupted(Ctx *cx, const char *node, const char *id, const char *dir, const char *state,
                              Error *err);
/* Removes the WAL of `node` that no kept backup needs. */
int expire_node_wal(Ctx *cx, const char *node, Error *err);

/* Cluster mode: cluster backups of o->cluster (or its o->shard's). */
int expire_cluster(Ctx *cx, Error *err);

#endif
