/* Compute schemas in a cluster backup (backup/compute_schema.h): read back
 * size- and checksum-verified, manifest entries validated; and the replay
 * script (restore/compute_restore.h) leaves out only the bootstrap role's
 * CREATE ROLE of the globals part. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/compute_schema.h"
#include "crypto/kek.h"
#include "pool/keys.h"
#include "restore/compute_restore.h"
#include "storage/storage.h"
#include "unit.h"

static void
rm_rf(const char *root)
{
    char *cmd = xprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    free(cmd);
}

static json_object *
manifest_keyed(const char *node, int64_t size, const char *sha, const char *key_node)
{
    json_object *m = json_object_new_object(), *list = json_object_new_array(), *e = json_object_new_object();
    json_object_object_add(m, "cluster", json_object_new_string("c1"));
    json_object_object_add(m, "id", json_object_new_string("20260101-000000C"));
    json_object_object_add(e, "node", json_object_new_string(node));
    json_object_object_add(e, "size", json_object_new_int64(size));
    json_object_object_add(e, "sha256", json_object_new_string(sha));
    if (key_node)
    {
        json_object_object_add(e, "cipher", json_object_new_string("aes-256-gcm"));
        json_object_object_add(e, "key_node", json_object_new_string(key_node));
    }
    json_object_array_add(list, e);
    json_object_object_add(m, "compute", list);
    return m;
}

static json_object *
manifest_with(const char *node, int64_t size, const char *sha)
{
    return manifest_keyed(node, size, sha, NULL);
}

static void
sha_hex_n(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex_encode(md, n, hex);
}

static void
sha_hex(const char *text, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    hex_encode(md, n, hex);
}

static bool
entries_ok(json_object *m)
{
    Error err;
    FieldReader r;
    field_reader_init(&r, "cluster.manifest", &err);
    compute_schema_entries_check(&r, m);
    return !r.failed;
}

static bool
script_is(const char *dump, const char *role, const char *want)
{
    Buffer in = {0}, out = {0};
    buffer_append(&in, dump, strlen(dump));
    compute_dump_script(&in, role, &out);
    bool same = out.len == strlen(want) && (out.len == 0 || !memcmp(out.data, want, out.len));
    if (!same)
        printf("# got: %.*s\n", (int) out.len, out.data ? out.data : "");
    buffer_free(&in);
    buffer_free(&out);
    return same;
}

int main(void)
{
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *root = mkdtemp(tmpl);
    Error err;
    char *plain_pool = xprintf("%s/plain", root), *keyed_pool = xprintf("%s/keyed", root);
    Pool *pool = NULL;
    if (pool_init(plain_pool, &err) != 0 || pool_open(plain_pool, &pool, &err) != 0)
    {
        printf("not ok - pool: %s\n", err.msg);
        return 1;
    }
    Storage *s = pool->storage;
    const char *path = "clusters/c1/backups/20260101-000000C/compute/compute-1.sql";
    const char *dump = "CREATE ROLE strata;\nCREATE TABLE t (a int);\n";
    char hex[65];
    sha_hex(dump, hex);
    CHECK(storage_put(s, path, dump, strlen(dump), &err) == 0, "a dump in the pool");

    Buffer b;
    bool absent = false;
    json_object *m = manifest_with("compute-1", (int64_t) strlen(dump), hex);
    CHECK(entries_ok(m), "a well-formed compute entry passes the manifest check");
    CHECK(compute_schema_read(pool, m, "compute-1", &b, &absent, &err) == 0 && !absent && b.len == strlen(dump) &&
              !memcmp(b.data, dump, b.len), "read back: the dump's bytes");
    buffer_free(&b);
    CHECK(compute_schema_read(pool, m, "compute-2", &b, &absent, &err) == 0 && absent,
          "a node without an entry: absent, not an error");
    json_object_put(m);

    m = manifest_with("compute-1", (int64_t) strlen(dump) + 1, hex);
    CHECK(compute_schema_read(pool, m, "compute-1", &b, &absent, &err) != 0 && strstr(err.msg, "corrupt"),
          "a size unlike the manifest's is refused");
    json_object_put(m);

    char other[65];
    sha_hex("something else", other);
    m = manifest_with("compute-1", (int64_t) strlen(dump), other);
    CHECK(compute_schema_read(pool, m, "compute-1", &b, &absent, &err) != 0 && strstr(err.msg, "checksum mismatch"),
          "a checksum unlike the manifest's is refused");
    json_object_put(m);

    m = manifest_with("compute-9", 3, hex);
    CHECK(compute_schema_read(pool, m, "compute-9", &b, &absent, &err) != 0 && strstr(err.msg, "missing"),
          "an entry without its object is refused");
    json_object_put(m);

    m = manifest_with("compute-1", (int64_t) COMPUTE_SCHEMA_MAX + 1, hex);
    CHECK(!entries_ok(m), "an entry over the size bound fails the manifest check");
    json_object_put(m);
    m = manifest_with("../x", 1, hex);
    CHECK(!entries_ok(m), "an entry whose node is no name fails the manifest check");
    json_object_put(m);
    m = manifest_with("compute-1", 1, "ABC");
    CHECK(!entries_ok(m), "an entry with a malformed sha256 fails the manifest check");
    json_object_put(m);

    CHECK(script_is("SET x = 1;\nCREATE ROLE analyst;\nCREATE ROLE strata;\nALTER ROLE strata WITH SUPERUSER;\n",
                    "strata", "SET x = 1;\nCREATE ROLE analyst;\nALTER ROLE strata WITH SUPERUSER;\n"),
          "the bootstrap role's CREATE ROLE is left out, the rest kept");
    CHECK(script_is("CREATE ROLE \"Admin\";\nALTER ROLE \"Admin\" WITH LOGIN;\n", "Admin",
                    "ALTER ROLE \"Admin\" WITH LOGIN;\n"), "a quoted bootstrap role name too");
    CHECK(script_is("CREATE ROLE stratax;\n\\connect db\nCREATE ROLE strata;\n", "strata",
                    "CREATE ROLE stratax;\n\\connect db\nCREATE ROLE strata;\n"),
          "only an exact line, and only before the first \\connect");
    CHECK(script_is("", "strata", ""), "an empty dump stays empty");

    /* A keyed pool: the dump encrypted with the metadata set's WAL key. */
    char *kf = xprintf("%s/key", root);
    int fd = open(kf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *khex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    if (fd < 0 || write(fd, khex, strlen(khex)) != (ssize_t) strlen(khex))
        abort();
    close(fd);
    key_source_set_key_file(kf);
    Pool *kp = NULL;
    CHECK(pool_init(keyed_pool, &err) == 0 && pool_open(keyed_pool, &kp, &err) == 0 && kp->keyed, "a keyed pool");
    Buffer sealed = {0};
    CHECK(kp && wal_blob_seal(kp, "c1/meta", path, dump, strlen(dump), &sealed, &err) == 0 &&
              storage_put(kp->storage, path, sealed.data, sealed.len, &err) == 0, "an encrypted dump in it");
    char shex[65];
    sha_hex_n(sealed.data, sealed.len, shex);
    CHECK(!memmem(sealed.data, sealed.len, "CREATE TABLE", 12), "the stored bytes do not show the dump");
    m = manifest_keyed("compute-1", (int64_t) sealed.len, shex, "c1/meta");
    CHECK(entries_ok(m), "an encrypted entry passes the manifest check");
    CHECK(kp && compute_schema_read(kp, m, "compute-1", &b, &absent, &err) == 0 && b.len == strlen(dump) &&
              !memcmp(b.data, dump, b.len), "read back decrypted");
    buffer_free(&b);
    json_object_put(m);
    m = manifest_keyed("compute-1", (int64_t) sealed.len, shex, "c9/meta");
    CHECK(kp && compute_schema_read(kp, m, "compute-1", &b, &absent, &err) != 0 && strstr(err.msg, "not of c1/meta"),
          "another cluster's key node is refused");
    json_object_put(m);
    CHECK(kp && storage_put(kp->storage, path, dump, strlen(dump), &err) == 0, "a plain dump put in the keyed pool");
    m = manifest_with("compute-1", (int64_t) strlen(dump), hex);
    CHECK(kp && compute_schema_read(kp, m, "compute-1", &b, &absent, &err) != 0 && strstr(err.msg, "not encrypted"),
          "an unencrypted dump in a keyed pool is refused");
    json_object_put(m);
    buffer_free(&sealed);
    if (kp)
        pool_close(kp);
    free(kf);

    pool_close(pool);
    free(plain_pool);
    free(keyed_pool);
    rm_rf(root);
    UNIT_DONE();
}
