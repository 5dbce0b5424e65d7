/* Compression stages: zstd and lz4 frames, both with content checksums so
 * that a restore detects corruption of the original bytes, not only of the
 * stored ones. */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "pipeline/stage.h"

#define LZ4_CHUNK (64 * 1024)

typedef struct CodecStage
{
    Stage base;
    Compression algo;
    bool compress;
    const char *what;                 /* decompression: the object, for messages */
    ZSTD_CCtx *zc;
    bool zc_borrowed;                 /* a Compressor's: not freed with the stage */
    ZSTD_DCtx *zd;
    LZ4F_cctx *lc;
    LZ4F_dctx *ld;
    bool lz4_header_done;
    size_t pending;                   /* decompression: non-zero until a frame ends cleanly */
    int level;                        /* lz4 compression level, for the frame header */
    uint8_t *out;
    size_t out_cap;
} CodecStage;

/* ---- zstd ---- */

static int
zstd_c_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    ZSTD_inBuffer in = {data, len, 0};
    while (in.pos < in.size)
    {
        ZSTD_outBuffer out = {cs->out, cs->out_cap, 0};
        size_t r = ZSTD_compressStream2(cs->zc, &out, &in, ZSTD_e_continue);
        if (ZSTD_isError(r))
            return error_set(err, "zstd compression failed: %s", ZSTD_getErrorName(r));
        if (out.pos && stage_write(s->next, cs->out, out.pos, err) != 0)
            return -1;
    }
    return 0;
}

static int
zstd_c_finish(Stage *s, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t r;
    do
    {
        ZSTD_outBuffer out = {cs->out, cs->out_cap, 0};
        r = ZSTD_compressStream2(cs->zc, &out, &in, ZSTD_e_end);
        if (ZSTD_isError(r))
            return error_set(err, "zstd compression failed: %s", ZSTD_getErrorName(r));
        if (out.pos && stage_write(s->next, cs->out, out.pos, err) != 0)
            return -1;
    } while (r != 0);
    return stage_finish(s->next, err);
}

static int
zstd_d_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    ZSTD_inBuffer in = {data, len, 0};
    while (in.pos < in.size)
    {
        ZSTD_outBuffer out = {cs->out, cs->out_cap, 0};
        size_t r = ZSTD_decompressStream(cs->zd, &out, &in);
        if (ZSTD_isError(r))
            return error_set(err, "%s: corrupt zstd data: %s", cs->what, ZSTD_getErrorName(r));
        cs->pending = r;   /* 0 when a frame is complete */
        if (out.pos && stage_write(s->next, cs->out, out.pos, err) != 0)
            return -1;
    }
    return 0;
}

static int
zstd_d_finish(Stage *s, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    /* Drain output that did not fit in the last call. */
    for (;;)
    {
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer out = {cs->out, cs->out_cap, 0};
        size_t r = ZSTD_decompressStream(cs->zd, &out, &in);
        if (ZSTD_isError(r))
            return error_set(err, "%s: corrupt zstd data: %s", cs->what, ZSTD_getErrorName(r));
        /* No output: nothing was held back, and r is only the next
         * frame's header hint; the last real call's state stands. */
        if (out.pos == 0)
            break;
        cs->pending = r;
        if (stage_write(s->next, cs->out, out.pos, err) != 0)
            return -1;
    }
    if (cs->pending != 0)
        return error_set(err, "%s: truncated zstd data (the frame does not end)", cs->what);
    return stage_finish(s->next, err);
}

/* ---- lz4 ---- */

static int
lz4_grow(CodecStage *cs, size_t need)
{
    if (need > cs->out_cap)
    {
        cs->out = xrealloc(cs->out, need);
        cs->out_cap = need;
    }
    return 0;
}

