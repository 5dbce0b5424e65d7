/* Key objects (a 32-byte secret wrapped under the KEK, bound to its pool
 * path) and what the key code of crypto/ and pool/ shares: JSON fields,
 * hex, subkeys, the KEK of the configured key source. */
#ifndef STRATA_KEY_OBJECTS_H
#define STRATA_KEY_OBJECTS_H

#include "crypto/kek.h"
#include "pipeline/aead.h"
#include "storage/storage.h"

#define KEY_OBJECT_FORMAT 1
#define KEY_OBJECT_MAX 4096
#define WRAPPED_LEN (AEAD_NONCE_LEN + 32 + AEAD_TAG_LEN)

int key_hex_decode(const char *hex, uint8_t *out, size_t len);
const char *key_json_str(json_object *o, const char *key);
int64_t key_json_int(json_object *o, const char *key, int64_t dflt);
/* HMAC-SHA256(key, label): a subkey. */
void key_derive(const uint8_t *key, const char *label, uint8_t out[32]);
/* The KEK of the configured key source (kdf: the pool's parameters). */
int kek_from_source(json_object *kdf, Kek *out, Error *err);

/* Key objects: {"format","kind","cipher","kek_id","wrapped",...}; the
 * wrap's associated data is "strata-key-v1\0" and the object's path. */
json_object *key_object_new(const Kek *kek, const char *path, const char *kind, const uint8_t secret[32]);
int key_object_put(Storage *s, const char *path, json_object *o, Error *err);
int key_object_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err);
int key_object_unwrap(Storage *s, const Kek *kek, const char *path, json_object *o, uint8_t secret[32], Error *err);

#endif
