#include "pool/sealed.h"

#include <openssl/evp.h>
#include <string.h>

#define SEAL_PREFIX "sha256:"

static void
sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
}

int
sealed_put(Storage *s, const char *path, json_object *obj, Error *err)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    char hex[65];
    sha256_hex(text, len, hex);
    Buffer b = {0};
    buffer_append(&b, text, len);
    buffer_appendf(&b, "\n" SEAL_PREFIX "%s\n", hex);
    int rc = storage_put(s, path, b.data, b.len, err);
    buffer_free(&b);
    if (rc != 0)
        return error_prefix(err, "writing %s: ", path);
    return 0;
}

int
sealed_get(Storage *s, const char *path, json_object **out, bool *missing, Error *err)
{
    Buffer b = {0};
    *out = NULL;
    if (storage_get(s, path, &b, missing, err) != 0)
        return error_prefix(err, "reading %s: ", path);
    if (*missing)
        return 0;
    /* The seal is the last line: "\nsha256:<64 hex>\n". */
    size_t seal_len = 1 + strlen(SEAL_PREFIX) + 64 + 1;
    if (b.len < seal_len || memcmp(b.data + b.len - seal_len, "\n" SEAL_PREFIX, 1 + strlen(SEAL_PREFIX)) != 0)
    {
        buffer_free(&b);
        return error_set(err, "%s in pool %s is corrupt: its checksum line is missing (truncated?)", path,
                         s->location);
    }
    size_t text_len = b.len - seal_len;
    char hex[65];
    sha256_hex(b.data, text_len, hex);
    if (memcmp(hex, b.data + text_len + 1 + strlen(SEAL_PREFIX), 64) != 0)
    {
        buffer_free(&b);
        return error_set(err, "%s in pool %s is corrupt: checksum mismatch", path, s->location);
    }
    b.data[text_len] = '\0';
    enum json_tokener_error jerr;
    *out = json_tokener_parse_verbose(b.data, &jerr);
    buffer_free(&b);
    if (!*out)
        return error_set(err, "%s in pool %s is not valid JSON: %s", path, s->location,
                         json_tokener_error_desc(jerr));
    return 0;
}
