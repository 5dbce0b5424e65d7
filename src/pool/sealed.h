/* Sealed JSON: small metadata objects (pool descriptor, node identity,
 * manifests) stored as the JSON text, a newline, and "sha256:<hex>" of the
 * text. A missing or wrong seal means corrupt, never silently used. */
#ifndef STRATA_SEALED_H
#define STRATA_SEALED_H

#include <json-c/json.h>
#include <stdbool.h>

#include "storage/storage.h"

int sealed_put(Storage *s, const char *path, json_object *obj, Error *err);
/* *missing set (0 returned, *out NULL) when the object does not exist. */
int sealed_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err);

#endif
