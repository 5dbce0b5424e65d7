/* The WAL decoder and the WAL index's stored form on arbitrary bytes: the
 * input is laid out as two consecutive segments (the segment size taken
 * from its long header when that is a sane power of two up to 1 MiB, so
 * real segments make good seeds), decoded record by record and indexed;
 * the same bytes are also parsed as one raw record and as a stored index.
 * Anything but a clean error is a failure (ASan/UBSan abort). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wal/index.h"
#include "wal/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count(void *ctx, const WalRecord *r, Error *err)
{
    (*(size_t *) ctx) += (size_t) r->nblocks + (r->main_len ? 1 : 0);
    return 0;
}

static uint64_t
segment_size(const uint8_t *data, size_t size)
{
    uint32_t s = 0;
    if (size >= 40)
        memcpy(&s, data + 32, 4);
    if (s >= 2 * WAL_PAGE_SIZE && s <= (1u << 20) && (s & (s - 1)) == 0)
        return s;
    return 8 * WAL_PAGE_SIZE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seg = segment_size(data, size);
    uint8_t *segs = calloc(2, seg);
    memcpy(segs, data, size < 2 * seg ? size : 2 * seg);
    Error err;
    size_t n = 0;
    WalReader *r = wal_reader_new(seg, 0);
    if (wal_reader_feed(r, 1, 4, segs, seg, count, &n, &err) == 0)
        wal_reader_feed(r, 1, 5, segs + seg, seg, count, &n, &err);
    wal_reader_free(r);

    /* Indexed: the first segment alone (its records' bodies interpreted),
     * then the second with the first as its predecessor. */
    WalIndex ix, first;
    if (wal_index_build(1, 4, seg, 0, segs, NULL, 0, NULL, "fuzz", &first, &err) == 0)
    {
        /* and the second from the first's index (its kept tail) */
        if (wal_index_build(1, 5, seg, 0, segs + seg, NULL, 0, &first, "fuzz", &ix, &err) == 0)
            wal_index_free(&ix);
        wal_index_free(&first);
    }
    if (wal_index_build(1, 5, seg, 0, segs + seg, segs, 1, NULL, "fuzz", &ix, &err) == 0)
        wal_index_free(&ix);
    free(segs);

    WalRecord *rec = malloc(sizeof(*rec));
    if (size >= 4 && size <= UINT32_MAX)
    {
        /* As one record: the length field made to match so the layout parser runs. */
        uint8_t *raw = malloc(size);
        memcpy(raw, data, size);
        uint32_t len = (uint32_t) size;
        memcpy(raw, &len, 4);
        wal_decode_record(raw, len, 0x1000000, rec, &err);
        free(raw);
    }
    free(rec);

    if (wal_index_parse(data, size, "fuzz", &ix, &err) == 0)
        wal_index_free(&ix);
    return 0;
}
