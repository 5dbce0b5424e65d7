/* The part of every request's codec that does not depend on the request:
 * a table of fields (command-line flag, JSON key, value type) and one
 * setter per request type that parses a field's text. A JSON value is
 * turned into the text its flag would carry and goes through the same
 * setter, so that both spellings are checked by the same code. */
#ifndef STRATA_REQUEST_CODEC_H
#define STRATA_REQUEST_CODEC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum RequestFieldType
{
    FIELD_STRING,
    FIELD_FLAG,     /* no argument; JSON: true (false: as if absent) */
    FIELD_INT,      /* JSON: an integer */
    FIELD_SIZE,     /* JSON: an integer of bytes or a string with K, M, G */
    FIELD_LIST,     /* repeatable; JSON: an array of strings */
} RequestFieldType;

typedef struct RequestField
{
    int id;
    const char *flag;   /* command line: --flag */
    const char *key;    /* JSON */
    RequestFieldType type;
} RequestField;

/* Parses `value` (NULL for a FIELD_FLAG) into the request; `label` is the
 * field as the caller spelled it (--base-port or "base_port"), for errors. */
typedef int (*RequestSetter)(void *req, const RequestField *f, const char *label, const char *value, Error *err);

typedef struct RequestSchema
{
    const char *what;   /* "restore", "backup": in messages */
    const RequestField *fields;
    size_t nfields;
    RequestSetter set;
} RequestSchema;

/* What the setters share: a string field replaced by a copy of value; an
 * integer field within [min, max] (the error prefixed by the label). */
void request_set_string(char **slot, const char *value);
int request_set_int(const char *label, const char *value, long min, long max, int *out, Error *err);

/* The fields given (bit `id` of `given` set) as one JSON object, each
 * value written by field_json(req, id). */
json_object *request_given_json(const RequestSchema *s, uint64_t given, json_object *(*field_json)(const void *req, int id),
                                const void *req);

/* 1: not a field of the schema; 0: set; -1: bad value (*err). */
int request_set_flag(const RequestSchema *s, void *req, const char *flag, const char *value, Error *err);
int request_from_argv(const RequestSchema *s, void *req, int argc, char **argv, Error *err);
/* Strict: an unknown member or a wrong type is an error. */
int request_from_json(const RequestSchema *s, void *req, json_object *body, Error *err);

#endif
