/* Validation of a cluster backup's manifest read back from the pool: the
 * restore takes pool nodes, backup ids, replica set names and the whole
 * topology (directory names, ports, databases) from it. */
#include <stdlib.h>
#include <string.h>

#include "backup/cluster_backup.h"
#include "backup/compute_schema.h"
#include "cluster/topology.h"
#include "consistency/cp_store.h"
#include "common/json_member.h"
#include "pool/fields.h"

/* The replica sets of one cluster backup: the metadata cluster and the
 * shards (topology.c allows 64). */
#define CLUSTER_SETS_MAX 1024

static void
check_type(FieldReader *r, json_object *o)
{
    char *type = field_name(r, o, "type", false);
    BackupType t;
    Error terr;
    if (!r->failed && backup_type_parse(type, &t, &terr) != 0)
        field_fail(r, "type '%s' is not full, incr or diff", type);
    free(type);
}

static void
check_node_entry(FieldReader *r, json_object *n)
{
    char *set = field_name(r, n, "set", false);
    char *pool_node = field_name(r, n, "pool_node", true);
    char *backup = field_name(r, n, "backup", false);
    char *source = field_name(r, n, "source", false);
    char *where = field_present(n, "node_manager") ? field_text(r, n, "node_manager", FIELD_TEXT_MAX) : NULL;
    /* Incremental cluster backups (absent in those before them: full). */
    if (field_present(n, "type"))
        check_type(r, n);
    if (field_present(n, "parent"))
        free(field_name(r, n, "parent", false));
    field_lsn(r, n, "stop_lsn");
    field_int(r, n, "size", 0, INT64_MAX - 1);
    field_int(r, n, "stored_size", 0, INT64_MAX - 1);
    field_double(r, n, "duration", 0, 1e9);
    free(set);
    free(pool_node);
    free(backup);
    free(source);
    free(where);
}

int
cluster_manifest_check(json_object *o, const char *path, const char *cluster, const char *id, Error *err)
{
    FieldReader r;
    field_reader_init(&r, path, err);
    if (field_int(&r, o, "format", 0, INT32_MAX) != 1 && !r.failed)
        field_fail(&r, "unsupported cluster manifest format");
    char *mid = field_name(&r, o, "id", false), *mcluster = field_name(&r, o, "cluster", false);
    if (!r.failed && id && strcmp(mid, id) != 0)
        field_fail(&r, "the manifest is cluster backup %s's, not %s's", mid, id);
    if (!r.failed && cluster && strcmp(mcluster, cluster) != 0)
        field_fail(&r, "the manifest is cluster %s's, not %s's", mcluster, cluster);
    free(mid);
    free(mcluster);
    char *scope = field_name(&r, o, "scope", false);
    if (!r.failed && strcmp(scope, "cluster") != 0 && strcmp(scope, "shard") != 0)
        field_fail(&r, "scope '%s' is neither cluster nor shard", scope);
    if (!r.failed && !strcmp(scope, "shard"))
        free(field_name(&r, o, "shard", false));
    free(scope);
    if (field_present(o, "type"))
        check_type(&r, o);
    field_int(&r, o, "started_epoch", 0, INT64_C(253402300799));
    field_double(&r, o, "duration", 0, 1e9);
    field_int(&r, o, "size", 0, INT64_MAX - 1);
    field_int(&r, o, "stored_size", 0, INT64_MAX - 1);
    json_object *nodes = field_array(&r, o, "nodes", CLUSTER_SETS_MAX);
    for (size_t i = 0; nodes && i < json_object_array_length(nodes) && !r.failed; i++)
        check_node_entry(&r, json_object_array_get_idx(nodes, i));
    compute_schema_entries_check(&r, o);
    json_object *topo = field_get(&r, o, "topology", json_type_object);
    json_object *end_cp = field_get(&r, o, "end_cp", json_type_object);
    if (r.failed)
        return -1;
    Topology t;
    char *where = xprintf("%s: topology", path);
    int rc = topology_from_json(json_object_to_json_string(topo), where, &t, err);
    free(where);
    if (rc != 0)
        return -1;
    topology_free(&t);
    ConsistencyPoint cp;
    where = xprintf("%s: end_cp", path);
    rc = cp_from_json(end_cp, where, &cp, err);
    free(where);
    if (rc != 0)
        return -1;
    cp_free(&cp);
    return 0;
}

bool
cluster_manifest_in_scope(json_object *m, const char *shard)
{
    const char *scope = json_member_string(m, "scope"), *s = json_member_string(m, "shard");
    if (!shard)
        return scope && !strcmp(scope, "cluster");
    return scope && !strcmp(scope, "shard") && s && !strcmp(s, shard);
}
