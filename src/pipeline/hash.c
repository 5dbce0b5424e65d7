/* SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it). */
#include <openssl/evp.h>
#include <stdlib.h>

#include "pipeline/stage.h"

typedef struct HashStage
{
    Stage base;
    EVP_MD_CTX *ctx;
    uint64_t bytes;
    unsigned char digest[32];
    bool done;
} HashStage;

static int
hash_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    HashStage *hs = (HashStage *) s;
    if (EVP_DigestUpdate(hs->ctx, data, len) != 1)
        return error_set(err, "SHA-256 update failed");
    hs->bytes += len;
    return s->next ? stage_write(s->next, data, len, err) : 0;
}

static int
hash_finish(Stage *s, Error *err)
{
    HashStage *hs = (HashStage *) s;
    unsigned int n = 0;
    if (!hs->done && EVP_DigestFinal_ex(hs->ctx, hs->digest, &n) != 1)
        return error_set(err, "SHA-256 final failed");
    hs->done = true;
    return s->next ? stage_finish(s->next, err) : 0;
}

static void
hash_destroy(Stage *s)
{
    HashStage *hs = (HashStage *) s;
    EVP_MD_CTX_free(hs->ctx);
    free(hs);
}

static const StageOps hash_ops = {"sha256", hash_write, hash_finish, hash_destroy};

Stage *
stage_hash_new(Stage *next)
{
    HashStage *hs = xcalloc(1, sizeof(*hs));
    hs->base.ops = &hash_ops;
    hs->base.next = next;
    hs->ctx = EVP_MD_CTX_new();
    if (!hs->ctx || EVP_DigestInit_ex(hs->ctx, EVP_sha256(), NULL) != 1)
        abort();   /* only on allocation failure inside OpenSSL */
    return &hs->base;
}

void
stage_hash_result(Stage *s, char hex[65], uint64_t *bytes)
{
    HashStage *hs = (HashStage *) s;
    hex_encode(hs->digest, sizeof(hs->digest), hex);
    if (bytes)
        *bytes = hs->bytes;
}
