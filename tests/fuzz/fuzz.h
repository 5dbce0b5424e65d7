/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): the input as a
 * NUL-terminated string, and JSON parsed the way strata parses what it
 * reads (json-c's tokener, bounded depth). */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static inline json_object *
fuzz_json(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);
    json_object *o = json_tokener_parse(s);
    free(s);
    return o;
}

#endif
