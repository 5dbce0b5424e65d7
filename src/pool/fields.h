/* The one reader for JSON strata reads back from the pool (manifests,
 * node and pool descriptors, cluster backup manifests, consistency points,
 * leases): every field typed, range-checked and, for names and paths,
 * checked against what strata itself would write. Whoever can write the
 * pool can write anything into these objects, so nothing read here is
 * trusted: a name can reach a command line, a path the file system.
 *
 * Usage: a FieldReader collects the first failure; every getter is a no-op
 * returning 0/NULL once one failed, so a parser reads all fields and checks
 * r.failed once. */
#ifndef STRATA_POOL_FIELDS_H
#define STRATA_POOL_FIELDS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "pg/wal.h"

typedef struct FieldReader
{
    const char *what;      /* the object, for messages: a pool path */
    Error *err;
    bool failed;
} FieldReader;

/* Longest free text (labels, times as text) and name strata accepts. */
#define FIELD_TEXT_MAX 1024
#define FIELD_NAME_MAX 200
/* Most entries an array read from the pool may hold (files of a manifest). */
#define FIELD_ARRAY_MAX 10000000

void field_reader_init(FieldReader *r, const char *what, Error *err);
/* Records a failure (the first one wins) with r->what prefixed; returns -1. */
int field_fail(FieldReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A required member of `type`; NULL (and failed) when missing or of another type. */
json_object *field_get(FieldReader *r, json_object *o, const char *key, json_type type);
/* Present and not null? */
bool field_present(json_object *o, const char *key);

/* Text of at most `max` bytes with no control characters (caller frees). */
char *field_text(FieldReader *r, json_object *o, const char *key, size_t max);
/* A name: letters, digits, '_', '-', '.', and '/' between parts when
 * `slashes` (node names like c1/shard1); no part starts with '.', no empty
 * part; at most FIELD_NAME_MAX bytes (caller frees). */
char *field_name(FieldReader *r, json_object *o, const char *key, bool slashes);
/* A path relative to a directory that stays inside it (caller frees);
 * `what` names it in messages ("file path"). */
char *field_path(FieldReader *r, json_object *o, const char *key, const char *what);
/* A JSON integer in [min, max]. */
int64_t field_int(FieldReader *r, json_object *o, const char *key, int64_t min, int64_t max);
/* A number (integer or not) in [min, max], finite. */
double field_double(FieldReader *r, json_object *o, const char *key, double min, double max);
bool field_bool(FieldReader *r, json_object *o, const char *key);
/* A decimal string (64-bit values are written as strings), overflow refused. */
uint64_t field_u64_text(FieldReader *r, json_object *o, const char *key);
Lsn field_lsn(FieldReader *r, json_object *o, const char *key);
/* 64 lower-case hex digits into out. */
void field_sha256(FieldReader *r, json_object *o, const char *key, char out[65]);
/* An array of at most `max` entries. */
json_object *field_array(FieldReader *r, json_object *o, const char *key, size_t max);

/* The checks behind field_name / field_path, for names and paths that do
 * not come from JSON (`what` names the thing in the message). */
int name_check(const char *what, const char *name, bool slashes, Error *err);
int relative_path_check(const char *what, const char *path, Error *err);

#endif
