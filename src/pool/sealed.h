/* Sealed JSON: small metadata objects (pool descriptor, node identity,
 * manifests) stored as the JSON text, a newline, and a seal line:
 *
 *   sha256:<hex>        of the text: a pool without keys (corruption is
 *                       caught, forgery is not)
 *   hmac-sha256:<hex>   HMAC-SHA256 with the pool's seal key (pool/keys.h)
 *                       of the object's path and the text: a keyed pool;
 *                       nobody without the key can write or move one
 *
 * A missing or wrong seal means corrupt or forged, never silently used. */
#ifndef STRATA_SEALED_H
#define STRATA_SEALED_H

#include <json-c/json.h>
#include <stdbool.h>

#include "pool/pool.h"
#include "storage/storage.h"

/* Plain SHA-256 seals, for what is read before the keys: the descriptor. */
int sealed_put(Storage *s, const char *path, json_object *obj, Error *err);
/* *missing set (0 returned, *out NULL) when the object does not exist. */
int sealed_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err);

/* Everything else: an HMAC seal in a keyed pool (its key needed to write;
 * to read too, unless p->unauthenticated_ok, when the seal is not checked
 * and p->unauthenticated counts it), a SHA-256 one otherwise. A keyed
 * pool refuses a SHA-256 seal: it is what a forger would write. */
int pool_sealed_put(Pool *p, const char *path, json_object *obj, Error *err);
int pool_sealed_get(Pool *p, const char *path, json_object **out, bool *missing, Error *err);

#endif