static int
lz4_c_header(Stage *s, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    if (cs->lz4_header_done)
        return 0;
    cs->lz4_header_done = true;
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.compressionLevel = cs->level;
    lz4_grow(cs, LZ4F_compressBound(LZ4_CHUNK, &prefs) + LZ4F_HEADER_SIZE_MAX);
    size_t n = LZ4F_compressBegin(cs->lc, cs->out, cs->out_cap, &prefs);
    if (LZ4F_isError(n))
        return error_set(err, "lz4 compression failed: %s", LZ4F_getErrorName(n));
    return stage_write(s->next, cs->out, n, err);
}

static int
lz4_c_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    if (lz4_c_header(s, err) != 0)
        return -1;
    while (len > 0)
    {
        size_t chunk = len > LZ4_CHUNK ? LZ4_CHUNK : len;
        size_t n = LZ4F_compressUpdate(cs->lc, cs->out, cs->out_cap, data, chunk, NULL);
        if (LZ4F_isError(n))
            return error_set(err, "lz4 compression failed: %s", LZ4F_getErrorName(n));
        if (n && stage_write(s->next, cs->out, n, err) != 0)
            return -1;
        data += chunk;
        len -= chunk;
    }
    return 0;
}

static int
lz4_c_finish(Stage *s, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    if (lz4_c_header(s, err) != 0)
        return -1;
    size_t n = LZ4F_compressEnd(cs->lc, cs->out, cs->out_cap, NULL);
    if (LZ4F_isError(n))
        return error_set(err, "lz4 compression failed: %s", LZ4F_getErrorName(n));
    if (n && stage_write(s->next, cs->out, n, err) != 0)
        return -1;
    return stage_finish(s->next, err);
}

static int
lz4_d_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    while (len > 0)
    {
        size_t out_n = cs->out_cap, in_n = len;
        size_t hint = LZ4F_decompress(cs->ld, cs->out, &out_n, data, &in_n, NULL);
        if (LZ4F_isError(hint))
            return error_set(err, "%s: corrupt lz4 data: %s", cs->what, LZ4F_getErrorName(hint));
        cs->pending = hint;
        if (out_n && stage_write(s->next, cs->out, out_n, err) != 0)
            return -1;
        data += in_n;
        len -= in_n;
        if (in_n == 0 && out_n == 0)
            break;
    }
    return 0;
}

static int
lz4_d_finish(Stage *s, Error *err)
{
    CodecStage *cs = (CodecStage *) s;
    /* Flush anything LZ4F still holds. */
    for (;;)
    {
        size_t out_n = cs->out_cap, in_n = 0;
        size_t hint = LZ4F_decompress(cs->ld, cs->out, &out_n, NULL, &in_n, NULL);
        if (LZ4F_isError(hint))
            return error_set(err, "%s: corrupt lz4 data: %s", cs->what, LZ4F_getErrorName(hint));
        if (out_n == 0)
            break;   /* as for zstd: the hint is about a next frame */
        cs->pending = hint;
        if (stage_write(s->next, cs->out, out_n, err) != 0)
            return -1;
    }
    if (cs->pending != 0)
        return error_set(err, "%s: truncated lz4 data (the frame does not end)", cs->what);
    return stage_finish(s->next, err);
}

static void
codec_destroy(Stage *s)
{
    CodecStage *cs = (CodecStage *) s;
    if (!cs->zc_borrowed)
        ZSTD_freeCCtx(cs->zc);
    ZSTD_freeDCtx(cs->zd);
    if (cs->lc)
        LZ4F_freeCompressionContext(cs->lc);
    if (cs->ld)
        LZ4F_freeDecompressionContext(cs->ld);
    free(cs->out);
    free(cs);
}

static int
passthrough_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    return stage_write(s->next, data, len, err);
}

static int
passthrough_finish(Stage *s, Error *err)
{
    return stage_finish(s->next, err);
}

static const StageOps zstd_c_ops = {"zstd-compress", zstd_c_write, zstd_c_finish, codec_destroy};
static const StageOps zstd_d_ops = {"zstd-decompress", zstd_d_write, zstd_d_finish, codec_destroy};
static const StageOps lz4_c_ops = {"lz4-compress", lz4_c_write, lz4_c_finish, codec_destroy};
static const StageOps lz4_d_ops = {"lz4-decompress", lz4_d_write, lz4_d_finish, codec_destroy};
static const StageOps none_ops = {"none", passthrough_write, passthrough_finish, codec_destroy};

