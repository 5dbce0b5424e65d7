#include "pool/sealed.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>

#include "pipeline/aead.h"
#include "pool/keys.h"

#define SEAL_PREFIX "sha256:"
#define HMAC_PREFIX "hmac-sha256:"

static void
sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
}

/* The path is in the MAC: a manifest cannot be put in another backup's place. */
static void
seal_mac_hex(const PoolKeys *k, const char *path, const void *text, size_t len, char hex[65])
{
    uint8_t mac[32];
    hmac_sha256(k->seal_key, sizeof(k->seal_key), path, strlen(path) + 1, text, len, NULL, 0, mac);
    hex_encode(mac, 32, hex);
}

static int
put_text(Storage *s, const char *path, json_object *obj, const PoolKeys *keys, Error *err)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    char hex[65];
    if (keys)
        seal_mac_hex(keys, path, text, len, hex);
    else
        sha256_hex(text, len, hex);
    Buffer b = {0};
    buffer_append(&b, text, len);
    buffer_appendf(&b, "\n%s%s\n", keys ? HMAC_PREFIX : SEAL_PREFIX, hex);
    int rc = storage_put(s, path, b.data, b.len, err);
    buffer_free(&b);
    if (rc != 0)
        return error_prefix(err, "writing %s: ", path);
    return 0;
}

int
sealed_put(Storage *s, const char *path, json_object *obj, Error *err)
{
    return put_text(s, path, obj, NULL, err);
}

int
pool_sealed_put(Pool *p, const char *path, json_object *obj, Error *err)
{
    if (p->keyed && !p->keys)
        return error_set(err, "writing %s: pool %s is keyed, and its objects are authenticated with its key: configure "
                              "it (--key-file FILE or --passphrase-file FILE)", path, p->location);
    return put_text(p->storage, path, obj, p->keys, err);
}

typedef enum SealKind
{
    SEAL_SHA256,
    SEAL_HMAC,
} SealKind;

/* Splits "<text>\n<prefix><64 hex>\n"; the text is NUL-terminated in place. */
static int
split_seal(Buffer *b, const char *path, const char *location, SealKind *kind, char hex[65], Error *err)
{
    size_t hmac_len = 1 + strlen(HMAC_PREFIX) + 64 + 1, sha_len = 1 + strlen(SEAL_PREFIX) + 64 + 1;
    size_t seal_len;
    if (b->len >= hmac_len && !memcmp(b->data + b->len - hmac_len, "\n" HMAC_PREFIX, 1 + strlen(HMAC_PREFIX)))
    {
        *kind = SEAL_HMAC;
        seal_len = hmac_len;
    }
    else if (b->len >= sha_len && !memcmp(b->data + b->len - sha_len, "\n" SEAL_PREFIX, 1 + strlen(SEAL_PREFIX)))
    {
        *kind = SEAL_SHA256;
        seal_len = sha_len;
    }
    else
        return error_set(err, "%s in pool %s is corrupt: its checksum line is missing (truncated?)", path, location);
    memcpy(hex, b->data + b->len - 65, 64);
    hex[64] = '\0';
    b->len -= seal_len;
    b->data[b->len] = '\0';
    return 0;
}

static int
check_seal(Pool *p, Storage *s, const char *path, Buffer *b, Error *err)
{
    SealKind kind = SEAL_SHA256;
    char stored[65], hex[65];
    if (split_seal(b, path, s->location, &kind, stored, err) != 0)
        return -1;
    bool keyed = p && p->keyed;
    if (kind == SEAL_SHA256)
    {
        if (keyed)
            return error_set(err, "%s in pool %s has a plain SHA-256 seal, but the pool is keyed and seals everything "
                                  "with its key: forged or re-sealed without the key; refusing it", path, s->location);
        sha256_hex(b->data, b->len, hex);
        if (!bytes_equal(hex, stored, 64))
            return error_set(err, "%s in pool %s is corrupt: checksum mismatch", path, s->location);
        return 0;
    }
    if (!p || !p->keyed)
        return error_set(err, "%s in pool %s is sealed with a key, but the pool has no keys (%s missing): refusing it",
                         path, s->location, POOL_KEY_PATH);
    if (!p->keys)
    {
        if (p->unauthenticated_ok)
        {
            atomic_fetch_add(&p->unauthenticated, 1);
            return 0;
        }
        return error_set(err, "%s in pool %s is authenticated with the pool's key: configure it (--key-file FILE or "
                              "--passphrase-file FILE) to use it", path, s->location);
    }
    seal_mac_hex(p->keys, path, b->data, b->len, hex);
    if (!bytes_equal(hex, stored, 64))
        return error_set(err, "%s in pool %s fails its authentication (HMAC-SHA256 with the pool's key): it was modified, "
                              "forged or moved from another path; refusing it", path, s->location);
    return 0;
}

static int
get_text(Pool *p, Storage *s, const char *path, json_object **out, bool *missing, Error *err)
{
    Buffer b = {0};
    *out = NULL;
    if (storage_get(s, path, &b, missing, err) != 0)
        return error_prefix(err, "reading %s: ", path);
    if (*missing)
        return 0;
    if (check_seal(p, s, path, &b, err) != 0)
    {
        buffer_free(&b);
        return -1;
    }
    enum json_tokener_error jerr;
    *out = json_tokener_parse_verbose(b.data, &jerr);
    buffer_free(&b);
    if (!*out)
        return error_set(err, "%s in pool %s is not valid JSON: %s", path, s->location, json_tokener_error_desc(jerr));
    return 0;
}

int
sealed_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err)
{
    return get_text(NULL, s, path, out, missing, err);
}

int
pool_sealed_get(Pool *p, const char *path, json_object **out, bool *missing, Error *err)
{
    return get_text(p, p->storage, path, out, missing, err);
}
