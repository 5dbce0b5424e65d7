#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "request/codec.h"

void
request_set_string(char **slot, const char *value)
{
    free(*slot);
    *slot = xstrdup(value);
}

int
request_set_int(const char *label, const char *value, long min, long max, int *out, Error *err)
{
    long v;
    if (parse_int_range(value, min, max, &v, err) != 0)
        return error_prefix(err, "%s: ", label);
    *out = (int) v;
    return 0;
}

int
request_set_flag(const RequestSchema *s, void *req, const char *flag, const char *value, Error *err)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (!strcmp(s->fields[i].flag, flag))
        {
            char *label = xprintf("--%s", flag);
            int rc = s->set(req, &s->fields[i], label, value, err);
            free(label);
            return rc;
        }
    return 1;
}

int
request_from_argv(const RequestSchema *s, void *req, int argc, char **argv, Error *err)
{
    struct option *opts = xcalloc(s->nfields + 1, sizeof(*opts));
    for (size_t i = 0; i < s->nfields; i++)
        opts[i] = (struct option) {s->fields[i].flag, s->fields[i].type == FIELD_FLAG ? no_argument : required_argument,
                                   NULL, (int) i + 256};
    opterr = 0;
    optind = 1;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        if (c < 256)
            rc = error_set(err, "%s: unknown flag or missing value: '%s'", s->what, argv[optind - 1]);
        else if (request_set_flag(s, req, s->fields[c - 256].flag, optarg, err) != 0)
            rc = -1;
    }
    if (rc == 0 && optind != argc)
        rc = error_set(err, "%s: unexpected argument '%s'", s->what, argv[optind]);
    free(opts);
    return rc;
}

/* A JSON value as the text the flag would have carried; NULL for a
 * false flag (as if absent). */
static int
json_field_text(const RequestField *f, const char *label, json_object *v, char **text, Error *err)
{
    *text = NULL;
    switch (f->type)
    {
        case FIELD_FLAG:
            if (!json_object_is_type(v, json_type_boolean))
                return error_set(err, "%s must be true or false", label);
            if (json_object_get_boolean(v))
                *text = xstrdup("");
            return 0;
        case FIELD_INT:
            if (!json_object_is_type(v, json_type_int))
                return error_set(err, "%s must be an integer", label);
            *text = xprintf("%lld", (long long) json_object_get_int64(v));
            return 0;
        case FIELD_SIZE:   /* bytes, or a string such as "10M" */
            if (json_object_is_type(v, json_type_int))
            {
                *text = xprintf("%lld", (long long) json_object_get_int64(v));
                return 0;
            }
            if (!json_object_is_type(v, json_type_string))
                return error_set(err, "%s must be an integer or a string such as \"10M\"", label);
            *text = xstrdup(json_object_get_string(v));
            return 0;
        case FIELD_STRING:
            if (!json_object_is_type(v, json_type_string))
                return error_set(err, "%s must be a string", label);
            *text = xstrdup(json_object_get_string(v));
            return 0;
        case FIELD_LIST: break;
    }
    return 0;
}

static int
json_field(const RequestSchema *s, void *req, const RequestField *f, json_object *v, Error *err)
{
    char *label = xprintf("\"%s\"", f->key);
    int rc = 0;
    if (f->type == FIELD_LIST)
    {
        if (!json_object_is_type(v, json_type_array))
            rc = error_set(err, "%s must be an array of strings", label);
        for (size_t i = 0; rc == 0 && i < json_object_array_length(v); i++)
        {
            json_object *e = json_object_array_get_idx(v, i);
            rc = json_object_is_type(e, json_type_string) ? s->set(req, f, label, json_object_get_string(e), err)
                                                          : error_set(err, "%s must be an array of strings", label);
        }
    }
    else
    {
        char *text;
        rc = json_field_text(f, label, v, &text, err);
        if (rc == 0 && text)
            rc = s->set(req, f, label, f->type == FIELD_FLAG ? NULL : text, err);
        free(text);
    }
    free(label);
    return rc;
}

int
request_from_json(const RequestSchema *s, void *req, json_object *body, Error *err)
{
    if (!body || !json_object_is_type(body, json_type_object))
        return error_set(err, "a %s request must be a JSON object", s->what);
    json_object_object_foreach(body, key, v)
    {
        const RequestField *f = NULL;
        for (size_t i = 0; !f && i < s->nfields; i++)
            if (!strcmp(s->fields[i].key, key))
                f = &s->fields[i];
        if (!f)
            return error_set(err, "unknown field \"%s\" in a %s request", key, s->what);
        if (v && json_field(s, req, f, v, err) != 0)
            return -1;
    }
    return 0;
}

json_object *
request_given_json(const RequestSchema *s, uint64_t given, json_object *(*field_json)(const void *req, int id),
                   const void *req)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < s->nfields; i++)
        if (given & ((uint64_t) 1 << s->fields[i].id))
            json_object_object_add(o, s->fields[i].key, field_json(req, s->fields[i].id));
    return o;
}