Stage *
stage_compress_new(Compression c, int level, Stage *next)
{
    CodecStage *cs = xcalloc(1, sizeof(*cs));
    cs->base.next = next;
    cs->algo = c;
    cs->compress = true;
    switch (c)
    {
        case COMPRESS_ZSTD:
            cs->base.ops = &zstd_c_ops;
            cs->zc = ZSTD_createCCtx();
            if (!cs->zc)
                abort();
            ZSTD_CCtx_setParameter(cs->zc, ZSTD_c_compressionLevel, level);
            ZSTD_CCtx_setParameter(cs->zc, ZSTD_c_checksumFlag, 1);
            cs->out_cap = ZSTD_CStreamOutSize();
            cs->out = xmalloc(cs->out_cap);
            break;
        case COMPRESS_LZ4:
            cs->base.ops = &lz4_c_ops;
            if (LZ4F_isError(LZ4F_createCompressionContext(&cs->lc, LZ4F_VERSION)))
                abort();
            cs->level = level;
            break;
        case COMPRESS_NONE:
            cs->base.ops = &none_ops;
            break;
    }
    return &cs->base;
}

struct Compressor
{
    Compression algo;
    int level;
    ZSTD_CCtx *zc;                    /* zstd: kept across objects */
};

Compressor *
compressor_new(Compression c, int level)
{
    Compressor *k = xcalloc(1, sizeof(*k));
    k->algo = c;
    k->level = level;
    if (c != COMPRESS_ZSTD)
        return k;
    k->zc = ZSTD_createCCtx();
    if (!k->zc)
        abort();
    ZSTD_CCtx_setParameter(k->zc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(k->zc, ZSTD_c_checksumFlag, 1);
    return k;
}

void
compressor_free(Compressor *k)
{
    if (!k)
        return;
    ZSTD_freeCCtx(k->zc);
    free(k);
}

Stage *
stage_compress_with(Compressor *k, Stage *next)
{
    if (!k->zc)
        return stage_compress_new(k->algo, k->level, next);
    /* A new frame; what an abandoned one left is dropped. The parameters
     * and the tables' memory stay. */
    ZSTD_CCtx_reset(k->zc, ZSTD_reset_session_only);
    CodecStage *cs = xcalloc(1, sizeof(*cs));
    cs->base.ops = &zstd_c_ops;
    cs->base.next = next;
    cs->algo = COMPRESS_ZSTD;
    cs->compress = true;
    cs->zc = k->zc;
    cs->zc_borrowed = true;
    cs->out_cap = ZSTD_CStreamOutSize();
    cs->out = xmalloc(cs->out_cap);
    return &cs->base;
}

Stage *
stage_decompress_new(Compression c, const char *what, Stage *next)
{
    CodecStage *cs = xcalloc(1, sizeof(*cs));
    cs->base.next = next;
    cs->algo = c;
    cs->what = what;
    switch (c)
    {
        case COMPRESS_ZSTD:
            cs->base.ops = &zstd_d_ops;
            cs->zd = ZSTD_createDCtx();
            if (!cs->zd)
                abort();
            cs->out_cap = ZSTD_DStreamOutSize();
            cs->out = xmalloc(cs->out_cap);
            cs->pending = 1;   /* no frame seen yet: empty input is truncated */
            break;
        case COMPRESS_LZ4:
            cs->base.ops = &lz4_d_ops;
            if (LZ4F_isError(LZ4F_createDecompressionContext(&cs->ld, LZ4F_VERSION)))
                abort();
            cs->out_cap = 256 * 1024;
            cs->out = xmalloc(cs->out_cap);
            cs->pending = 1;
            break;
        case COMPRESS_NONE:
            cs->base.ops = &none_ops;
            break;
    }
    return &cs->base;
}
