#include "pool/fields.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
field_reader_init(FieldReader *r, const char *what, Error *err)
{
    r->what = what;
    r->err = err;
    r->failed = false;
}

int
field_fail(FieldReader *r, const char *fmt, ...)
{
    if (r->failed)
        return -1;
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->failed = true;
    return error_set(r->err, "%s: %s", r->what, msg);
}

static const char *
type_name(json_type t)
{
    switch (t)
    {
        case json_type_null: return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double: return "a number";
        case json_type_int: return "an integer";
        case json_type_object: return "an object";
        case json_type_array: return "an array";
        case json_type_string: return "a string";
    }
    return "?";
}

json_object *
field_get(FieldReader *r, json_object *o, const char *key, json_type type)
{
    json_object *v;
    if (r->failed)
        return NULL;
    if (!json_object_is_type(o, json_type_object))
    {
        field_fail(r, "expected an object holding '%s', found %s", key, type_name(json_object_get_type(o)));
        return NULL;
    }
    if (!json_object_object_get_ex(o, key, &v))
    {
        field_fail(r, "field '%s' is missing", key);
        return NULL;
    }
    if (!json_object_is_type(v, type))
    {
        field_fail(r, "field '%s' is %s, not %s", key, type_name(json_object_get_type(v)), type_name(type));
        return NULL;
    }
    return v;
}

bool
field_present(json_object *o, const char *key)
{
    json_object *v;
    return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) &&
           !json_object_is_type(v, json_type_null);
}

