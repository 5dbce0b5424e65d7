#include "pg/wal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One half of an LSN: 1 to 8 hex digits, as PostgreSQL's pg_lsn reads it. */
static bool
lsn_half(const char *s, size_t n, uint32_t *out)
{
    if (n < 1 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (!isxdigit((unsigned char) s[i]))
            return false;
        int d = isdigit((unsigned char) s[i]) ? s[i] - '0' : (tolower((unsigned char) s[i]) - 'a' + 10);
        v = (v << 4) | (uint32_t) d;
    }
    *out = v;
    return true;
}

int
lsn_parse(const char *text, Lsn *out, Error *err)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    uint32_t hi, lo;
    if (!slash || !lsn_half(text, (size_t) (slash - text), &hi) || !lsn_half(slash + 1, strlen(slash + 1), &lo))
        return error_set(err, "'%.80s' is not an LSN (expected the form 16/B374D848: two hexadecimal numbers of 1 to "
                              "8 digits)", text ? text : "");
    *out = ((uint64_t) hi << 32) | lo;
    return 0;
}

void
lsn_format(Lsn lsn, char out[32])
{
    snprintf(out, 32, "%X/%X", (unsigned) (lsn >> 32), (unsigned) lsn);
}

bool
wal_segment_size_valid(uint64_t seg_size)
{
    /* PostgreSQL: a power of two from 1 MB to 1 GB. */
    return seg_size >= (UINT64_C(1) << 20) && seg_size <= (UINT64_C(1) << 30) && (seg_size & (seg_size - 1)) == 0;
}

void
wal_segment_name(uint32_t tli, uint64_t segno, uint64_t seg_size, char out[WAL_NAME_LEN + 1])
{
    uint64_t per_id = UINT64_C(0x100000000) / seg_size;
    snprintf(out, WAL_NAME_LEN + 1, "%08X%08X%08X", tli, (unsigned) (segno / per_id), (unsigned) (segno % per_id));
}

static bool
all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char) s[i]) || islower((unsigned char) s[i]))
            return false;
    return true;
}

bool
wal_is_segment_name(const char *name)
{
    return strlen(name) == WAL_NAME_LEN && all_hex(name, WAL_NAME_LEN);
}

bool
wal_is_history_name(const char *name)
{
    return strlen(name) == 16 && all_hex(name, 8) && !strcmp(name + 8, ".history");
}

bool
wal_is_archivable_name(const char *name)
{
    if (wal_is_segment_name(name) || wal_is_history_name(name))
        return true;
    size_t n = strlen(name);
    if (n > WAL_NAME_LEN && all_hex(name, WAL_NAME_LEN) && name[WAL_NAME_LEN] == '.')
    {
        const char *rest = name + WAL_NAME_LEN;
        if (!strcmp(rest, ".partial"))
            return true;
        /* 000000010000000000000003.00000028.backup */
        if (strlen(rest) == 16 && all_hex(rest + 1, 8) && !strcmp(rest + 9, ".backup"))
            return true;
    }
    return false;
}

bool
wal_parse_segment_name(const char *name, uint64_t seg_size, uint32_t *tli, uint64_t *segno)
{
    if (strlen(name) < WAL_NAME_LEN || !all_hex(name, WAL_NAME_LEN) || !wal_segment_size_valid(seg_size))
        return false;
    unsigned t, log, seg;
    if (sscanf(name, "%08X%08X%08X", &t, &log, &seg) != 3)
        return false;
    uint64_t per_id = UINT64_C(0x100000000) / seg_size;
    if (seg >= per_id)
        return false;
    *tli = t;
    *segno = (uint64_t) log * per_id + seg;
    return true;
}

/* XLogLongPageHeaderData: magic(2) info(2) tli(4) pageaddr(8) rem_len(4)
 * pad(4) sysid(8) seg_size(4) xlog_blcksz(4). */
#define XLP_LONG_HEADER 0x0002

int
wal_read_long_header(const uint8_t *page, size_t len, uint64_t *sysid, uint32_t *seg_size, uint32_t *tli,
                     Error *err)
{
    if (len < 40)
        return error_set(err, "too short (%zu bytes) for a WAL segment", len);
    uint16_t info;
    memcpy(&info, page + 2, 2);
    if (!(info & XLP_LONG_HEADER))
        return error_set(err, "first page has no long header: not the start of a WAL segment");
    memcpy(tli, page + 4, 4);
    memcpy(sysid, page + 24, 8);
    memcpy(seg_size, page + 32, 4);
    return 0;
}
