/* The pool's keys, backups' and WAL data keys (pool/keys.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_objects.h"
#include "pool/keys.h"

/* ---- the pool's keys ---- */

int
pool_keys_open(Pool *p, Error *err)
{
    json_object *o;
    bool missing;
    if (key_object_get(p->storage, POOL_KEY_PATH, &o, &missing, err) != 0)
        return -1;
    p->keyed = !missing;
    if (!key_source_configured())
    {
        json_object_put(o);
        return 0;
    }
    if (missing)
        return error_set(err, "pool %s has no keys (%s), but a key is configured (%s): it is not an encrypted pool, "
                              "or its keys were removed; refusing to use it unauthenticated",
                         p->location, POOL_KEY_PATH, key_source_describe());
    json_object *kdf = json_object_object_get(o, "kdf");
    PoolKeys *k = xcalloc(1, sizeof(*k));
    uint8_t auth[32];
    int rc = kek_from_source(kdf, &k->kek, err);
    if (rc == 0 && strcmp(k->kek.id, key_json_str(o, "kek_id") ? key_json_str(o, "kek_id") : "") != 0)
    {
        bool rotating = false;
        Error e2;
        storage_exists(p->storage, POOL_ROTATION_PATH, &rotating, &e2);
        rc = error_set(err, "the configured key (%s, key id %s) is not the key of pool %s (key id %s)%s",
                       key_source_describe(), k->kek.id, p->location, key_json_str(o, "kek_id") ? key_json_str(o, "kek_id") : "?",
                       rotating ? "; a key rotation was interrupted: rerun strata key rotate with the old and new keys"
                                : "");
    }
    if (rc == 0)
        rc = key_object_unwrap(p->storage, &k->kek, POOL_KEY_PATH, o, auth, err);
    json_object_put(o);
    if (rc != 0)
    {
        pool_keys_free(k);
        return -1;
    }
    key_derive(auth, "strata seal v1", k->seal_key);
    key_derive(auth, "strata wal name v1", k->wal_name_key);
    memset(auth, 0, sizeof(auth));
    pthread_mutex_init(&k->lock, NULL);
    p->keys = k;
    return 0;
}

void
pool_keys_free(PoolKeys *k)
{
    if (!k)
        return;
    kek_free(&k->kek);
    if (k->wal_keys)
        memset(k->wal_keys, 0, k->nwal_keys * sizeof(DataKey));
    free(k->wal_keys);
    free(k->wal_keys_node);
    memset(k, 0, sizeof(*k));
    free(k);
}

int
pool_keys_init(Storage *s, const char *location, Error *err)
{
    Kek kek;
    if (kek_from_source(NULL, &kek, err) != 0)
        return -1;
    uint8_t auth[32];
    random_bytes(auth, sizeof(auth));
    json_object *o = key_object_new(&kek, POOL_KEY_PATH, "pool", auth);
    memset(auth, 0, sizeof(auth));
    json_object_object_add(o, "kdf", json_object_get(kek.kdf));
    int rc = key_object_put(s, POOL_KEY_PATH, o, err);
    json_object_put(o);
    kek_free(&kek);
    return rc;
}

/* ---- data keys ---- */

int
pool_keys_needed(Pool *p, const char *what, Error *err)
{
    if (p->keys)
        return 0;
    return error_set(err, "%s needs pool %s's key: configure it with --key-file FILE or --passphrase-file FILE "
                          "(or STRATA_KEY_FILE / STRATA_PASSPHRASE_FILE)",
                     what, p->location);
}

int
pool_require_key(Pool *p, const char *what, Error *err)
{
    return p->keyed ? pool_keys_needed(p, what, err) : 0;
}

int
pool_write_cipher(Pool *p, bool given, Cipher asked, Cipher *out, Error *err)
{
    if (given && asked != CIPHER_NONE && !p->keyed)
        return error_set(err, "--cipher %s: pool %s has no keys (%s); an encrypted pool is created so: strata "
                              "pool-init --pool %s --key-file FILE (strata key generate --out FILE makes one)",
                         cipher_name(asked), p->location, POOL_KEY_PATH, p->location);
    if (p->keyed && pool_keys_needed(p, "writing to a keyed pool", err) != 0)
        return -1;
    *out = given ? asked : p->keyed ? CIPHER_AES_256_GCM : CIPHER_NONE;
    return 0;
}

char *
backup_key_path(const char *node, const char *id)
{
    return xprintf("nodes/%s/backups/%s/backup.key", node, id);
}

