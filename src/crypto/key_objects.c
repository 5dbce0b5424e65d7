/* Key objects: a 32-byte secret wrapped with AES-256-GCM under the KEK,
 * bound to its pool path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_objects.h"

/* ---- key objects: {"format","kind","kek_id","wrapped", ...} ---- */

static void
wrap_ad(const char *path, Buffer *ad)
{
    buffer_append(ad, "strata-key-v1", 14);   /* with its NUL */
    buffer_append(ad, path, strlen(path));
}

json_object *
key_object_new(const Kek *kek, const char *path, const char *kind, const uint8_t secret[32])
{
    uint8_t w[WRAPPED_LEN];
    Buffer ad = {0};
    wrap_ad(path, &ad);
    random_bytes(w, AEAD_NONCE_LEN);
    AeadCtx *ctx = aead_new(kek->key, true);
    if (aead_seal(ctx, w, (uint8_t *) ad.data, ad.len, secret, 32, w + AEAD_NONCE_LEN, w + AEAD_NONCE_LEN + 32) != 0)
        abort();
    aead_free(ctx);
    buffer_free(&ad);
    char hex[2 * WRAPPED_LEN + 1];
    hex_encode(w, sizeof(w), hex);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "format", json_object_new_int(KEY_OBJECT_FORMAT));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "cipher", json_object_new_string("aes-256-gcm"));
    json_object_object_add(o, "kek_id", json_object_new_string(kek->id));
    json_object_object_add(o, "wrapped", json_object_new_string(hex));
    return o;
}

int
key_object_put(Storage *s, const char *path, json_object *o, Error *err)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    Buffer b = {0};
    buffer_appendf(&b, "%s\n", text);
    int rc = storage_put(s, path, b.data, b.len, err);
    buffer_free(&b);
    return rc ? error_prefix(err, "writing key object %s: ", path) : 0;
}

int
key_object_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err)
{
    Buffer b = {0};
    *out = NULL;
    if (storage_get(s, path, &b, missing, err) != 0)
        return error_prefix(err, "reading key object %s: ", path);
    if (*missing)
        return 0;
    if (b.len > KEY_OBJECT_MAX)
    {
        buffer_free(&b);
        return error_set(err, "key object %s in pool %s is %zu bytes (at most %d): not a key object", path,
                         s->location, b.len, KEY_OBJECT_MAX);
    }
    buffer_append(&b, "", 1);
    *out = json_tokener_parse(b.data);
    buffer_free(&b);
    if (!*out || !json_object_is_type(*out, json_type_object) || key_json_int(*out, "format", -1) != KEY_OBJECT_FORMAT)
    {
        json_object_put(*out);
        *out = NULL;
        return error_set(err, "key object %s in pool %s is corrupt (not a format %d key object)", path, s->location,
                         KEY_OBJECT_FORMAT);
    }
    return 0;
}

int
key_object_unwrap(Storage *s, const Kek *kek, const char *path, json_object *o, uint8_t secret[32], Error *err)
{
    const char *kek_id = key_json_str(o, "kek_id");
    if (!kek_id || strcmp(kek_id, kek->id) != 0)
        return error_set(err,
                         "key object %s in pool %s is wrapped by key %s, not by the configured key %s (%s)%s", path,
                         s->location, kek_id ? kek_id : "?", kek->id, key_source_describe(),
                         "; if a key rotation was interrupted, rerun strata key rotate");
    uint8_t w[WRAPPED_LEN];
    if (key_hex_decode(key_json_str(o, "wrapped"), w, sizeof(w)) != 0)
        return error_set(err, "key object %s in pool %s is corrupt (its wrapped key is malformed)", path, s->location);
    Buffer ad = {0};
    wrap_ad(path, &ad);
    AeadCtx *ctx = aead_new(kek->key, false);
    int rc = aead_open(ctx, w, (uint8_t *) ad.data, ad.len, w + AEAD_NONCE_LEN, 32, w + AEAD_NONCE_LEN + 32, secret);
    aead_free(ctx);
    buffer_free(&ad);
    if (rc != 0)
        return error_set(err, "key object %s in pool %s does not authenticate under key %s: it was modified or moved "
                              "from another path", path, s->location, kek->id);
    return 0;
}