/* Length and characters of a string member, without copying it. */
static const char *
text_of(FieldReader *r, json_object *o, const char *key, size_t max)
{
    json_object *v = field_get(r, o, key, json_type_string);
    if (!v)
        return NULL;
    const char *s = json_object_get_string(v);
    size_t len = (size_t) json_object_get_string_len(v);
    if (len > max)
    {
        field_fail(r, "field '%s' is %zu bytes long (at most %zu)", key, len, max);
        return NULL;
    }
    if (strlen(s) != len)
    {
        field_fail(r, "field '%s' holds a NUL byte", key);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
        {
            field_fail(r, "field '%s' holds a control character (byte 0x%02x)", key, (unsigned char) s[i]);
            return NULL;
        }
    return s;
}

char *
field_text(FieldReader *r, json_object *o, const char *key, size_t max)
{
    const char *s = text_of(r, o, key, max);
    return s ? xstrdup(s) : NULL;
}

int
name_check(const char *what, const char *name, bool slashes, Error *err)
{
    size_t len = strlen(name);
    if (len == 0)
        return error_set(err, "%s is empty", what);
    if (len > FIELD_NAME_MAX)
        return error_set(err, "%s is %zu characters long (at most %d)", what, len, FIELD_NAME_MAX);
    bool part_start = true;
    for (const char *c = name; *c; c++)
    {
        if (*c == '/' && slashes)
        {
            if (part_start)
                return error_set(err, "%s '%s' has an empty part", what, name);
            part_start = true;
            continue;
        }
        if (!(isalnum((unsigned char) *c) || *c == '_' || *c == '-' || *c == '.'))
            return error_set(err, "%s '%.*s...' holds '%c' (byte 0x%02x): letters, digits, '_', '-', '.'%s only", what,
                             (int) (c - name), name, isprint((unsigned char) *c) ? *c : '?', (unsigned char) *c,
                             slashes ? " and '/'" : "");
        if (part_start && (*c == '.' || *c == '-'))
            return error_set(err, "%s '%s': a part starts with '%c'", what, name, *c);
        part_start = false;
    }
    if (part_start)
        return error_set(err, "%s '%s' ends with '/'", what, name);
    return 0;
}

int
relative_path_check(const char *what, const char *path, Error *err)
{
    size_t len = strlen(path);
    if (len == 0)
        return error_set(err, "%s is empty", what);
    if (len > 4000)
        return error_set(err, "%s is %zu bytes long (at most 4000)", what, len);
    if (path[0] == '/')
        return error_set(err, "%s %s is absolute: it leaves the data directory", what, path);
    for (const char *c = path; *c; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            return error_set(err, "%s holds a control character (byte 0x%02x)", what, (unsigned char) *c);
    /* Every part: not empty, not "." and not "..". */
    const char *part = path;
    for (;;)
    {
        size_t n = strcspn(part, "/");
        if (n == 2 && part[0] == '.' && part[1] == '.')
            return error_set(err, "%s %s leaves the data directory (its part '..')", what, path);
        if (n == 0 || (n == 1 && part[0] == '.'))
            return error_set(err, "%s %s has a part '%.*s' (empty or '.'): not a path strata writes", what, path,
                             (int) n, part);
        if (part[n] == '\0')
            return 0;
        part += n + 1;
    }
}

char *
field_name(FieldReader *r, json_object *o, const char *key, bool slashes)
{
    const char *s = text_of(r, o, key, FIELD_NAME_MAX);
    if (!s)
        return NULL;
    char what[96];
    snprintf(what, sizeof(what), "field '%s'", key);
    Error e;
    if (name_check(what, s, slashes, &e) != 0)
    {
        field_fail(r, "%s", e.msg);
        return NULL;
    }
    return xstrdup(s);
}

char *
field_path(FieldReader *r, json_object *o, const char *key, const char *what)
{
    const char *s = text_of(r, o, key, 4000);
    if (!s)
        return NULL;
    Error e;
    if (relative_path_check(what, s, &e) != 0)
    {
        field_fail(r, "%s", e.msg);
        return NULL;
    }
    return xstrdup(s);
}

int64_t
field_int(FieldReader *r, json_object *o, const char *key, int64_t min, int64_t max)
{
    json_object *v = field_get(r, o, key, json_type_int);
    if (!v)
        return 0;
    /* json-c saturates integers past int64 at INT64_MAX/MIN: a value at
     * either end is as suspicious as one out of range. */
    int64_t x = json_object_get_int64(v);
    if (x < min || x > max || x == INT64_MAX || x == INT64_MIN)
    {
        field_fail(r, "field '%s' is %lld: out of range (%lld to %lld)", key, (long long) x, (long long) min,
                   (long long) max);
        return 0;
    }
    return x;
}

double
field_double(FieldReader *r, json_object *o, const char *key, double min, double max)
{
    json_object *v;
    if (r->failed)
        return 0;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
    {
        field_fail(r, "field '%s' is missing or not a number", key);
        return 0;
    }
    double x = json_object_get_double(v);
    if (!isfinite(x) || x < min || x > max)
    {
        field_fail(r, "field '%s' is %g: out of range (%g to %g)", key, x, min, max);
        return 0;
    }
    return x;
}

bool
field_bool(FieldReader *r, json_object *o, const char *key)
{
    json_object *v = field_get(r, o, key, json_type_boolean);
    return v && json_object_get_boolean(v);
}

uint64_t
field_u64_text(FieldReader *r, json_object *o, const char *key)
{
    const char *s = text_of(r, o, key, 20);
    uint64_t v = 0;
    Error e;
    if (s && parse_u64(s, &v, &e) != 0)
        field_fail(r, "field '%s': %s", key, e.msg);
    return v;
}

Lsn
field_lsn(FieldReader *r, json_object *o, const char *key)
{
    const char *s = text_of(r, o, key, 17);
    Lsn l = 0;
    Error e;
    if (s && lsn_parse(s, &l, &e) != 0)
        field_fail(r, "field '%s': %s", key, e.msg);
    return l;
}

void
field_sha256(FieldReader *r, json_object *o, const char *key, char out[65])
{
    out[0] = '\0';
    const char *s = text_of(r, o, key, 64);
    if (!s)
        return;
    bool ok = strlen(s) == 64;
    for (size_t i = 0; ok && i < 64; i++)
        ok = isdigit((unsigned char) s[i]) || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok)
    {
        field_fail(r, "field '%s' is not a SHA-256 (64 lower-case hexadecimal digits)", key);
        return;
    }
    memcpy(out, s, 65);
}

json_object *
field_array(FieldReader *r, json_object *o, const char *key, size_t max)
{
    json_object *v = field_get(r, o, key, json_type_array);
    if (v && json_object_array_length(v) > max)
    {
        field_fail(r, "field '%s' has %zu entries (at most %zu)", key, json_object_array_length(v), max);
        return NULL;
    }
    return v;
}