static int
data_key_write(Pool *p, const char *path, const DataKey *dk, Error *err)
{
    if (pool_keys_needed(p, "encryption", err) != 0)
        return -1;
    json_object *o = key_object_new(&p->keys->kek, path, "data", dk->key);
    char hex[2 * STREAM_KEY_ID_LEN + 1];
    hex_encode(dk->id, sizeof(dk->id), hex);
    json_object_object_add(o, "id", json_object_new_string(hex));
    int rc = key_object_put(p->storage, path, o, err);
    json_object_put(o);
    return rc;
}

int
data_key_create(Pool *p, const char *path, DataKey *out, Error *err)
{
    random_bytes(out->id, sizeof(out->id));
    random_bytes(out->key, sizeof(out->key));
    return data_key_write(p, path, out, err);
}

int
data_key_load(Pool *p, const char *path, DataKey *out, bool *missing, Error *err)
{
    if (pool_keys_needed(p, "reading encrypted objects", err) != 0)
        return -1;
    json_object *o;
    if (key_object_get(p->storage, path, &o, missing, err) != 0 || *missing)
        return *missing ? 0 : -1;
    int rc = 0;
    /* The id is not secret but is bound to the key by the wrap: the
     * associated data is the path, and the path names the id for WAL keys;
     * a backup's id is checked against its objects' headers. */
    if (key_hex_decode(key_json_str(o, "id"), out->id, sizeof(out->id)) != 0)
        rc = error_set(err, "key object %s in pool %s is corrupt (no data key id)", path, p->location);
    if (rc == 0)
        rc = key_object_unwrap(p->storage, &p->keys->kek, path, o, out->key, err);
    json_object_put(o);
    return rc;
}

int
backup_key_load(Pool *p, const char *node, const char *id, DataKey *out, Error *err)
{
    char *path = backup_key_path(node, id);
    bool missing;
    int rc = data_key_load(p, path, out, &missing, err);
    if (rc == 0 && missing)
        rc = error_set(err, "backup %s of node %s is encrypted, but its data key %s is missing from pool %s", id, node,
                       path, p->location);
    free(path);
    return rc;
}

Stage *
backup_object_reader(Compression c, Cipher cipher, const DataKey *dk, const char *key, Stage *next)
{
    Stage *plain = stage_decompress_new(c, key, next);
    if (cipher != CIPHER_NONE)
        plain = stage_decrypt_new(data_key_lookup, (void *) dk, key, key, plain);
    return stage_hash_new(plain);
}

int
data_key_lookup(void *arg, const uint8_t id[STREAM_KEY_ID_LEN], uint8_t key[STREAM_KEY_LEN], Error *err)
{
    const DataKey *dk = arg;
    if (memcmp(dk->id, id, STREAM_KEY_ID_LEN) != 0)
        return error_set(err, "encrypted with a data key that is not this backup's (backup.key): moved from another "
                              "backup?");
    memcpy(key, dk->key, STREAM_KEY_LEN);
    return 0;
}

/* ---- WAL keys: nodes/<node>/wal/keys/<id>.key, any number; a new one
 * never overwrites another, so two first pushes racing both stay readable ---- */

static DataKey *
wal_cache_find(PoolKeys *k, const char *node, const uint8_t id[STREAM_KEY_ID_LEN])
{
    if (!k->wal_keys_node || strcmp(k->wal_keys_node, node) != 0)
        return NULL;
    for (size_t i = 0; i < k->nwal_keys; i++)
        if (!memcmp(k->wal_keys[i].id, id, STREAM_KEY_ID_LEN))
            return &k->wal_keys[i];
    return NULL;
}

static void
wal_cache_add(PoolKeys *k, const char *node, const DataKey *dk)
{
    if (!k->wal_keys_node || strcmp(k->wal_keys_node, node) != 0)
    {
        free(k->wal_keys_node);
        k->wal_keys_node = xstrdup(node);
        k->nwal_keys = 0;
    }
    k->wal_keys = xrealloc(k->wal_keys, (k->nwal_keys + 1) * sizeof(DataKey));
    k->wal_keys[k->nwal_keys++] = *dk;
}

static int
wal_key_load_id(Pool *p, const char *node, const char *hexid, DataKey *out, Error *err)
{
    char *path = xprintf("nodes/%s/wal/keys/%s.key", node, hexid);
    bool missing;
    int rc = data_key_load(p, path, out, &missing, err);
    if (rc == 0 && missing)
        rc = error_set(err, "WAL data key %s is missing from pool %s", path, p->location);
    char have[2 * STREAM_KEY_ID_LEN + 1];
    if (rc == 0)
    {
        hex_encode(out->id, sizeof(out->id), have);
        if (strcmp(have, hexid) != 0)
            rc = error_set(err, "WAL data key %s in pool %s holds key %s: moved from another name", path, p->location,
                           have);
    }
    free(path);
    return rc;
}

