/* One WAL record's layout (PostgreSQL 15, DecodeXLogRecord in
 * xlogreader.c): the XLogRecord header, block headers (each with optional
 * image header and relation), the main-data header, then the images, the
 * block data and the main data in that order. Every length is checked
 * against the bytes present before it is used. Images are located, never
 * decompressed. */
#include "postgres_fe.h"
#include "access/xlogrecord.h"
#include "port/pg_crc32c.h"

#include "wal/reader.h"

_Static_assert(SizeOfXLogRecord == 24, "PostgreSQL 15 record header");
_Static_assert(XLR_MAX_BLOCK_ID == WAL_MAX_BLOCK_ID, "block ids");
_Static_assert(BLCKSZ == WAL_PAGE_SIZE && XLOG_BLCKSZ == WAL_PAGE_SIZE, "8 kB pages");

uint32_t
wal_crc32c(const void *data, size_t len)
{
    pg_crc32c crc;
    INIT_CRC32C(crc);
    COMP_CRC32C(crc, data, len);
    FIN_CRC32C(crc);
    return crc;
}

uint32_t
wal_record_crc(const uint8_t *raw, uint32_t len)
{
    pg_crc32c crc;
    INIT_CRC32C(crc);
    COMP_CRC32C(crc, raw + SizeOfXLogRecord, len - SizeOfXLogRecord);
    COMP_CRC32C(crc, raw, offsetof(XLogRecord, xl_crc));
    FIN_CRC32C(crc);
    return crc;
}

typedef struct Cursor
{
    const uint8_t *p;
    uint32_t left;
} Cursor;

