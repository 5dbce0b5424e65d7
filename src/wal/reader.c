/* Pages and record assembly (PostgreSQL 15's XLogReaderValidatePageHeader
 * and XLogDecodeNextRecord, for whole segments fed in order). */
#include "postgres_fe.h"
#include "access/xlog_internal.h"
#include "access/xlogrecord.h"
#include "access/rmgr.h"
#include "catalog/pg_control.h"

#include "wal/reader.h"

_Static_assert(XLOG_PAGE_MAGIC == 0xD110, "PostgreSQL 15 WAL page magic");

/* PostgreSQL 15 allocates a record buffer only up to MaxAllocSize. */
#define WAL_RECORD_MAX ((uint32_t) 0x3fffffff)

#define LSNARGS(l) (unsigned) ((l) >> 32), (unsigned) (l)

/* The record being assembled (server headers own the name Buffer). */
typedef struct RecordBuffer
{
    uint8_t *data;
    size_t len;
    size_t cap;
} RecordBuffer;

static void
record_buffer_append(RecordBuffer *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap)
    {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown)
            abort();
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

struct WalReader
{
    uint64_t seg_size;
    uint64_t sysid;
    /* Position of the last segment fed, to tell a consecutive one. */
    bool have_last;
    uint64_t last_segno;
    uint32_t last_page_tli;
    /* The record being assembled across pages (and segments). */
    bool in_record;
    Lsn rec_lsn;
    uint32_t rec_total;
    RecordBuffer rec;
    /* The previous record's start, for the xl_prev check (0: unknown). */
    Lsn prev_lsn;
    /* A record whose continuation was overwritten: the next record must be
     * the XLOG_OVERWRITE_CONTRECORD that names it. */
    Lsn overwritten;
    /* Continuation bytes of a record that began before we started. */
    uint32_t skip_left;
    /* This feed's outcome. */
    Lsn ended_early;
    bool switched;
    Lsn first_record;
    bool skipped_head;
    /* Where the segment being fed came from, for messages. */
    char segname[WAL_NAME_LEN + 1];
};

WalReader *
wal_reader_new(uint64_t seg_size, uint64_t sysid)
{
    WalReader *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->seg_size = seg_size;
    r->sysid = sysid;
    return r;
}

void
wal_reader_free(WalReader *r)
{
    if (!r)
        return;
    free(r->rec.data);
    free(r);
}

Lsn wal_reader_ended_early(const WalReader *r) { return r->ended_early; }
bool wal_reader_switched(const WalReader *r) { return r->switched; }
Lsn wal_reader_pending_record(const WalReader *r) { return r->in_record ? r->rec_lsn : 0; }
Lsn wal_reader_first_record(const WalReader *r) { return r->first_record; }
uint64_t wal_reader_sysid(const WalReader *r) { return r->sysid; }
bool wal_reader_skipped_head(const WalReader *r) { return r->skipped_head; }

bool
wal_reader_pending(const WalReader *r, Lsn *lsn, const uint8_t **bytes, uint32_t *len, uint32_t *total)
{
    if (!r->in_record || !r->have_last)
        return false;
    *lsn = r->rec_lsn;
    *bytes = r->rec.data;
    *len = (uint32_t) r->rec.len;
    *total = r->rec_total;
    return true;
}

void
wal_reader_resume(WalReader *r, uint64_t prev_segno, Lsn lsn, const uint8_t *bytes, uint32_t len, uint32_t total)
{
    r->have_last = true;
    r->last_segno = prev_segno;
    r->prev_lsn = 0;
    r->overwritten = 0;
    r->rec.len = 0;
    r->in_record = lsn != 0 && len < total;
    if (r->in_record)
    {
        r->rec_lsn = lsn;
        r->rec_total = total;
        record_buffer_append(&r->rec, bytes, len);
    }
}

