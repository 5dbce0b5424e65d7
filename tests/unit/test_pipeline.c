/* The pipeline stages: every compression round-trips, and corruption or
 * truncation of a stored object is caught. */
#include <string.h>

#include "pipeline/stage.h"
#include "unit.h"

typedef struct Collect
{
    Stage base;
    Buffer buf;
} Collect;

static int collect_write(Stage *s, const uint8_t *d, size_t n, Error *e)
{
    buffer_append(&((Collect *) s)->buf, d, n);
    return 0;
}
static int collect_finish(Stage *s, Error *e) { return 0; }
static void collect_destroy(Stage *s) { buffer_free(&((Collect *) s)->buf); free(s); }
static const StageOps collect_ops = {"collect", collect_write, collect_finish, collect_destroy};

static Collect *collect_new(void)
{
    Collect *c = xcalloc(1, sizeof(*c));
    c->base.ops = &collect_ops;
    return c;
}

/* Compresses `in` in uneven chunks, returns the stored bytes. */
static Buffer compress_all(Compression c, const uint8_t *in, size_t n)
{
    Collect *out = collect_new();
    Stage *head = stage_compress_new(c, compression_default_level(c) ? compression_default_level(c) : 1, &out->base);
    Error err;
    size_t pos = 0, step = 1;
    while (pos < n)
    {
        size_t k = step < n - pos ? step : n - pos;
        stage_write(head, in + pos, k, &err);
        pos += k;
        step = step * 3 + 7;
    }
    stage_finish(head, &err);
    Buffer b = {0};
    buffer_append(&b, out->buf.data ? out->buf.data : "", out->buf.len);
    stage_free(head);
    return b;
}

static int decompress_all(Compression c, const Buffer *stored, Buffer *plain, Error *err)
{
    Collect *out = collect_new();
    Stage *head = stage_decompress_new(c, "test object", &out->base);
    int rc = stage_write(head, (const uint8_t *) stored->data, stored->len, err);
    if (rc == 0)
        rc = stage_finish(head, err);
    buffer_append(plain, out->buf.data ? out->buf.data : "", out->buf.len);
    stage_free(head);
    return rc;
}

int main(void)
{
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *data = xmalloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++)
    {
        x = x * 1103515245 + 12345;
        data[i] = (i % 4096 < 2048) ? (uint8_t) (x >> 24) : (uint8_t) (i & 7);   /* half random, half compressible */
    }
    Compression algos[] = {COMPRESS_ZSTD, COMPRESS_LZ4, COMPRESS_NONE};
    for (int a = 0; a < 3; a++)
    {
        char name[128];
        Compression c = algos[a];
        Buffer stored = compress_all(c, data, n);
        Buffer plain = {0};
        Error err;
        snprintf(name, sizeof(name), "%s round-trips 3 MiB", compression_name(c));
        CHECK(decompress_all(c, &stored, &plain, &err) == 0 && plain.len == n && !memcmp(plain.data, data, n), name);
        buffer_free(&plain);
        if (c != COMPRESS_NONE)
        {
            snprintf(name, sizeof(name), "%s compresses", compression_name(c));
            CHECK(stored.len < n, name);
            /* A flipped byte in the middle: the frame or content checksum must catch it. */
            stored.data[stored.len / 2] ^= 0x40;
            Buffer p2 = {0};
            snprintf(name, sizeof(name), "%s detects a flipped byte", compression_name(c));
            CHECK(decompress_all(c, &stored, &p2, &err) != 0, name);
            buffer_free(&p2);
            stored.data[stored.len / 2] ^= 0x40;
            /* Truncated: the last bytes (end of frame, checksum) gone. */
            stored.len -= 3;
            Buffer p3 = {0};
            snprintf(name, sizeof(name), "%s detects truncation", compression_name(c));
            CHECK(decompress_all(c, &stored, &p3, &err) != 0, name);
            snprintf(name, sizeof(name), "%s truncation message names the object", compression_name(c));
            CHECK(strstr(err.msg, "test object") != NULL, name);
            buffer_free(&p3);
        }
        buffer_free(&stored);

        /* An empty file is a valid object too. */
        Buffer empty = compress_all(c, data, 0), back = {0};
        snprintf(name, sizeof(name), "%s round-trips an empty file", compression_name(c));
        CHECK(decompress_all(c, &empty, &back, &err) == 0 && back.len == 0, name);
        buffer_free(&empty);
        buffer_free(&back);
    }

    /* SHA-256 stage: the known digest of "abc". */
    Stage *h = stage_hash_new(NULL);
    Error err;
    stage_write(h, (const uint8_t *) "abc", 3, &err);
    stage_finish(h, &err);
    char hex[65];
    uint64_t bytes;
    stage_hash_result(h, hex, &bytes);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") && bytes == 3,
          "sha256 of 'abc' is the standard digest");
    stage_free(h);

    Compression c;
    CHECK(compression_parse("gzip", &c, &err) != 0 && strstr(err.msg, "gzip"), "unknown algorithm named in the error");
    CHECK(compression_check_level(COMPRESS_ZSTD, 30, &err) != 0, "zstd level 30 refused");
    free(data);
    UNIT_DONE();
}
