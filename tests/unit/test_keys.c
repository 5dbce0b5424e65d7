/* The key hierarchy and authenticated seals of a keyed pool: what each key
 * opens, what a forger or a wrong key gets (a refusal naming the cause),
 * key objects bound to their paths, rotation to a key file and to a
 * passphrase, and reading without the key only when asked. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/aead.h"
#include "pool/keys.h"
#include "pool/sealed.h"
#include "unit.h"

static char root[64];

static char *write_file(const char *name, const char *text, mode_t mode)
{
    char *path = xprintf("%s/%s", root, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
        abort();
    close(fd);
    chmod(path, mode);
    return path;
}

static char *new_key_file(const char *name)
{
    uint8_t k[32];
    char hex[66];
    random_bytes(k, sizeof(k));
    hex_encode(k, sizeof(k), hex);
    strcat(hex, "\n");
    return write_file(name, hex, 0600);
}

static Buffer read_obj(const char *pool, const char *rel)
{
    char *p = xprintf("%s/%s", pool, rel);
    Buffer b = {0};
    Error err;
    if (read_small_file(p, &b, &err) != 0)
        abort();
    free(p);
    return b;
}

static void write_obj(const char *pool, const char *rel, const void *data, size_t len)
{
    Storage *s = storage_posix_new(pool);
    Error err;
    if (storage_put(s, rel, data, len, &err) != 0)
        abort();
    storage_close(s);
}

static bool get_fails(Pool *p, const char *path, const char *expect)
{
    json_object *o = NULL;
    bool missing;
    Error err;
    int rc = pool_sealed_get(p, path, &o, &missing, &err);
    json_object_put(o);
    if (rc == 0)
        return false;
    if (expect && !strstr(err.msg, expect))
    {
        printf("# got: %s\n", err.msg);
        return false;
    }
    return true;
}

static bool get_ok(Pool *p, const char *path)
{
    json_object *o = NULL;
    bool missing;
    Error err;
    int rc = pool_sealed_get(p, path, &o, &missing, &err);
    if (rc != 0)
        printf("# got: %s\n", err.msg);
    json_object_put(o);
    return rc == 0 && !missing;
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/strata-unit-keys-XXXXXX");
    if (!mkdtemp(root))
        abort();
    char *pool = xprintf("%s/pool", root);
    char *k1 = new_key_file("k1"), *k2 = new_key_file("k2");
    Error err;

    key_source_set_key_file(k1);
    CHECK(pool_init(pool, &err) == 0, "pool-init with a key file makes a keyed pool");
    Pool *p;
    CHECK(pool_open(pool, &p, &err) == 0 && p->keyed && p->keys, "the key opens it");

    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string("20260101-000000F"));
    CHECK(pool_sealed_put(p, "nodes/db/backups/A/backup.manifest", o, &err) == 0, "a sealed object is written");
    CHECK(pool_sealed_put(p, "nodes/db/backups/B/backup.manifest", o, &err) == 0, "another one");
    json_object_put(o);
    CHECK(get_ok(p, "nodes/db/backups/A/backup.manifest"), "it reads back, its HMAC checked");
    Buffer a = read_obj(pool, "nodes/db/backups/A/backup.manifest");
    CHECK(strstr(a.data, "\nhmac-sha256:") != NULL, "its seal is an HMAC");

    /* Edited, keeping the HMAC line. */
    Buffer ed = {0};
    buffer_append(&ed, a.data, a.len);
    char *at = strstr(ed.data, "20260101");
    at[0] = '3';
    write_obj(pool, "nodes/db/backups/A/backup.manifest", ed.data, ed.len);
    CHECK(get_fails(p, "nodes/db/backups/A/backup.manifest", "fails its authentication"), "an edited object is refused");
    /* Re-sealed with a plain SHA-256, as a forger without the key would. */
    size_t text_len = (size_t) (strstr(ed.data, "\nhmac-sha256:") - ed.data);
    unsigned char md[32];
    unsigned int mdlen;
    char hex[65];
    EVP_Digest(ed.data, text_len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
    Buffer forged = {0};
    buffer_append(&forged, ed.data, text_len);
    buffer_appendf(&forged, "\nsha256:%s\n", hex);
    write_obj(pool, "nodes/db/backups/A/backup.manifest", forged.data, forged.len);
    CHECK(get_fails(p, "nodes/db/backups/A/backup.manifest", "forged or re-sealed without the key"),
          "a SHA-256 re-sealed object is refused in a keyed pool");
    /* B's (genuine) manifest put in A's place. */
    Buffer bb = read_obj(pool, "nodes/db/backups/B/backup.manifest");
    write_obj(pool, "nodes/db/backups/A/backup.manifest", bb.data, bb.len);
    CHECK(get_fails(p, "nodes/db/backups/A/backup.manifest", "moved from another path"),
          "a genuine object moved to another path is refused");
    write_obj(pool, "nodes/db/backups/A/backup.manifest", a.data, a.len);
    CHECK(get_ok(p, "nodes/db/backups/A/backup.manifest"), "the original reads again");

    /* Data keys: round trip, bound to their path. */
    DataKey dk, back;
    bool missing;
    char *kp = backup_key_path("db", "A"), *kq = backup_key_path("db", "B");
    CHECK(data_key_create(p, kp, &dk, &err) == 0, "a data key is created");
    CHECK(data_key_load(p, kp, &back, &missing, &err) == 0 && !missing && !memcmp(&dk, &back, sizeof(dk)),
          "and unwraps to the same key and id");
    Buffer kobj = read_obj(pool, kp);
    char dkhex[65];
    hex_encode(dk.key, 32, dkhex);
    CHECK(strstr(kobj.data, dkhex) == NULL, "the data key is not in the pool in the clear");
    write_obj(pool, kq, kobj.data, kobj.len);
    CHECK(data_key_load(p, kq, &back, &missing, &err) != 0 && strstr(err.msg, "moved from another path"),
          "a key object copied to another backup does not unwrap");
    pool_close(p);

    /* A wrong key; no key. */
    key_source_set_key_file(k2);
    CHECK(pool_open(pool, &p, &err) != 0 && strstr(err.msg, "is not the key of pool"), "another key is refused, named");
    char *loose = write_file("loose", "00", 0644);
    key_source_set_key_file(loose);
    CHECK(pool_open(pool, &p, &err) != 0 && strstr(err.msg, "chmod 600"), "a key file others can read is refused");
    key_source_set_key_file(NULL);
    CHECK(pool_open(pool, &p, &err) == 0 && p->keyed && !p->keys, "without a key the pool opens, keyed, keyless");
    CHECK(get_fails(p, "nodes/db/backups/A/backup.manifest", "configure it"), "... but authenticated objects are refused");
    o = json_object_new_object();
    CHECK(pool_sealed_put(p, "nodes/db/x.json", o, &err) != 0 && strstr(err.msg, "keyed"), "... and writing is refused");
    json_object_put(o);
    p->unauthenticated_ok = true;
    CHECK(get_ok(p, "nodes/db/backups/A/backup.manifest") && p->unauthenticated == 1,
          "with unauthenticated_ok (verify, info) it is read and counted as not checked");
    Cipher c;
    CHECK(pool_write_cipher(p, false, CIPHER_NONE, &c, &err) != 0, "writing to a keyed pool without its key is refused");
    pool_close(p);

    /* A pool without keys ignores... nothing: a key configured there is an error. */
    char *plain = xprintf("%s/plain", root);
    CHECK(pool_init(plain, &err) == 0, "a pool without keys");
    key_source_set_key_file(k1);
    CHECK(pool_open(plain, &p, &err) != 0 && strstr(err.msg, "has no keys"),
          "a key configured for a pool without keys is an error (its keys could have been removed)");
    key_source_set_key_file(NULL);
    CHECK(pool_open(plain, &p, &err) == 0 && !p->keyed, "it opens without a key");
    CHECK(pool_write_cipher(p, true, CIPHER_AES_256_GCM, &c, &err) != 0 && strstr(err.msg, "pool-init"),
          "--cipher aes-256-gcm there says how to make a keyed pool");
    CHECK(pool_write_cipher(p, false, CIPHER_NONE, &c, &err) == 0 && c == CIPHER_NONE, "its default: no cipher");
    pool_close(p);

    /* Rotation: k1 -> k2 -> passphrase. */
    key_source_set_key_file(k1);
    CHECK(pool_open(pool, &p, &err) == 0, "reopened with k1");
    CHECK(pool_write_cipher(p, false, CIPHER_NONE, &c, &err) == 0 && c == CIPHER_AES_256_GCM,
          "a keyed pool's default cipher is aes-256-gcm");
    size_t n = 0;
    char id[17];
    /* B's copied key object does not unwrap: remove it first. */
    Storage *s = storage_posix_new(pool);
    storage_remove(s, kq, &err);
    storage_close(s);
    CHECK(pool_keys_rotate(p, k2, NULL, &n, id, &err) == 0, "rotate to k2");
    CHECK(n == 2, "the pool key and the data key re-wrapped");
    pool_close(p);
    CHECK(pool_open(pool, &p, &err) != 0, "k1 no longer opens the pool");
    key_source_set_key_file(k2);
    CHECK(pool_open(pool, &p, &err) == 0, "k2 does");
    CHECK(get_ok(p, "nodes/db/backups/A/backup.manifest"), "seals still check (the pool key did not change)");
    CHECK(data_key_load(p, kp, &back, &missing, &err) == 0 && !memcmp(&dk, &back, sizeof(dk)),
          "the data key is the same after rotation");
    char *pass = write_file("pass", "correct horse battery staple\n", 0600);
    CHECK(pool_keys_rotate(p, NULL, pass, &n, id, &err) == 0, "rotate to a passphrase");
    pool_close(p);
    key_source_set_passphrase_file(pass);
    CHECK(pool_open(pool, &p, &err) == 0, "the passphrase opens the pool (scrypt, parameters from the pool)");
    CHECK(data_key_load(p, kp, &back, &missing, &err) == 0 && !memcmp(&dk, &back, sizeof(dk)),
          "the data key is the same after a rotation to a passphrase");
    pool_close(p);
    char *wrongpass = write_file("wrongpass", "incorrect horse\n", 0600);
    key_source_set_passphrase_file(wrongpass);
    CHECK(pool_open(pool, &p, &err) != 0 && strstr(err.msg, "is not the key of pool"), "a wrong passphrase is refused");

    buffer_free(&a);
    buffer_free(&ed);
    buffer_free(&forged);
    buffer_free(&bb);
    buffer_free(&kobj);
    free(kp);
    free(kq);
    char *cmd = xprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", root);
    free(cmd);
    free(pool);
    free(plain);
    free(k1);
    free(k2);
    free(loose);
    free(pass);
    free(wrongpass);
    UNIT_DONE();
}
