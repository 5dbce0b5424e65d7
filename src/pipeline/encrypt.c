/* STREAM over AES-256-GCM (pipeline/encrypt.h has the format). */
#include "pipeline/encrypt.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/aead.h"

#define CHUNK_LOG2_MIN 10
#define CHUNK_LOG2_MAX 24
#define MAX_CHUNKS 0xFFFFFFFFu   /* the counter is 32 bits */

int
cipher_parse(const char *name, Cipher *out, Error *err)
{
    if (!strcmp(name, "aes-256-gcm"))
        *out = CIPHER_AES_256_GCM;
    else if (!strcmp(name, "none"))
        *out = CIPHER_NONE;
    else
        return error_set(err, "--cipher: unknown cipher '%s' (aes-256-gcm or none)", name);
    return 0;
}

const char *
cipher_name(Cipher c)
{
    return c == CIPHER_AES_256_GCM ? "aes-256-gcm" : "none";
}

int
stream_header_parse(const uint8_t *buf, size_t len, uint8_t key_id[STREAM_KEY_ID_LEN], const char *what, Error *err)
{
    if (len < STREAM_HEADER_LEN)
        return error_set(err, "%s: truncated encrypted object (%zu bytes, shorter than its header)", what, len);
    if (memcmp(buf, STREAM_MAGIC, 8) != 0)
        return error_set(err, "%s: not an encrypted strata object (bad magic)", what);
    if (buf[16] < CHUNK_LOG2_MIN || buf[16] > CHUNK_LOG2_MAX)
        return error_set(err, "%s: encrypted object header names a chunk size of 2^%u bytes (2^%d to 2^%d allowed)",
                         what, buf[16], CHUNK_LOG2_MIN, CHUNK_LOG2_MAX);
    memcpy(key_id, buf + 8, STREAM_KEY_ID_LEN);
    return 0;
}

/* Shared by both directions. */
typedef struct StreamStage
{
    Stage base;
    AeadCtx *ctx;
    uint8_t header[STREAM_HEADER_LEN];
    size_t header_fill;              /* decryption: header bytes seen so far */
    uint8_t *ad;                     /* header | identity */
    size_t adlen;
    char *identity;
    const char *what;
    StreamKeyLookup lookup;
    void *lookup_arg;
    size_t chunk;                    /* plaintext bytes per chunk */
    uint8_t *buf;                    /* one chunk (+ tag when decrypting) */
    size_t fill;
    uint8_t *out;
    uint64_t counter;
} StreamStage;

static void
chunk_nonce(const StreamStage *ss, bool last, uint8_t nonce[AEAD_NONCE_LEN])
{
    memcpy(nonce, ss->header + 17, 7);
    nonce[7] = (uint8_t) (ss->counter >> 24);
    nonce[8] = (uint8_t) (ss->counter >> 16);
    nonce[9] = (uint8_t) (ss->counter >> 8);
    nonce[10] = (uint8_t) ss->counter;
    nonce[11] = last ? 1 : 0;
}

static void
set_ad(StreamStage *ss)
{
    size_t idlen = strlen(ss->identity);
    ss->adlen = STREAM_HEADER_LEN + idlen;
    ss->ad = xmalloc(ss->adlen);
    memcpy(ss->ad, ss->header, STREAM_HEADER_LEN);
    memcpy(ss->ad + STREAM_HEADER_LEN, ss->identity, idlen);
}

static void
stream_destroy(Stage *s)
{
    StreamStage *ss = (StreamStage *) s;
    if (ss->ctx)
        aead_free(ss->ctx);
    if (ss->buf)
        memset(ss->buf, 0, ss->chunk + AEAD_TAG_LEN);
    free(ss->buf);
    free(ss->out);
    free(ss->ad);
    free(ss->identity);
    free(ss);
}

/* ---- encryption ---- */

static int
emit_header(StreamStage *ss, Error *err)
{
    if (ss->header_fill)
        return 0;
    ss->header_fill = STREAM_HEADER_LEN;
    return stage_write(ss->base.next, ss->header, STREAM_HEADER_LEN, err);
}

static int
seal_chunk(StreamStage *ss, bool last, Error *err)
{
    if (ss->counter > MAX_CHUNKS)
        return error_set(err, "%s: too large to encrypt (more than 2^32 chunks)", ss->identity);
    uint8_t nonce[AEAD_NONCE_LEN];
    chunk_nonce(ss, last, nonce);
    if (aead_seal(ss->ctx, nonce, ss->ad, ss->adlen, ss->buf, ss->fill, ss->out, ss->out + ss->fill) != 0)
        return error_set(err, "%s: AES-256-GCM encryption failed", ss->identity);
    size_t n = ss->fill + AEAD_TAG_LEN;
    ss->fill = 0;
    ss->counter++;
    return stage_write(ss->base.next, ss->out, n, err);
}

static int
encrypt_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    StreamStage *ss = (StreamStage *) s;
    if (emit_header(ss, err) != 0)
        return -1;
    while (len > 0)
    {
        /* A full chunk goes out only once more data follows: until then
         * it may be the last one. */
        if (ss->fill == ss->chunk && seal_chunk(ss, false, err) != 0)
            return -1;
        size_t k = ss->chunk - ss->fill < len ? ss->chunk - ss->fill : len;
        memcpy(ss->buf + ss->fill, data, k);
        ss->fill += k;
        data += k;
        len -= k;
    }
    return 0;
}

static int
encrypt_finish(Stage *s, Error *err)
{
    StreamStage *ss = (StreamStage *) s;
    if (emit_header(ss, err) != 0 || seal_chunk(ss, true, err) != 0)
        return -1;
    return stage_finish(s->next, err);
}

