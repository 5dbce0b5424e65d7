/* Reading members of parsed JSON objects (API answers, task parameters,
 * sealed records) without repeating the type checks at every call. */
#ifndef STRATA_JSON_MEMBER_H
#define STRATA_JSON_MEMBER_H

#include <json-c/json.h>
#include <stdint.h>

/* o[key] if o is an object that has it as a string; NULL otherwise (o may be NULL). */
const char *json_member_string(json_object *o, const char *key);
/* o[key] as an integer; 0 if o is NULL or has no such member. */
int64_t json_member_int(json_object *o, const char *key);
/* The first element of the array `list` (may be NULL) that is an object
 * whose string member `key` is `value`; NULL if none. */
json_object *json_array_find(json_object *list, const char *key, const char *value);

#endif
