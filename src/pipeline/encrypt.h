/* Encryption stages: STREAM (Hoang, Reyhanitabar, Rogaway, Vizar 2015)
 * over AES-256-GCM. An encrypted object is a header, then chunks:
 *
 *   header  "STRATAE1" | key id (8) | log2 chunk size (1) | nonce prefix (7)
 *   chunk   ciphertext (chunk size bytes; the last one shorter, maybe empty) | GCM tag (16)
 *
 * Chunk i's nonce is prefix (7) | i (4, big-endian) | last (1: 1 on the
 * final chunk, else 0), and every chunk's associated data is the header
 * followed by the object's identity (its pool key). So a chunk cannot be
 * moved within an object or into another one, an object cannot be put
 * under another name, and an object cut anywhere (a chunk boundary
 * included) fails: its last chunk is not marked last. Each chunk is
 * authenticated before any of its bytes is passed on. */
#ifndef STRATA_ENCRYPT_H
#define STRATA_ENCRYPT_H

#include "pipeline/stage.h"

#define STREAM_MAGIC "STRATAE1"
#define STREAM_HEADER_LEN 24
#define STREAM_KEY_ID_LEN 8
#define STREAM_CHUNK_LOG2 16   /* 64 KiB */
#define STREAM_KEY_LEN 32

/* The ciphers a pool object can be stored with. */
typedef enum Cipher
{
    CIPHER_NONE = 0,
    CIPHER_AES_256_GCM,
} Cipher;

int cipher_parse(const char *name, Cipher *out, Error *err);
const char *cipher_name(Cipher c);   /* "none", "aes-256-gcm" */

/* Looks up the data key an object names in its header. */
typedef int (*StreamKeyLookup)(void *arg, const uint8_t key_id[STREAM_KEY_ID_LEN], uint8_t key[STREAM_KEY_LEN],
                               Error *err);

/* `identity` is copied. */
Stage *stage_encrypt_new(const uint8_t key[STREAM_KEY_LEN], const uint8_t key_id[STREAM_KEY_ID_LEN],
                         const char *identity, Stage *next);
/* `what` names the object in messages (kept, not copied). */
Stage *stage_decrypt_new(StreamKeyLookup lookup, void *lookup_arg, const char *identity, const char *what, Stage *next);

/* Pass-through HMAC-SHA256 keyed with `key` over `prefix` then the bytes. */
Stage *stage_hmac_new(const uint8_t key[32], const void *prefix, size_t prefix_len, Stage *next);
void stage_hmac_result(Stage *s, char hex[65]);

/* Checks a header's form (what can be checked without the key) and
 * returns the key id it names. */
int stream_header_parse(const uint8_t *buf, size_t len, uint8_t key_id[STREAM_KEY_ID_LEN], const char *what,
                        Error *err);

#endif