static const StageOps encrypt_ops = {"aes-256-gcm-encrypt", encrypt_write, encrypt_finish, stream_destroy};

static StreamStage *
stream_alloc(const StageOps *ops, const char *identity, Stage *next)
{
    StreamStage *ss = xcalloc(1, sizeof(*ss));
    ss->base.ops = ops;
    ss->base.next = next;
    ss->identity = xstrdup(identity);
    return ss;
}

static void
stream_buffers(StreamStage *ss, unsigned chunk_log2)
{
    ss->chunk = (size_t) 1 << chunk_log2;
    ss->buf = xmalloc(ss->chunk + AEAD_TAG_LEN);
    ss->out = xmalloc(ss->chunk + AEAD_TAG_LEN);
}

Stage *
stage_encrypt_new(const uint8_t key[STREAM_KEY_LEN], const uint8_t key_id[STREAM_KEY_ID_LEN], const char *identity,
                  Stage *next)
{
    StreamStage *ss = stream_alloc(&encrypt_ops, identity, next);
    memcpy(ss->header, STREAM_MAGIC, 8);
    memcpy(ss->header + 8, key_id, STREAM_KEY_ID_LEN);
    ss->header[16] = STREAM_CHUNK_LOG2;
    random_bytes(ss->header + 17, 7);   /* a fresh prefix per object */
    set_ad(ss);
    stream_buffers(ss, STREAM_CHUNK_LOG2);
    ss->ctx = aead_new(key, true);
    return &ss->base;
}

/* ---- decryption ---- */

static int
take_header(StreamStage *ss, Error *err)
{
    uint8_t key_id[STREAM_KEY_ID_LEN], key[STREAM_KEY_LEN];
    if (stream_header_parse(ss->header, STREAM_HEADER_LEN, key_id, ss->what, err) != 0)
        return -1;
    if (ss->lookup(ss->lookup_arg, key_id, key, err) != 0)
        return error_prefix(err, "%s: ", ss->what);
    ss->ctx = aead_new(key, false);
    memset(key, 0, sizeof(key));
    set_ad(ss);
    stream_buffers(ss, ss->header[16]);
    return 0;
}

static int
open_chunk(StreamStage *ss, bool last, Error *err)
{
    if (ss->counter > MAX_CHUNKS)
        return error_set(err, "%s: encrypted object has more than 2^32 chunks", ss->what);
    uint8_t nonce[AEAD_NONCE_LEN];
    size_t n = ss->fill - AEAD_TAG_LEN;
    chunk_nonce(ss, last, nonce);
    if (aead_open(ss->ctx, nonce, ss->ad, ss->adlen, ss->buf, n, ss->buf + n, ss->out) != 0)
    {
        /* Tell a cut object from a damaged one: a chunk that opens as a
         * middle chunk where the object ends means chunks are missing. */
        chunk_nonce(ss, !last, nonce);
        if (last && aead_open(ss->ctx, nonce, ss->ad, ss->adlen, ss->buf, n, ss->buf + n, ss->out) == 0)
            return error_set(err, "%s: encrypted object is truncated (it ends after chunk %llu, which is not its last)",
                             ss->what, (unsigned long long) ss->counter);
        return error_set(err,
                         "%s: chunk %llu of the encrypted object does not authenticate: the object was modified, "
                         "moved from another name, or reordered, or the key is not the one it was written with",
                         ss->what, (unsigned long long) ss->counter);
    }
    ss->fill = 0;
    ss->counter++;
    return n ? stage_write(ss->base.next, ss->out, n, err) : 0;
}

static int
decrypt_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    StreamStage *ss = (StreamStage *) s;
    if (ss->header_fill < STREAM_HEADER_LEN)
    {
        size_t k = STREAM_HEADER_LEN - ss->header_fill < len ? STREAM_HEADER_LEN - ss->header_fill : len;
        memcpy(ss->header + ss->header_fill, data, k);
        ss->header_fill += k;
        data += k;
        len -= k;
        if (ss->header_fill == STREAM_HEADER_LEN && take_header(ss, err) != 0)
            return -1;
    }
    while (len > 0)
    {
        if (ss->fill == ss->chunk + AEAD_TAG_LEN && open_chunk(ss, false, err) != 0)
            return -1;
        size_t room = ss->chunk + AEAD_TAG_LEN - ss->fill;
        size_t k = room < len ? room : len;
        memcpy(ss->buf + ss->fill, data, k);
        ss->fill += k;
        data += k;
        len -= k;
    }
    return 0;
}

static int
decrypt_finish(Stage *s, Error *err)
{
    StreamStage *ss = (StreamStage *) s;
    if (ss->header_fill < STREAM_HEADER_LEN)
        return error_set(err, "%s: truncated encrypted object (%zu bytes, shorter than its header)", ss->what,
                         ss->header_fill);
    if (ss->fill < AEAD_TAG_LEN)
        return error_set(err, "%s: encrypted object is truncated (its last chunk is cut short)", ss->what);
    if (open_chunk(ss, true, err) != 0)
        return -1;
    return stage_finish(s->next, err);
}

static const StageOps decrypt_ops = {"aes-256-gcm-decrypt", decrypt_write, decrypt_finish, stream_destroy};

Stage *
stage_decrypt_new(StreamKeyLookup lookup, void *lookup_arg, const char *identity, const char *what, Stage *next)
{
    StreamStage *ss = stream_alloc(&decrypt_ops, identity, next);
    ss->lookup = lookup;
    ss->lookup_arg = lookup_arg;
    ss->what = what;
    return &ss->base;
}
