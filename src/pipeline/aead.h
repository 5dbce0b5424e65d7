/* AES-256-GCM through OpenSSL's EVP interface: the one AEAD every
 * encrypted pool object and every wrapped key uses. Nothing here is
 * hand-written cryptography: these are thin calls with fixed sizes. */
#ifndef STRATA_AEAD_H
#define STRATA_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16

typedef struct evp_cipher_ctx_st AeadCtx;   /* EVP_CIPHER_CTX */

/* A context keyed once, used for many messages (one per nonce). */
AeadCtx *aead_new(const uint8_t key[AEAD_KEY_LEN], bool encrypt);
void aead_free(AeadCtx *ctx);
/* out may be `in`; writes len bytes to out and the tag. */
int aead_seal(AeadCtx *ctx, const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen, const uint8_t *in,
              size_t len, uint8_t *out, uint8_t tag[AEAD_TAG_LEN]);
/* 0 and the plaintext in out, or -1 if the tag does not authenticate
 * (out's content is then garbage and must not be used). */
int aead_open(AeadCtx *ctx, const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad, size_t adlen, const uint8_t *in,
              size_t len, const uint8_t tag[AEAD_TAG_LEN], uint8_t *out);

/* Random bytes from OpenSSL's CSPRNG; aborts if it cannot give them. */
void random_bytes(uint8_t *buf, size_t len);
/* HMAC-SHA256 over the concatenation of up to three parts (NULL ends). */
void hmac_sha256(const uint8_t *key, size_t keylen, const void *a, size_t alen, const void *b, size_t blen,
                 const void *c, size_t clen, uint8_t out[32]);
/* Constant-time comparison. */
bool bytes_equal(const void *a, const void *b, size_t len);

#endif
