/* Step 4 of a cluster restore, the compute nodes: each rebuilt from the
 * schema its cluster backup recorded (backup/compute_schema.h), with every
 * postgres_fdw server that pointed at a node of the source cluster
 * re-pointed at that node's counterpart in the new cluster. */
#ifndef STRATA_COMPUTE_RESTORE_H
#define STRATA_COMPUTE_RESTORE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "cluster/topology.h"
#include "common/error.h"
#include "common/util.h"
#include "pool/pool.h"
#include "restore/cluster_restore.h"

/* The schema dumps of the new cluster's compute nodes, read from the pool
 * and verified (size, checksum) before any instance starts. A node whose
 * source had none recorded (a backup taken before strata recorded compute
 * schemas) has absent set: it is rebuilt as an empty instance. */
typedef struct ComputeSchemas
{
    Buffer *dumps;
    bool *absent;
    size_t n;
} ComputeSchemas;

/* Dump i belongs to t->compute[i], the source's compute node at the same
 * position (the restored topology keeps the order). */
int compute_schemas_load(Pool *pool, json_object *backup, const Topology *src, const Topology *t,
                         ComputeSchemas *out, Error *err);
void compute_schemas_free(ComputeSchemas *cs);

/* Builds t->compute[idx]: a fresh initdb'd instance, started (by the node
 * manager of its host when ci->executor has one for it), its dump
 * replayed with psql (ON_ERROR_STOP), then its postgres_fdw servers
 * re-pointed: one whose host and port are a node of the source topology
 * gets that node's counterpart in t (same replica set, same position). A
 * server that is no node of the source topology is an error naming it:
 * left as it is, it would reach the source cluster (or something the
 * backup did not restore). bin is PostgreSQL's binary directory. */
typedef struct ComputeInit
{
    const RestoreExecutor *executor;   /* NULL: only this host's nodes */
    const char *sockdir;               /* the new instance's unix_socket_directories */
    const char *const *hba;            /* pg_hba.conf lines added (the placement's) */
    size_t nhba;
} ComputeInit;
int compute_restore_node(const char *bin, const ComputeSchemas *cs, const Topology *src, const Topology *t,
                         size_t idx, const ComputeInit *ci, Error *err);

/* The script psql replays: the dump without pg_dumpall's "CREATE ROLE
 * <bootstrap>;" line (plain or quoted) of the globals part, the one
 * statement that fails on a fresh instance by design (the role exists). */
void compute_dump_script(const Buffer *dump, const char *bootstrap, Buffer *out);

#endif
