/* The STREAM encryption stage: round trips at every size around chunk
 * boundaries, and every way a stored object can be altered (a flipped
 * byte, truncation anywhere, reordered or dropped chunks, another
 * object's name, another key) is refused without passing on a byte of
 * the altered chunk. */
#include <string.h>

#include "pipeline/aead.h"
#include "pipeline/encrypt.h"
#include "unit.h"

#define CHUNK (1u << STREAM_CHUNK_LOG2)
#define FRAME (CHUNK + AEAD_TAG_LEN)

typedef struct Collect
{
    Stage base;
    Buffer buf;
    bool finished;
} Collect;

static int collect_write(Stage *s, const uint8_t *d, size_t n, Error *e)
{
    buffer_append(&((Collect *) s)->buf, d, n);
    return 0;
}
static int collect_finish(Stage *s, Error *e) { ((Collect *) s)->finished = true; return 0; }
static void collect_destroy(Stage *s) { buffer_free(&((Collect *) s)->buf); free(s); }
static const StageOps collect_ops = {"collect", collect_write, collect_finish, collect_destroy};

static Collect *collect_new(void)
{
    Collect *c = xcalloc(1, sizeof(*c));
    c->base.ops = &collect_ops;
    return c;
}

static uint8_t key_a[32], key_b[32];
static const uint8_t id_a[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static int lookup(void *arg, const uint8_t id[8], uint8_t key[32], Error *err)
{
    if (memcmp(id, id_a, 8) != 0)
        return error_set(err, "no such data key");
    memcpy(key, arg, 32);
    return 0;
}

static Buffer encrypt_all(const uint8_t *in, size_t n, const char *identity)
{
    Collect *out = collect_new();
    Stage *head = stage_encrypt_new(key_a, id_a, identity, &out->base);
    Error err;
    size_t pos = 0, step = 1;
    while (pos < n)   /* uneven writes: chunking must not depend on them */
    {
        size_t k = step < n - pos ? step : n - pos;
        stage_write(head, in + pos, k, &err);
        pos += k;
        step = step * 5 + 3;
    }
    stage_finish(head, &err);
    Buffer b = {0};
    buffer_append(&b, out->buf.data ? out->buf.data : "", out->buf.len);
    stage_free(head);
    return b;
}

/* Decrypts `stored`; *passed counts plaintext bytes released downstream. */
static int decrypt_all(const uint8_t *stored, size_t n, const char *identity, const uint8_t *key, Buffer *plain,
                       Error *err)
{
    Collect *out = collect_new();
    Stage *head = stage_decrypt_new(lookup, (void *) key, identity, identity, &out->base);
    int rc = 0;
    for (size_t pos = 0; rc == 0 && pos < n; pos += 7777)
        rc = stage_write(head, stored + pos, n - pos < 7777 ? n - pos : 7777, err);
    if (rc == 0)
        rc = stage_finish(head, err);
    if (plain)
        buffer_append(plain, out->buf.data ? out->buf.data : "", out->buf.len);
    stage_free(head);
    return rc;
}

static void round_trips(const uint8_t *data)
{
    const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 12345};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    {
        Buffer enc = encrypt_all(data, sizes[i], "nodes/a/backups/1/data/base/1/2.zst");
        size_t chunks = sizes[i] == 0 ? 1 : (sizes[i] + CHUNK - 1) / CHUNK;   /* a full last chunk is marked last */
        char name[96];
        snprintf(name, sizeof(name), "size %zu: header + %zu chunk(s) + tags", sizes[i], chunks);
        CHECK(enc.len == STREAM_HEADER_LEN + sizes[i] + chunks * AEAD_TAG_LEN, name);
        Buffer plain = {0};
        Error err;
        int rc = decrypt_all((uint8_t *) enc.data, enc.len, "nodes/a/backups/1/data/base/1/2.zst", key_a, &plain, &err);
        snprintf(name, sizeof(name), "size %zu round-trips", sizes[i]);
        CHECK(rc == 0 && plain.len == sizes[i] && (sizes[i] == 0 || memcmp(plain.data, data, sizes[i]) == 0), name);
        if (sizes[i] > 16)
        {
            snprintf(name, sizeof(name), "size %zu: ciphertext differs from plaintext", sizes[i]);
            CHECK(memmem(enc.data, enc.len, data, 16) == NULL, name);
        }
        buffer_free(&plain);
        buffer_free(&enc);
    }
    Buffer a = encrypt_all(data, 1000, "x"), b = encrypt_all(data, 1000, "x");
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) != 0, "same content twice: different ciphertext (fresh nonce prefix)");
    buffer_free(&a);
    buffer_free(&b);
}

static bool refused(const Buffer *enc, const char *identity, const uint8_t *key, const char *expect, size_t *released)
{
    Buffer plain = {0};
    Error err;
    int rc = decrypt_all((uint8_t *) enc->data, enc->len, identity, key, &plain, &err);
    if (released)
        *released = plain.len;
    buffer_free(&plain);
    return rc != 0 && (!expect || strstr(err.msg, expect));
}