int
wal_key_current(Pool *p, const char *node, DataKey *out, Error *err)
{
    if (pool_keys_needed(p, "encrypting WAL", err) != 0)
        return -1;
    char *dir = xprintf("nodes/%s/wal/keys", node);
    StorageList l;
    if (storage_list(p->storage, dir, &l, err) != 0)
    {
        free(dir);
        return -1;
    }
    char hexid[2 * STREAM_KEY_ID_LEN + 1] = "";
    for (size_t i = 0; i < l.count && !*hexid; i++)
        if (!l.entries[i].is_dir && strlen(l.entries[i].name) == 2 * STREAM_KEY_ID_LEN + 4 &&
            str_ends_with(l.entries[i].name, ".key"))
        {
            memcpy(hexid, l.entries[i].name, 2 * STREAM_KEY_ID_LEN);
            hexid[2 * STREAM_KEY_ID_LEN] = '\0';
        }
    storage_list_free(&l);
    int rc;
    if (*hexid)
        rc = wal_key_load_id(p, node, hexid, out, err);
    else
    {
        random_bytes(out->id, sizeof(out->id));
        random_bytes(out->key, sizeof(out->key));
        hex_encode(out->id, sizeof(out->id), hexid);
        char *path = xprintf("%s/%s.key", dir, hexid);
        rc = data_key_write(p, path, out, err);
        free(path);
    }
    free(dir);
    return rc;
}

int
wal_key_lookup(void *arg, const uint8_t id[STREAM_KEY_ID_LEN], uint8_t key[STREAM_KEY_LEN], Error *err)
{
    const WalKeyLookup *wl = arg;
    PoolKeys *k = wl->pool->keys;
    if (pool_keys_needed(wl->pool, "reading encrypted WAL", err) != 0)
        return -1;
    pthread_mutex_lock(&k->lock);
    DataKey *dk = wal_cache_find(k, wl->node, id);
    int rc = 0;
    if (dk)
        memcpy(key, dk->key, STREAM_KEY_LEN);
    else
    {
        char hexid[2 * STREAM_KEY_ID_LEN + 1];
        hex_encode(id, STREAM_KEY_ID_LEN, hexid);
        DataKey loaded;
        rc = wal_key_load_id(wl->pool, wl->node, hexid, &loaded, err);
        if (rc == 0)
        {
            wal_cache_add(k, wl->node, &loaded);
            memcpy(key, loaded.key, STREAM_KEY_LEN);
        }
        memset(&loaded, 0, sizeof(loaded));
    }
    pthread_mutex_unlock(&k->lock);
    return rc;
}

void
wal_content_mac(const PoolKeys *k, const char *walname, const void *data, size_t len, char hex[65])
{
    uint8_t mac[32];
    hmac_sha256(k->wal_name_key, 32, walname, strlen(walname) + 1, data, len, NULL, 0, mac);
    hex_encode(mac, 32, hex);
}


/* ---- small WAL objects, whole in memory ---- */

typedef struct BufferSink
{
    Stage base;
    Buffer *out;
} BufferSink;

static int
sink_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    buffer_append(((BufferSink *) s)->out, data, len);
    return 0;
}

static int
sink_finish(Stage *s, Error *err)
{
    return 0;
}

static void
sink_destroy(Stage *s)
{
    free(s);
}

static const StageOps sink_ops = {"buffer", sink_write, sink_finish, sink_destroy};

static int
run_blob(Stage *head, const void *data, size_t len, Error *err)
{
    int rc = stage_write(head, data, len, err);
    if (rc == 0)
        rc = stage_finish(head, err);
    stage_free(head);
    return rc;
}

static Stage *
sink_new(Buffer *out)
{
    BufferSink *bs = xcalloc(1, sizeof(*bs));
    bs->base.ops = &sink_ops;
    bs->out = out;
    return &bs->base;
}

int
wal_blob_seal(Pool *p, const char *node, const char *path, const void *data, size_t len, Buffer *out, Error *err)
{
    DataKey dk;
    if (wal_key_current(p, node, &dk, err) != 0)
        return error_prefix(err, "%s: ", path);
    int rc = run_blob(stage_encrypt_new(dk.key, dk.id, path, sink_new(out)), data, len, err);
    memset(&dk, 0, sizeof(dk));
    return rc;
}

int
wal_blob_open(Pool *p, const char *node, const char *path, const void *data, size_t len, Buffer *out, Error *err)
{
    if (pool_keys_needed(p, "reading WAL metadata", err) != 0)
        return error_prefix(err, "%s: ", path);
    WalKeyLookup lookup = {.pool = p, .node = node};
    return run_blob(stage_decrypt_new(wal_key_lookup, &lookup, path, path, sink_new(out)), data, len, err);
}