static bool
take(Cursor *c, void *dst, uint32_t n)
{
    if (c->left < n)
        return false;
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

#define LSNARGS(l) (unsigned) ((l) >> 32), (unsigned) (l)

/* The image header of block `b`: PG15's cross-checks of hole and length. */
static int
block_image_header(Cursor *c, WalBlockRef *b, Lsn lsn, Error *err)
{
    if (!take(c, &b->bimg_len, 2) || !take(c, &b->hole_offset, 2) || !take(c, &b->bimg_info, 1))
        return error_set(err, "record at %X/%X: block %u image header is cut off", LSNARGS(lsn), b->id);
    b->apply_image = (b->bimg_info & BKPIMAGE_APPLY) != 0;
    bool hole = (b->bimg_info & BKPIMAGE_HAS_HOLE) != 0;
    bool compressed = BKPIMAGE_COMPRESSED(b->bimg_info);
    if (compressed)
    {
        b->hole_length = 0;
        if (hole && !take(c, &b->hole_length, 2))
            return error_set(err, "record at %X/%X: block %u compressed image header is cut off", LSNARGS(lsn), b->id);
    }
    else
        b->hole_length = b->bimg_len > BLCKSZ ? 0 : (uint16_t) (BLCKSZ - b->bimg_len);
    if (b->bimg_info & ~(BKPIMAGE_HAS_HOLE | BKPIMAGE_APPLY | BKPIMAGE_COMPRESS_PGLZ | BKPIMAGE_COMPRESS_LZ4 |
                         BKPIMAGE_COMPRESS_ZSTD))
        return error_set(err, "record at %X/%X: block %u image has unknown flags 0x%02X", LSNARGS(lsn), b->id,
                         b->bimg_info);
    if (b->bimg_len > BLCKSZ || (!compressed && b->bimg_len == 0))
        return error_set(err, "record at %X/%X: block %u image length %u is not within a %d-byte page", LSNARGS(lsn),
                         b->id, b->bimg_len, BLCKSZ);
    if (hole && (b->hole_offset == 0 || b->hole_length == 0 || b->bimg_len == BLCKSZ))
        return error_set(err, "record at %X/%X: block %u image says it has a hole, but offset %u length %u image %u",
                         LSNARGS(lsn), b->id, b->hole_offset, b->hole_length, b->bimg_len);
    if (!hole && (b->hole_offset != 0 || b->hole_length != 0))
        return error_set(err, "record at %X/%X: block %u image has no hole flag, but hole offset %u length %u",
                         LSNARGS(lsn), b->id, b->hole_offset, b->hole_length);
    if (compressed && b->bimg_len == BLCKSZ)
        return error_set(err, "record at %X/%X: block %u image is compressed but %u bytes long", LSNARGS(lsn), b->id,
                         b->bimg_len);
    if ((uint32_t) b->hole_offset + b->hole_length > BLCKSZ)
        return error_set(err, "record at %X/%X: block %u image hole %u+%u overruns the page", LSNARGS(lsn), b->id,
                         b->hole_offset, b->hole_length);
    return 0;
}

/* One XLogRecordBlockHeader (id already read). */
static int
block_header(Cursor *c, uint8_t id, WalRecord *rec, const WalRelFile **last_rel, uint64_t *datatotal, Error *err)
{
    Lsn lsn = rec->lsn;
    if (rec->nblocks > 0 && id <= rec->blocks[rec->nblocks - 1].id)
        return error_set(err, "record at %X/%X: out-of-order block id %u", LSNARGS(lsn), id);
    WalBlockRef *b = &rec->blocks[rec->nblocks];
    memset(b, 0, sizeof(*b));
    b->id = id;
    uint8_t fork_flags;
    if (!take(c, &fork_flags, 1) || !take(c, &b->data_len, 2))
        return error_set(err, "record at %X/%X: block %u header is cut off", LSNARGS(lsn), id);
    b->fork = fork_flags & BKPBLOCK_FORK_MASK;
    b->flags = fork_flags & BKPBLOCK_FLAG_MASK;
    b->has_image = (fork_flags & BKPBLOCK_HAS_IMAGE) != 0;
    b->will_init = (fork_flags & BKPBLOCK_WILL_INIT) != 0;
    bool has_data = (fork_flags & BKPBLOCK_HAS_DATA) != 0;
    if (b->fork > MAX_FORKNUM)
        return error_set(err, "record at %X/%X: block %u names fork %u", LSNARGS(lsn), id, b->fork);
    if (has_data != (b->data_len != 0))
        return error_set(err, "record at %X/%X: block %u data flag %s but data length %u", LSNARGS(lsn), id,
                         has_data ? "set" : "not set", b->data_len);
    *datatotal += b->data_len;
    if (b->has_image)
    {
        if (block_image_header(c, b, lsn, err) != 0)
            return -1;
        *datatotal += b->bimg_len;
    }
    if (!(fork_flags & BKPBLOCK_SAME_REL))
    {
        RelFileNode rn;
        if (!take(c, &rn, sizeof(rn)))
            return error_set(err, "record at %X/%X: block %u relation is cut off", LSNARGS(lsn), id);
        b->rel.spc = rn.spcNode;
        b->rel.db = rn.dbNode;
        b->rel.rel = rn.relNode;
    }
    else if (!*last_rel)
        return error_set(err, "record at %X/%X: block %u says 'same relation' but no relation came before",
                         LSNARGS(lsn), id);
    else
        b->rel = **last_rel;
    *last_rel = &b->rel;
    if (!take(c, &b->blkno, 4))
        return error_set(err, "record at %X/%X: block %u number is cut off", LSNARGS(lsn), id);
    rec->nblocks++;
    return 0;
}

int
wal_decode_record(const uint8_t *raw, uint32_t len, Lsn lsn, WalRecord *rec, Error *err)
{
    XLogRecord h;
    if (len < SizeOfXLogRecord)
        return error_set(err, "record at %X/%X: %u bytes, shorter than a record header", LSNARGS(lsn), len);
    memcpy(&h, raw, SizeOfXLogRecord);
    if (h.xl_tot_len != len)
        return error_set(err, "record at %X/%X: header says %u bytes, %u present", LSNARGS(lsn), h.xl_tot_len, len);
    memset(rec, 0, offsetof(WalRecord, blocks));
    rec->lsn = lsn;
    rec->tot_len = len;
    rec->xid = h.xl_xid;
    rec->prev = h.xl_prev;
    rec->info = h.xl_info;
    rec->rmid = h.xl_rmid;

    Cursor c = {raw + SizeOfXLogRecord, len - SizeOfXLogRecord};
    uint64_t datatotal = 0;
    const WalRelFile *last_rel = NULL;
    while (c.left > datatotal)
    {
        uint8_t id;
        take(&c, &id, 1);
        if (id == XLR_BLOCK_ID_DATA_SHORT)
        {
            uint8_t n;
            if (!take(&c, &n, 1))
                return error_set(err, "record at %X/%X: main data header is cut off", LSNARGS(lsn));
            rec->main_len = n;
            datatotal += n;
            break;
        }
        else if (id == XLR_BLOCK_ID_DATA_LONG)
        {
            if (!take(&c, &rec->main_len, 4))
                return error_set(err, "record at %X/%X: main data header is cut off", LSNARGS(lsn));
            datatotal += rec->main_len;
            break;
        }
        else if (id == XLR_BLOCK_ID_ORIGIN)
        {
            if (!take(&c, &rec->origin, 2))
                return error_set(err, "record at %X/%X: origin is cut off", LSNARGS(lsn));
        }
        else if (id == XLR_BLOCK_ID_TOPLEVEL_XID)
        {
            if (!take(&c, &rec->toplevel_xid, 4))
                return error_set(err, "record at %X/%X: top-level xid is cut off", LSNARGS(lsn));
        }
        else if (id <= XLR_MAX_BLOCK_ID)
        {
            if (block_header(&c, id, rec, &last_rel, &datatotal, err) != 0)
                return -1;
        }
        else
            return error_set(err, "record at %X/%X: invalid block id %u", LSNARGS(lsn), id);
    }
    if (c.left != datatotal)
        return error_set(err, "record at %X/%X: its headers declare %llu data bytes, %u remain", LSNARGS(lsn),
                         (unsigned long long) datatotal, c.left);
    /* Data follow in block order: each block's image then its data; then
     * the main data, which is therefore the last main_len bytes. */
    rec->main_data = rec->main_len ? c.p + c.left - rec->main_len : NULL;
    return 0;
}
