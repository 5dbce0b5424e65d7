/* The compute nodes' schema in a cluster backup (docs/pool-format.md):
 * compute nodes hold no business data, but their schema (databases,
 * roles, postgres_fdw servers and user mappings, partitioned and foreign
 * tables, views, functions) is the user's and is not invented by a
 * restore. A cluster backup stores `pg_dumpall --schema-only` of each
 * compute node as the object
 *
 *   clusters/<C>/backups/<id>/compute/<node>.sql
 *
 * and lists it in cluster.manifest's "compute" array:
 *   {"node": "<node>", "size": <bytes>, "sha256": "<hex of the bytes>"}
 * plus, in a keyed pool, "cipher": "aes-256-gcm" and "key_node": "<C>/meta":
 * the object is then encrypted (STREAM, bound to its path) with that pool
 * node's WAL key, and size and sha256 are of the stored bytes. */
#ifndef STRATA_COMPUTE_SCHEMA_H
#define STRATA_COMPUTE_SCHEMA_H

#include <json-c/json.h>
#include <stdbool.h>

#include "cluster/topology.h"
#include "common/util.h"
#include "pool/fields.h"
#include "pool/pool.h"
#include "storage/storage.h"

/* Largest schema dump a backup writes and a restore reads back. */
#define COMPUTE_SCHEMA_MAX ((size_t) 64 << 20)

/* Dumps every compute node of t into the backup directory `backup_dir`
 * (cluster_backup_dir); *entries is the manifest's "compute" array. */
int compute_schema_dump_all(Pool *pool, const Topology *t, const char *backup_dir, json_object **entries,
                            Error *err);

/* Validates a manifest's optional "compute" array (field reader style). */
void compute_schema_entries_check(FieldReader *r, json_object *manifest);

/* The dump of compute node `node` in the cluster backup `manifest` of
 * `cluster`, size- and checksum-verified. *absent (0 returned) when the
 * backup holds none for it (taken by a strata before this format). */
int compute_schema_read(Pool *pool, json_object *manifest, const char *node, Buffer *out, bool *absent,
                        Error *err);

#endif
