/* The compute nodes' schema in a cluster backup (compute_schema.h). */
#include "backup/compute_schema.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/spawn.h"
#include "pool/keys.h"
#include "pg/bin_dir.h"

/* The topology allows 64 compute nodes per cluster; room to spare. */
#define COMPUTE_NODES_MAX 1024

static void
sha256_of(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex_encode(md, n, hex);
}

static char *
schema_object_path(const char *backup_dir, const char *node)
{
    return xprintf("%s/compute/%s.sql", backup_dir, node);
}

/* pg_dumpall --schema-only of one compute node into `out`: every database
 * but template0, the roles and the rest of the globals. Run with an argv;
 * the output goes through a private temporary directory. */
static int
dump_node(const char *bin, const TopoNode *node, Buffer *out, Error *err)
{
    const char *tmpdir = getenv("TMPDIR");
    char *dir_tmpl = xprintf("%s/strata-compute-dump.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir_tmpl))
    {
        int rc = error_set(err, "compute node %s: cannot create a temporary directory %s: %s", node->name, dir_tmpl,
                           strerror(errno));
        free(dir_tmpl);
        return rc;
    }
    char *prog = xprintf("%s/pg_dumpall", bin);
    char *file = xprintf("%s/schema.sql", dir_tmpl), *log = xprintf("%s/pg_dumpall.log", dir_tmpl);
    char *conninfo = topology_conninfo(node, "postgres");
    char *dbname_arg = xprintf("--dbname=%s", conninfo);
    char *file_arg = xprintf("--file=%s", file);
    char *const argv[] = {prog, "--schema-only", "--no-password", dbname_arg, file_arg, NULL};
    int rc = spawn_wait(argv, log, err);
    if (rc != 0)
    {
        Buffer l = {0};
        Error e2;
        if (read_file_limited(log, 4096, &l, &e2) == 0 && l.len > 0)
        {
            l.data[strcspn(l.data, "\n")] = '\0';
            error_prefix(err, "%s: ", l.data);
        }
        buffer_free(&l);
    }
    else
        rc = read_file_limited(file, COMPUTE_SCHEMA_MAX, out, err);
    unlink(file);
    unlink(log);
    rmdir(dir_tmpl);
    if (rc != 0)
        error_prefix(err, "dumping the schema of compute node %s (%s:%d): ", node->name, node->host, node->port);
    free(prog);
    free(file);
    free(log);
    free(conninfo);
    free(dbname_arg);
    free(file_arg);
    free(dir_tmpl);
    return rc;
}

/* In a keyed pool the dump (role password hashes, user mapping options)
 * is encrypted and bound to its path with the WAL key of the cluster's
 * metadata replica set, which key rotation re-wraps with the others. */
static char *
key_node_of(const char *cluster)
{
    return xprintf("%s/%s", cluster, TOPO_META_SET);
}

int
compute_schema_dump_all(Pool *pool, const Topology *t, const char *backup_dir, json_object **entries, Error *err)
{
    Storage *s = pool->storage;
    char *key_node = key_node_of(t->name);
    *entries = json_object_new_array();
    char *bin = pg_bin_dir(NULL, 150000);
    int rc = 0;
    for (size_t i = 0; i < t->ncompute && rc == 0; i++)
    {
        const TopoNode *node = &t->compute[i];
        Buffer dump = {0};
        rc = dump_node(bin, node, &dump, err);
        char *path = rc == 0 ? schema_object_path(backup_dir, node->name) : NULL;
        Buffer sealed = {0};
        if (rc == 0 && pool->keyed)
            rc = wal_blob_seal(pool, key_node, path, dump.data ? dump.data : "", dump.len, &sealed, err);
        const Buffer *stored = pool->keyed ? &sealed : &dump;
        if (rc == 0)
            rc = storage_put(s, path, stored->data ? stored->data : "", stored->len, err);
        if (rc == 0)
        {
            char hex[65];
            sha256_of(stored->data ? stored->data : "", stored->len, hex);
            json_object *e = json_object_new_object();
            json_object_object_add(e, "node", json_object_new_string(node->name));
            json_object_object_add(e, "size", json_object_new_int64((int64_t) stored->len));
            json_object_object_add(e, "sha256", json_object_new_string(hex));
            if (pool->keyed)
            {
                json_object_object_add(e, "cipher", json_object_new_string("aes-256-gcm"));
                json_object_object_add(e, "key_node", json_object_new_string(key_node));
            }
            json_object_array_add(*entries, e);
            log_info("  compute node %s: schema dumped, %zu bytes", node->name, dump.len);
        }
        free(path);
        buffer_free(&sealed);
        buffer_free(&dump);
    }
    free(key_node);
    free(bin);
    if (rc != 0)
    {
        json_object_put(*entries);
        *entries = NULL;
    }
    return rc;
}

void
compute_schema_entries_check(FieldReader *r, json_object *manifest)
{
    if (!field_present(manifest, "compute"))
        return;
    json_object *list = field_array(r, manifest, "compute", COMPUTE_NODES_MAX);
    for (size_t i = 0; list && i < json_object_array_length(list) && !r->failed; i++)
    {
        json_object *e = json_object_array_get_idx(list, i);
        if (!json_object_is_type(e, json_type_object))
        {
            field_fail(r, "compute entry %zu is not an object", i);
            break;
        }
        char hex[65];
        free(field_name(r, e, "node", false));
        field_int(r, e, "size", 0, (int64_t) COMPUTE_SCHEMA_MAX);
        field_sha256(r, e, "sha256", hex);
        if (field_present(e, "cipher"))
        {
            char *cipher = field_name(r, e, "cipher", false);
            if (!r->failed && strcmp(cipher, "aes-256-gcm") != 0)
                field_fail(r, "compute entry %zu: unknown cipher '%s'", i, cipher);
            free(cipher);
            free(field_name(r, e, "key_node", true));
        }
    }
}

int
compute_schema_read(Pool *pool, json_object *manifest, const char *node, Buffer *out, bool *absent, Error *err)
{
    Storage *s = pool->storage;
    *absent = true;
    memset(out, 0, sizeof(*out));
    json_object *list, *v;
    const char *cluster = json_object_object_get_ex(manifest, "cluster", &v) ? json_object_get_string(v) : "";
    const char *id = json_object_object_get_ex(manifest, "id", &v) ? json_object_get_string(v) : "";
    if (!json_object_object_get_ex(manifest, "compute", &list) || !json_object_is_type(list, json_type_array))
        return 0;
    json_object *entry = NULL;
    for (size_t i = 0; i < json_object_array_length(list) && !entry; i++)
    {
        json_object *e = json_object_array_get_idx(list, i);
        if (json_object_object_get_ex(e, "node", &v) && !strcmp(json_object_get_string(v), node))
            entry = e;
    }
    if (!entry)
        return 0;
    *absent = false;
    char *dir = xprintf("clusters/%s/backups/%s", cluster, id);
    char *path = schema_object_path(dir, node);
    free(dir);
    FieldReader r;
    field_reader_init(&r, path, err);
    int64_t size = field_int(&r, entry, "size", 0, (int64_t) COMPUTE_SCHEMA_MAX);
    char want[65] = "";
    field_sha256(&r, entry, "sha256", want);
    int rc = r.failed ? -1 : 0;
    bool missing = false;
    if (rc == 0)
        rc = storage_get_limited(s, path, COMPUTE_SCHEMA_MAX, out, &missing, err);
    if (rc == 0 && missing)
        rc = error_set(err, "%s: the schema dump of compute node %s is missing from the pool", path, node);
    else if (rc == 0 && out->len != (size_t) size)
        rc = error_set(err, "%s: %zu bytes, the cluster manifest says %" PRId64 ": corrupt", path, out->len, size);
    else if (rc == 0)
    {
        char got[65];
        sha256_of(out->data ? out->data : "", out->len, got);
        if (strcmp(got, want) != 0)
            rc = error_set(err, "%s: checksum mismatch (sha256 %s, the cluster manifest says %s): corrupt", path, got,
                           want);
    }
    /* Encrypted: opened (authenticated against its path) with the key the
     * entry names, which must be its own cluster's metadata set's. */
    char *cipher = rc == 0 && field_present(entry, "cipher") ? field_name(&r, entry, "cipher", false) : NULL;
    char *key_node = cipher ? field_name(&r, entry, "key_node", true) : NULL;
    char *own_key_node = key_node_of(cluster);
    if (rc == 0 && r.failed)
        rc = -1;
    else if (rc == 0 && cipher && strcmp(key_node, own_key_node) != 0)
        rc = error_set(err, "%s: encrypted with the key of %s, not of %s: refused", path, key_node, own_key_node);
    else if (rc == 0 && cipher)
    {
        Buffer plain = {0};
        rc = wal_blob_open(pool, key_node, path, out->data ? out->data : "", out->len, &plain, err);
        buffer_free(out);
        *out = plain;
        if (rc == 0 && out->len > COMPUTE_SCHEMA_MAX)
            rc = error_set(err, "%s: %zu bytes decrypted, more than the %zu a schema dump may hold", path, out->len,
                           COMPUTE_SCHEMA_MAX);
    }
    else if (rc == 0 && !cipher && pool->keyed)
        rc = error_set(err, "%s: not encrypted in a keyed pool: refused (an object put there without the key)", path);
    free(cipher);
    free(key_node);
    free(own_key_node);
    if (rc == 0 && out->len > 0 && memchr(out->data, '\0', out->len))
        rc = error_set(err, "%s: the schema dump holds a NUL byte: not a SQL script", path);
    if (rc != 0)
        buffer_free(out);
    free(path);
    return rc;
}
