/* Key rotation: every key object re-wrapped under a new KEK, the pool
 * key last; no data object changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_objects.h"
#include "pool/keys.h"

/* ---- rotation ---- */

static int
rewrap_one(Pool *p, const Kek *next, const char *path, size_t *n, Error *err)
{
    json_object *o;
    bool missing;
    if (key_object_get(p->storage, path, &o, &missing, err) != 0)
        return -1;
    if (missing)
        return 0;
    int rc = 0;
    const char *kek_id = key_json_str(o, "kek_id");
    if (kek_id && !strcmp(kek_id, next->id))
    {
        json_object_put(o);   /* done by an interrupted run */
        return 0;
    }
    uint8_t secret[32];
    rc = key_object_unwrap(p->storage, &p->keys->kek, path, o, secret, err);
    if (rc == 0)
    {
        const char *kind = key_json_str(o, "kind");
        json_object *no = key_object_new(next, path, kind ? kind : "data", secret);
        const char *id = key_json_str(o, "id");
        if (id)
            json_object_object_add(no, "id", json_object_new_string(id));
        if (!strcmp(path, POOL_KEY_PATH))
            json_object_object_add(no, "kdf", json_object_get(next->kdf));
        rc = key_object_put(p->storage, path, no, err);
        json_object_put(no);
        if (rc == 0)
            (*n)++;
    }
    memset(secret, 0, sizeof(secret));
    json_object_put(o);
    return rc;
}

/* Every *.key or backup.key below `dir`'s entries. */
static int
rewrap_listed(Pool *p, const Kek *next, const char *dir, bool backups, size_t *n, Error *err)
{
    StorageList l;
    if (storage_list(p->storage, dir, &l, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.count; i++)
    {
        char *path = NULL;
        if (backups && l.entries[i].is_dir)
            path = xprintf("%s/%s/backup.key", dir, l.entries[i].name);
        else if (!backups && !l.entries[i].is_dir && str_ends_with(l.entries[i].name, ".key"))
            path = xprintf("%s/%s", dir, l.entries[i].name);
        if (path)
            rc = rewrap_one(p, next, path, n, err);
        free(path);
    }
    storage_list_free(&l);
    return rc;
}

/* Walks nodes/ as the layout has it (node names may hold '/'): a node's
 * "backups" and "wal" directories hold its key objects. Nodes are found by
 * their directories, not their node.json: a key object of a node whose
 * descriptor is damaged must not be left under the old key. */
static int
rewrap_tree(Pool *p, const Kek *next, const char *dir, int depth, size_t *n, Error *err)
{
    StorageList l;
    if (storage_list(p->storage, dir, &l, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.count; i++)
    {
        if (!l.entries[i].is_dir)
            continue;
        char *sub = xprintf("%s/%s", dir, l.entries[i].name);
        if (!strcmp(l.entries[i].name, "backups"))
            rc = rewrap_listed(p, next, sub, true, n, err);
        else if (!strcmp(l.entries[i].name, "wal"))
        {
            char *keys = xprintf("%s/keys", sub);
            rc = rewrap_listed(p, next, keys, false, n, err);
            free(keys);
        }
        else if (depth < 8)
            rc = rewrap_tree(p, next, sub, depth + 1, n, err);
        free(sub);
    }
    storage_list_free(&l);
    return rc;
}

static int
rotation_kdf(Pool *p, json_object **kdf, Error *err)
{
    Buffer b = {0};
    bool missing;
    *kdf = NULL;
    if (storage_get(p->storage, POOL_ROTATION_PATH, &b, &missing, err) != 0)
        return -1;
    if (missing)
        return 0;
    buffer_append(&b, "", 1);
    json_object *o = b.len < KEY_OBJECT_MAX ? json_tokener_parse(b.data) : NULL;
    buffer_free(&b);
    json_object *v;
    if (o && json_object_object_get_ex(o, "kdf", &v) && json_object_is_type(v, json_type_object))
        *kdf = json_object_get(v);
    json_object_put(o);
    return 0;
}

int
pool_keys_rotate(Pool *p, const char *new_key_file, const char *new_passphrase_file, size_t *rewrapped, char new_id[17],
                 Error *err)
{
    if (pool_keys_needed(p, "key rotation", err) != 0)
        return -1;
    json_object *kdf = NULL;
    if (new_passphrase_file && rotation_kdf(p, &kdf, err) != 0)
        return -1;
    const char *kname = key_json_str(kdf, "name");
    if (kdf && (!kname || strcmp(kname, "scrypt") != 0))
    {
        json_object_put(kdf);
        kdf = NULL;
    }
    Kek next;
    int rc = kek_from_file(new_key_file, new_passphrase_file, kdf, &next, err);
    json_object_put(kdf);
    if (rc != 0)
        return error_prefix(err, "the new key: ");
    if (!strcmp(next.id, p->keys->kek.id))
    {
        kek_free(&next);
        return error_set(err, "the new key is the pool's current key (key id %s): nothing to rotate", next.id);
    }
    memcpy(new_id, next.id, 17);
    /* First the record of the rotation (so an interrupted one is told
     * apart from a wrong key), then every data key, the pool key last. */
    json_object *rec = json_object_new_object();
    json_object_object_add(rec, "kek_id", json_object_new_string(next.id));
    json_object_object_add(rec, "kdf", json_object_get(next.kdf));
    rc = key_object_put(p->storage, POOL_ROTATION_PATH, rec, err);
    json_object_put(rec);
    *rewrapped = 0;
    if (rc == 0)
        rc = rewrap_tree(p, &next, "nodes", 0, rewrapped, err);
    if (rc == 0)
        rc = rewrap_one(p, &next, POOL_KEY_PATH, rewrapped, err);
    if (rc == 0)
        rc = storage_remove(p->storage, POOL_ROTATION_PATH, err);
    kek_free(&next);
    return rc;
}