static int
fail(WalReader *r, Error *err, Lsn at, const char *what)
{
    return error_set(err, "WAL segment %s: %s at %X/%X", r->segname, what, LSNARGS(at));
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Checks a page header; *hdrsz its size. *zero: the page is all zeros. */
static int
check_page(WalReader *r, const uint8_t *page, Lsn pageaddr, bool first_in_seg, size_t *hdrsz, bool *zero, Error *err)
{
    XLogPageHeaderData h;
    memcpy(&h, page, sizeof(h));
    *zero = false;
    if (h.xlp_magic == 0 && all_zero(page, XLOG_BLCKSZ))
    {
        *zero = true;
        return 0;
    }
    Error e;
    if (h.xlp_magic != XLOG_PAGE_MAGIC)
    {
        error_set(&e, "page magic 0x%04X, PostgreSQL 15 writes 0x%04X", h.xlp_magic, XLOG_PAGE_MAGIC);
        return fail(r, err, pageaddr, e.msg);
    }
    if (h.xlp_info & ~XLP_ALL_FLAGS)
    {
        error_set(&e, "invalid page info bits 0x%04X", h.xlp_info);
        return fail(r, err, pageaddr, e.msg);
    }
    if (first_in_seg != ((h.xlp_info & XLP_LONG_HEADER) != 0))
        return fail(r, err, pageaddr,
                    first_in_seg ? "first page of the segment lacks the long header"
                                 : "long page header on a page that does not start the segment");
    if (first_in_seg)
    {
        XLogLongPageHeaderData lh;
        memcpy(&lh, page, sizeof(lh));
        if (r->sysid && lh.xlp_sysid != r->sysid)
        {
            error_set(&e, "system identifier %llu, expected %llu", (unsigned long long) lh.xlp_sysid,
                      (unsigned long long) r->sysid);
            return fail(r, err, pageaddr, e.msg);
        }
        if (lh.xlp_seg_size != r->seg_size || lh.xlp_xlog_blcksz != XLOG_BLCKSZ)
        {
            error_set(&e, "long header says segments of %u bytes and pages of %u, expected %llu and %d",
                      lh.xlp_seg_size, lh.xlp_xlog_blcksz, (unsigned long long) r->seg_size, XLOG_BLCKSZ);
            return fail(r, err, pageaddr, e.msg);
        }
        r->sysid = lh.xlp_sysid;
    }
    if (h.xlp_pageaddr != pageaddr)
    {
        error_set(&e, "page address %X/%X in the header, the page is", LSNARGS(h.xlp_pageaddr));
        return fail(r, err, pageaddr, e.msg);
    }
    if (h.xlp_tli < r->last_page_tli)
    {
        error_set(&e, "out-of-sequence timeline %u after %u", h.xlp_tli, r->last_page_tli);
        return fail(r, err, pageaddr, e.msg);
    }
    r->last_page_tli = h.xlp_tli;
    *hdrsz = first_in_seg ? SizeOfXLogLongPHD : SizeOfXLogShortPHD;
    return 0;
}

/* ValidXLogRecordHeader: length, resource manager, back link. */
static int
check_record_header(WalReader *r, const XLogRecord *h, Lsn lsn, Error *err)
{
    Error e;
    if (h->xl_tot_len < SizeOfXLogRecord || h->xl_tot_len > WAL_RECORD_MAX)
    {
        error_set(&e, "invalid record length %u", h->xl_tot_len);
        return fail(r, err, lsn, e.msg);
    }
    if (!RmgrIdIsValid(h->xl_rmid))
    {
        error_set(&e, "invalid resource manager id %u", h->xl_rmid);
        return fail(r, err, lsn, e.msg);
    }
    if (r->prev_lsn && h->xl_prev != r->prev_lsn)
    {
        error_set(&e, "record's back link %X/%X, the previous record is at %X/%X", LSNARGS(h->xl_prev),
                  LSNARGS(r->prev_lsn));
        return fail(r, err, lsn, e.msg);
    }
    return 0;
}

/* The first record after an overwritten continuation says which record
 * it replaced (VerifyOverwriteContrecord in PostgreSQL). */
static int
check_overwrite(WalReader *r, const WalRecord *rec, Error *err)
{
    Lsn lost = r->overwritten;
    r->overwritten = 0;
    xl_overwrite_contrecord x;
    if (rec->rmid != RM_XLOG_ID || (rec->info & ~XLR_INFO_MASK) != XLOG_OVERWRITE_CONTRECORD ||
        rec->main_len != sizeof(x))
        return fail(r, err, rec->lsn, "page says a continuation was overwritten, but its first record is not "
                                      "XLOG_OVERWRITE_CONTRECORD");
    memcpy(&x, rec->main_data, sizeof(x));
    if (x.overwritten_lsn != lost)
    {
        Error e;
        error_set(&e, "XLOG_OVERWRITE_CONTRECORD names %X/%X, the unfinished record was at %X/%X",
                  LSNARGS(x.overwritten_lsn), LSNARGS(lost));
        return fail(r, err, rec->lsn, e.msg);
    }
    return 0;
}

/* A record is complete in r->rec: check, decode, hand over. */
static int
finish_record(WalReader *r, uint32_t tli, Lsn end, WalRecordFn fn, void *ctx, Error *err)
{
    const uint8_t *raw = r->rec.data;
    XLogRecord h;
    memcpy(&h, raw, SizeOfXLogRecord);
    r->in_record = false;
    if (wal_record_crc(raw, r->rec_total) != h.xl_crc)
        return fail(r, err, r->rec_lsn, "record CRC-32C mismatch");
    WalRecord *rec = malloc(sizeof(*rec));
    if (!rec)
        abort();
    int rc = wal_decode_record(raw, r->rec_total, r->rec_lsn, rec, err);
    if (rc != 0)
        error_prefix(err, "WAL segment %s: ", r->segname);
    else
    {
        rec->tli = tli;
        rec->end = end;
        r->prev_lsn = r->rec_lsn;
        if (r->overwritten)
            rc = check_overwrite(r, rec, err);
        if (rc == 0 && rec->rmid == RM_XLOG_ID && (rec->info & ~XLR_INFO_MASK) == XLOG_SWITCH)
            r->switched = true;
        if (rc == 0 && fn && (rc = fn(ctx, rec, err)) != 0)
            error_prefix(err, "WAL segment %s: ", r->segname);
    }
    free(rec);
    return rc;
}


/* Adds n bytes to the record; checks the header once it is whole. */
static int
record_append(WalReader *r, const uint8_t *p, uint32_t n, Error *err)
{
    size_t before = r->rec.len;
    record_buffer_append(&r->rec, p, n);
    if (before < SizeOfXLogRecord && r->rec.len >= SizeOfXLogRecord)
    {
        XLogRecord h;
        memcpy(&h, r->rec.data, SizeOfXLogRecord);
        if (check_record_header(r, &h, r->rec_lsn, err) != 0)
            return -1;
    }
    return 0;
}

/* Continuation data at the start of a page: either the record we are
 * assembling or (at the start of reading) bytes of one we skip. *pos
 * moves past them. */
static int
page_continuation(WalReader *r, const uint8_t *page, const XLogPageHeaderData *h, Lsn pageaddr, size_t *pos,
                  uint32_t tli, WalRecordFn fn, void *ctx, Error *err)
{
    size_t room = XLOG_BLCKSZ - *pos;
    if (r->in_record && (h->xlp_info & XLP_FIRST_IS_OVERWRITE_CONTRECORD))
    {
        /* The record was never finished (a crash); WAL after recovery
         * overwrote its continuation: drop it, read on from here. */
        r->overwritten = r->rec_lsn;
        r->in_record = false;
        r->rec.len = 0;
        r->prev_lsn = 0;
        return 0;
    }
    if (r->in_record || r->skip_left)
    {
        uint32_t left = r->in_record ? r->rec_total - (uint32_t) r->rec.len : r->skip_left;
        Error e;
        if (!(h->xlp_info & XLP_FIRST_IS_CONTRECORD))
        {
            error_set(&e, "record at %X/%X continues here, but the page has no continuation flag",
                      LSNARGS(r->rec_lsn));
            return fail(r, err, pageaddr, e.msg);
        }
        if (h->xlp_rem_len != left)
        {
            error_set(&e, "continuation length %u, the record at %X/%X has %u bytes left", h->xlp_rem_len,
                      LSNARGS(r->rec_lsn), left);
            return fail(r, err, pageaddr, e.msg);
        }
        uint32_t n = left < room ? left : (uint32_t) room;
        if (r->in_record)
        {
            if (record_append(r, page + *pos, n, err) != 0)
                return -1;
            if (r->rec.len == r->rec_total && finish_record(r, tli, pageaddr + *pos + MAXALIGN(n), fn, ctx, err) != 0)
                return -1;
        }
        else
            r->skip_left -= n;
        *pos += MAXALIGN(n);
        return 0;
    }
    if (h->xlp_info & XLP_FIRST_IS_CONTRECORD)
    {
        if (!r->have_last)
        {
            /* Reading starts here: skip the tail of a record begun before. */
            if (h->xlp_rem_len == 0)
                return fail(r, err, pageaddr, "page continues a record, but its continuation length is 0");
            r->skip_left = h->xlp_rem_len;
            r->skipped_head = true;
            return page_continuation(r, page, h, pageaddr, pos, tli, fn, ctx, err);
        }
        return fail(r, err, pageaddr, "page continues a record, but no record was in progress");
    }
    return 0;
}

/* A record's end, as PostgreSQL's EndRecPtr: the MAXALIGNed position
 * after its last byte (where the next record would begin). */

/* Records that begin on this page (from *pos). *stop: WAL ends here. */
static int
page_records(WalReader *r, const uint8_t *page, Lsn pageaddr, size_t pos, uint32_t tli, bool *stop, WalRecordFn fn,
             void *ctx, Error *err)
{
    while (pos < XLOG_BLCKSZ && !r->in_record)
    {
        Lsn lsn = pageaddr + pos;
        uint32_t tot;
        memcpy(&tot, page + pos, 4);
        if (tot == 0)
        {
            r->ended_early = lsn;   /* zeros where a record would start: end of WAL */
            *stop = true;
            return 0;
        }
        if (!r->first_record)
            r->first_record = lsn;
        r->in_record = true;
        r->rec_lsn = lsn;
        r->rec_total = tot;
        r->rec.len = 0;
        size_t room = XLOG_BLCKSZ - pos;
        uint32_t n = tot < room ? tot : (uint32_t) room;
        if (n < SizeOfXLogRecord && n >= 4 && (tot < SizeOfXLogRecord || tot > WAL_RECORD_MAX))
        {
            Error e;
            error_set(&e, "invalid record length %u", tot);
            return fail(r, err, lsn, e.msg);
        }
        if (record_append(r, page + pos, n, err) != 0)
            return -1;
        if (r->rec.len < r->rec_total)
            return 0;     /* continues on the next page */
        if (finish_record(r, tli, lsn + MAXALIGN(tot), fn, ctx, err) != 0)
            return -1;
        if (r->switched)
        {
            *stop = true;   /* the rest of the segment is unused */
            return 0;
        }
        pos += MAXALIGN(tot);
    }
    return 0;
}

int
wal_reader_feed(WalReader *r, uint32_t tli, uint64_t segno, const uint8_t *data, size_t len, WalRecordFn fn,
                void *ctx, Error *err)
{
    wal_segment_name(tli, segno, r->seg_size, r->segname);
    r->ended_early = 0;
    r->switched = false;
    r->first_record = 0;
    r->skipped_head = false;
    if (len != r->seg_size)
        return error_set(err, "WAL segment %s: %zu bytes, segments are %llu", r->segname, len,
                         (unsigned long long) r->seg_size);
    if (!r->have_last || segno != r->last_segno + 1)
    {
        r->have_last = false;   /* not consecutive: start afresh */
        r->in_record = false;
        r->prev_lsn = 0;
        r->overwritten = 0;
    }
    r->last_page_tli = 0;       /* a new timeline's file may follow an older one */
    r->skip_left = 0;
    int rc = 0;
    Lsn seg_start = segno * r->seg_size;
    bool stop = false;
    for (size_t off = 0; off < len && !stop && rc == 0; off += XLOG_BLCKSZ)
    {
        const uint8_t *page = data + off;
        Lsn pageaddr = seg_start + off;
        size_t hdrsz = 0;
        bool zero;
        if ((rc = check_page(r, page, pageaddr, off == 0, &hdrsz, &zero, err)) != 0)
            break;
        if (zero)
        {
            if (r->in_record)
            {
                Error e;
                error_set(&e, "record at %X/%X continues into a zeroed page", LSNARGS(r->rec_lsn));
                rc = fail(r, err, pageaddr, e.msg);
                break;
            }
            if (!r->skip_left)
            {
                r->ended_early = pageaddr;
                break;
            }
            rc = fail(r, err, pageaddr, "continuation data expected, the page is zeroed");
            break;
        }
        XLogPageHeaderData h;
        memcpy(&h, page, sizeof(h));
        size_t pos = hdrsz;
        if ((rc = page_continuation(r, page, &h, pageaddr, &pos, tli, fn, ctx, err)) != 0)
            break;
        r->have_last = true;
        if (r->in_record || r->skip_left || r->switched)
        {
            stop = r->switched;
            continue;
        }
        rc = page_records(r, page, pageaddr, pos, tli, &stop, fn, ctx, err);
    }
    r->have_last = rc == 0;
    r->last_segno = segno;
    if (rc != 0 || r->ended_early)
    {
        r->in_record = false;   /* nothing continues past an error or the end */
        r->have_last = false;
    }
    return rc;
}

uint64_t
wal_segment_first_record_offset(void)
{
    return SizeOfXLogLongPHD;
}