static void tampering(const uint8_t *data)
{
    const char *id = "nodes/a/wal/0000000100000000/000000010000000000000003-ab.zst";
    Buffer enc = encrypt_all(data, 3 * CHUNK + 100, id);
    size_t released;

    /* A flipped bit in each part of the object. */
    size_t spots[] = {3, 10, 16, 20, STREAM_HEADER_LEN + 5, STREAM_HEADER_LEN + CHUNK + 2,
                      STREAM_HEADER_LEN + FRAME + 100, enc.len - 1};
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++)
    {
        enc.data[spots[i]] ^= 0x40;
        char name[80];
        snprintf(name, sizeof(name), "flipped byte at %zu refused", spots[i]);
        CHECK(refused(&enc, id, key_a, NULL, NULL), name);
        enc.data[spots[i]] ^= 0x40;
    }
    CHECK(!refused(&enc, id, key_a, NULL, NULL), "restored object decrypts again");

    /* A flipped byte in chunk 2: chunks 0 and 1 were released, nothing of 2. */
    enc.data[STREAM_HEADER_LEN + 2 * FRAME + 7] ^= 1;
    CHECK(refused(&enc, id, key_a, "chunk 2", &released) && released == 2 * CHUNK,
          "a damaged chunk is never passed on (only the chunks before it)");
    enc.data[STREAM_HEADER_LEN + 2 * FRAME + 7] ^= 1;

    CHECK(refused(&enc, "nodes/a/wal/0000000100000000/000000010000000000000004-ab.zst", key_a, "does not authenticate", NULL),
          "another object's name (a swapped object) refused");
    CHECK(refused(&enc, id, key_b, "does not authenticate", NULL), "another key refused");

    /* Truncation: at a chunk boundary, inside a chunk, in the header, to nothing. */
    Buffer cut = {0};
    buffer_append(&cut, enc.data, STREAM_HEADER_LEN + 2 * FRAME);
    CHECK(refused(&cut, id, key_a, "truncated", NULL), "cut at a chunk boundary: refused as truncated");
    cut.len = STREAM_HEADER_LEN + 2 * FRAME + 500;
    buffer_append(&cut, "", 0);
    memcpy(cut.data + STREAM_HEADER_LEN + 2 * FRAME, enc.data + STREAM_HEADER_LEN + 2 * FRAME, 500);
    CHECK(refused(&cut, id, key_a, NULL, NULL), "cut inside a chunk: refused");
    cut.len = STREAM_HEADER_LEN + 10;
    CHECK(refused(&cut, id, key_a, "truncated", NULL), "cut inside the first chunk's tag: refused as truncated");
    cut.len = 10;
    CHECK(refused(&cut, id, key_a, "truncated", NULL), "cut inside the header: refused");
    cut.len = 0;
    CHECK(refused(&cut, id, key_a, "truncated", NULL), "empty object refused");
    buffer_free(&cut);

    /* Reordered: chunks 0 and 1 swapped; a chunk dropped from the middle; the last chunk duplicated. */
    Buffer re = {0};
    buffer_append(&re, enc.data, enc.len);
    memcpy(re.data + STREAM_HEADER_LEN, enc.data + STREAM_HEADER_LEN + FRAME, FRAME);
    memcpy(re.data + STREAM_HEADER_LEN + FRAME, enc.data + STREAM_HEADER_LEN, FRAME);
    CHECK(refused(&re, id, key_a, "chunk 0", &released) && released == 0, "swapped chunks refused, nothing passed on");
    buffer_free(&re);
    buffer_append(&re, enc.data, STREAM_HEADER_LEN + FRAME);
    buffer_append(&re, enc.data + STREAM_HEADER_LEN + 2 * FRAME, enc.len - STREAM_HEADER_LEN - 2 * FRAME);
    CHECK(refused(&re, id, key_a, "chunk 1", NULL), "a dropped middle chunk refused");
    buffer_free(&re);
    buffer_append(&re, enc.data, enc.len);
    buffer_append(&re, enc.data + STREAM_HEADER_LEN + 3 * FRAME, enc.len - STREAM_HEADER_LEN - 3 * FRAME);
    CHECK(refused(&re, id, key_a, NULL, NULL), "the last chunk repeated refused");
    buffer_free(&re);

    /* Another object's chunk spliced in (same key, same position). */
    Buffer other = encrypt_all(data + 1, 3 * CHUNK + 100, id);
    buffer_append(&re, enc.data, enc.len);
    memcpy(re.data + STREAM_HEADER_LEN + FRAME, other.data + STREAM_HEADER_LEN + FRAME, FRAME);
    CHECK(refused(&re, id, key_a, "chunk 1", NULL), "a chunk from another object refused (different nonce prefix)");
    buffer_free(&re);
    buffer_free(&other);

    uint8_t kid[8];
    Error err;
    CHECK(stream_header_parse((uint8_t *) enc.data, enc.len, kid, "x", &err) == 0 && memcmp(kid, id_a, 8) == 0,
          "the header names the data key without the key");
    CHECK(stream_header_parse((const uint8_t *) "STRATAX1aaaaaaaaaaaaaaaaaaa", 24, kid, "x", &err) != 0,
          "a bad magic is refused without the key");
    buffer_free(&enc);
}

int main(void)
{
    random_bytes(key_a, 32);
    random_bytes(key_b, 32);
    size_t n = 4 * CHUNK;
    uint8_t *data = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t) (i * 131 + (i >> 9));
    round_trips(data);
    tampering(data);
    Cipher c;
    Error err;
    CHECK(cipher_parse("aes-256-gcm", &c, &err) == 0 && c == CIPHER_AES_256_GCM, "--cipher aes-256-gcm");
    CHECK(cipher_parse("rot13", &c, &err) != 0 && strstr(err.msg, "rot13"), "an unknown cipher named");
    free(data);
    UNIT_DONE();
}
