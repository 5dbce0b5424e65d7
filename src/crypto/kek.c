/* The user's key: where it comes from (a key file, or a passphrase through
 * scrypt), turned into the KEK. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_objects.h"

/* scrypt cost for new passphrases (32 MiB, about 0.1 s); the bounds a
 * stored one must keep are in scrypt_derive (it is read from the pool). */
#define SCRYPT_LOG2_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1

/* ---- key source ---- */

static const char *source_key_file, *source_passphrase_file;
static char source_text[600];

void
key_source_from_env(void)
{
    const char *k = getenv("STRATA_KEY_FILE"), *p = getenv("STRATA_PASSPHRASE_FILE");
    if (k && *k && !source_key_file && !source_passphrase_file)
        source_key_file = k;
    else if (p && *p && !source_key_file && !source_passphrase_file)
        source_passphrase_file = p;
}

void
key_source_set_key_file(const char *path)
{
    source_key_file = path;
    source_passphrase_file = NULL;
}

void
key_source_set_passphrase_file(const char *path)
{
    source_passphrase_file = path;
    source_key_file = NULL;
}

bool
key_source_configured(void)
{
    return source_key_file || source_passphrase_file;
}

bool
key_source_file(const char **flag, const char **path)
{
    *flag = source_key_file ? "--key-file" : "--passphrase-file";
    *path = source_key_file ? source_key_file : source_passphrase_file;
    return *path != NULL;
}

const char *
key_source_describe(void)
{
    if (source_key_file)
        snprintf(source_text, sizeof(source_text), "--key-file %s", source_key_file);
    else if (source_passphrase_file)
        snprintf(source_text, sizeof(source_text), "--passphrase-file %s", source_passphrase_file);
    else
        snprintf(source_text, sizeof(source_text), "no key configured");
    return source_text;
}

/* ---- helpers ---- */

int
key_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++)
    {
        unsigned v;
        if (!isxdigit((unsigned char) hex[2 * i]) || !isxdigit((unsigned char) hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t) v;
    }
    return 0;
}

const char *
key_json_str(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

int64_t
key_json_int(json_object *o, const char *key, int64_t dflt)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
                                                                                               : dflt;
}

void
key_derive(const uint8_t *key, const char *label, uint8_t out[32])
{
    hmac_sha256(key, 32, label, strlen(label), NULL, 0, NULL, 0, out);
}

/* A secret file: ours alone to read, like an ssh key. */
static int
read_secret_file(const char *path, const char *flag, Buffer *out, Error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return error_errno(err, "%s %s", flag, path);
    if (!S_ISREG(st.st_mode))
        return error_set(err, "%s %s is not a regular file", flag, path);
    if (st.st_mode & 077)
        return error_set(err, "%s %s can be read by other users (mode %03o): chmod 600 it", flag, path,
                         (unsigned) (st.st_mode & 0777));
    if (st.st_size > 4096)
        return error_set(err, "%s %s is %lld bytes: a key or passphrase file holds at most 4096", flag, path,
                         (long long) st.st_size);
    if (read_small_file(path, out, err) != 0)
        return -1;
    while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
        out->data[--out->len] = '\0';
    return 0;
}

void
kek_free(Kek *k)
{
    memset(k->key, 0, sizeof(k->key));
    json_object_put(k->kdf);
    k->kdf = NULL;
}

static int
scrypt_derive(const Buffer *pass, json_object *kdf, uint8_t key[32], Error *err)
{
    int64_t log2n = key_json_int(kdf, "log2_n", -1), r = key_json_int(kdf, "r", -1), p = key_json_int(kdf, "p", -1);
    const char *salt_hex = key_json_str(kdf, "salt");
    uint8_t salt[32];
    if (log2n < 14 || log2n > 22 || r < 1 || r > 32 || p < 1 || p > 16 || key_hex_decode(salt_hex, salt, sizeof(salt)) != 0)
        return error_set(err, "the pool's scrypt parameters are malformed or out of bounds (log2_n 14-22, r 1-32, "
                              "p 1-16, a 32-byte salt)");
    uint64_t n = (uint64_t) 1 << log2n;
    uint64_t maxmem = 128 * n * (uint64_t) r * (uint64_t) p + (64u << 20);
    if (EVP_PBE_scrypt(pass->data, pass->len, salt, sizeof(salt), n, (uint64_t) r, (uint64_t) p, maxmem, key, 32) != 1)
        return error_set(err, "scrypt key derivation failed (log2_n %lld, r %lld, p %lld)", (long long) log2n,
                         (long long) r, (long long) p);
    return 0;
}

int
kek_from_file(const char *key_file, const char *passphrase_file, json_object *kdf, Kek *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    Buffer b = {0};
    int rc;
    if (key_file)
    {
        if ((rc = read_secret_file(key_file, "--key-file", &b, err)) == 0 &&
            key_hex_decode(b.data, out->key, sizeof(out->key)) != 0)
            rc = error_set(err, "--key-file %s does not hold a key (64 hexadecimal digits; make one with "
                                "strata key generate --out FILE)", key_file);
        if (rc == 0)
        {
            out->kdf = json_object_new_object();
            json_object_object_add(out->kdf, "name", json_object_new_string("none"));
        }
    }
    else
    {
        if ((rc = read_secret_file(passphrase_file, "--passphrase-file", &b, err)) == 0 && b.len < 8)
            rc = error_set(err, "--passphrase-file %s: the passphrase is shorter than 8 characters", passphrase_file);
        const char *name = key_json_str(kdf, "name");
        if (rc == 0 && kdf && (!name || strcmp(name, "scrypt") != 0))
            rc = error_set(err, "the pool's key is a key file (kdf '%s'), not a passphrase: use --key-file",
                           name ? name : "?");
        if (rc == 0 && !kdf)
        {
            uint8_t salt[32];
            char hex[65];
            random_bytes(salt, sizeof(salt));
            hex_encode(salt, sizeof(salt), hex);
            out->kdf = json_object_new_object();
            json_object_object_add(out->kdf, "name", json_object_new_string("scrypt"));
            json_object_object_add(out->kdf, "log2_n", json_object_new_int(SCRYPT_LOG2_N));
            json_object_object_add(out->kdf, "r", json_object_new_int(SCRYPT_R));
            json_object_object_add(out->kdf, "p", json_object_new_int(SCRYPT_P));
            json_object_object_add(out->kdf, "salt", json_object_new_string(hex));
        }
        else if (rc == 0)
            out->kdf = json_object_get(kdf);
        if (rc == 0)
            rc = scrypt_derive(&b, out->kdf, out->key, err);
    }
    if (b.data)
        memset(b.data, 0, b.len);
    buffer_free(&b);
    if (rc != 0)
    {
        kek_free(out);
        return -1;
    }
    uint8_t idmac[32];
    key_derive(out->key, "strata kek id v1", idmac);
    hex_encode(idmac, 8, out->id);
    return 0;
}

int
kek_from_source(json_object *kdf, Kek *out, Error *err)
{
    return kek_from_file(source_key_file, source_passphrase_file, kdf, out, err);
}

