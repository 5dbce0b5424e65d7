/* Pass-through HMAC-SHA256 (OpenSSL EVP_MAC): the keyed checksum of a
 * WAL file's content in a keyed pool, where a plain SHA-256 would let
 * whoever writes the pool put in content of their own. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/encrypt.h"

typedef struct MacStage
{
    Stage base;
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    unsigned char digest[32];
    bool done;
} MacStage;

static int
mac_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    MacStage *ms = (MacStage *) s;
    if (len && EVP_MAC_update(ms->ctx, data, len) != 1)
        return error_set(err, "HMAC-SHA256 update failed");
    return s->next ? stage_write(s->next, data, len, err) : 0;
}

static int
mac_finish(Stage *s, Error *err)
{
    MacStage *ms = (MacStage *) s;
    size_t n = 0;
    if (!ms->done && EVP_MAC_final(ms->ctx, ms->digest, &n, sizeof(ms->digest)) != 1)
        return error_set(err, "HMAC-SHA256 final failed");
    ms->done = true;
    return s->next ? stage_finish(s->next, err) : 0;
}

static void
mac_destroy(Stage *s)
{
    MacStage *ms = (MacStage *) s;
    EVP_MAC_CTX_free(ms->ctx);
    EVP_MAC_free(ms->mac);
    free(ms);
}

static const StageOps mac_ops = {"hmac-sha256", mac_write, mac_finish, mac_destroy};

Stage *
stage_hmac_new(const uint8_t key[32], const void *prefix, size_t prefix_len, Stage *next)
{
    MacStage *ms = xcalloc(1, sizeof(*ms));
    ms->base.ops = &mac_ops;
    ms->base.next = next;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
                           OSSL_PARAM_END};
    ms->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ms->ctx = ms->mac ? EVP_MAC_CTX_new(ms->mac) : NULL;
    if (!ms->ctx || EVP_MAC_init(ms->ctx, key, 32, params) != 1 ||
        (prefix_len && EVP_MAC_update(ms->ctx, prefix, prefix_len) != 1))
        abort();   /* only on allocation failure inside OpenSSL */
    return &ms->base;
}

void
stage_hmac_result(Stage *s, char hex[65])
{
    hex_encode(((MacStage *) s)->digest, 32, hex);
}
