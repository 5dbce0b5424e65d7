/* The data path is a chain of small stages, each pushing bytes to the next:
 *
 *   backup:  read file -> verify pages -> compress -> hash -> pool object
 *   restore: pool object -> hash -> decompress -> count -> file
 *
 * A stage's finish() flushes what it holds, then finishes the next stage.
 * stage_free() frees a whole chain from its head. */
#ifndef STRATA_STAGE_H
#define STRATA_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/storage.h"

typedef struct Stage Stage;

typedef struct StageOps
{
    const char *name;
    int (*write)(Stage *s, const uint8_t *data, size_t len, Error *err);
    int (*finish)(Stage *s, Error *err);
    void (*destroy)(Stage *s);
} StageOps;

struct Stage
{
    const StageOps *ops;
    Stage *next;
};

static inline int stage_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{ return s->ops->write(s, data, len, err); }
int stage_finish(Stage *s, Error *err);
void stage_free(Stage *head);

/* Compression: the algorithms a pool object can be stored with. */
typedef enum Compression
{
    COMPRESS_NONE = 0,
    COMPRESS_ZSTD,
    COMPRESS_LZ4,
} Compression;

int compression_parse(const char *name, Compression *out, Error *err);
const char *compression_name(Compression c);      /* "none", "zstd", "lz4" */
const char *compression_ext(Compression c);       /* "raw", "zst", "lz4" */
int compression_from_ext(const char *ext, Compression *out);
int compression_default_level(Compression c);
int compression_check_level(Compression c, int level, Error *err);

/* Pass-through SHA-256 and byte count. */
Stage *stage_hash_new(Stage *next);
void stage_hash_result(Stage *s, char hex[65], uint64_t *bytes);

/* Pass-through byte count only. */
Stage *stage_count_new(Stage *next);
uint64_t stage_count_bytes(Stage *s);

/* Compressed frames carry their own content checksum (zstd, lz4). */
Stage *stage_compress_new(Compression c, int level, Stage *next);
/* A compressor kept by one worker across the objects it stores, so that
 * zstd's context (its tables' memory) is set up once, not per object. */
typedef struct Compressor Compressor;
Compressor *compressor_new(Compression c, int level);
void compressor_free(Compressor *k);
/* As stage_compress_new with k's algorithm and level; k outlives the
 * stage and serves one stage at a time. */
Stage *stage_compress_with(Compressor *k, Stage *next);
/* Fails on a corrupt or truncated frame, naming `what`. */
Stage *stage_decompress_new(Compression c, const char *what, Stage *next);

/* Terminal stages. */
Stage *stage_storage_new(StorageWriter *w);     /* does not commit: the caller does */
Stage *stage_fd_new(int fd, const char *path);  /* write(2) to an open file */
Stage *stage_discard_new(void);

#endif
