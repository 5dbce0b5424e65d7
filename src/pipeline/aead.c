#include "pipeline/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>

AeadCtx *
aead_new(const uint8_t key[AEAD_KEY_LEN], bool encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AEAD_NONCE_LEN, NULL) != 1)
        abort();   /* only on allocation failure inside OpenSSL */
    return ctx;
}

void
aead_free(AeadCtx *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

int
aead_seal(AeadCtx *ctx, const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen, const uint8_t *in,
          size_t len, uint8_t *out, uint8_t tag[AEAD_TAG_LEN])
{
    int n = 0;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return -1;
    if (adlen && EVP_EncryptUpdate(ctx, NULL, &n, ad, (int) adlen) != 1)
        return -1;
    if (len && EVP_EncryptUpdate(ctx, out, &n, in, (int) len) != 1)
        return -1;
    if (EVP_EncryptFinal_ex(ctx, out + len, &n) != 1)
        return -1;
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, tag) == 1 ? 0 : -1;
}

int
aead_open(AeadCtx *ctx, const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen, const uint8_t *in,
          size_t len, const uint8_t tag[AEAD_TAG_LEN], uint8_t *out)
{
    int n = 0;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return -1;
    if (adlen && EVP_DecryptUpdate(ctx, NULL, &n, ad, (int) adlen) != 1)
        return -1;
    if (len && EVP_DecryptUpdate(ctx, out, &n, in, (int) len) != 1)
        return -1;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, (void *) tag) != 1)
        return -1;
    return EVP_DecryptFinal_ex(ctx, out + len, &n) == 1 ? 0 : -1;
}

void
random_bytes(uint8_t *buf, size_t len)
{
    if (RAND_bytes(buf, (int) len) != 1)
        abort();   /* no entropy: never fall back to anything weaker */
}

void
hmac_sha256(const uint8_t *key, size_t keylen, const void *a, size_t alen, const void *b, size_t blen, const void *c,
            size_t clen, uint8_t out[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0), OSSL_PARAM_END};
    size_t n = 0;
    if (!ctx || EVP_MAC_init(ctx, key, keylen, params) != 1 || (alen && EVP_MAC_update(ctx, a, alen) != 1) ||
        (blen && EVP_MAC_update(ctx, b, blen) != 1) || (clen && EVP_MAC_update(ctx, c, clen) != 1) ||
        EVP_MAC_final(ctx, out, &n, 32) != 1)
        abort();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

bool
bytes_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
