/* Parsers: sizes, LSNs, WAL names, recovery targets. */
#include <string.h>

#include "pg/wal.h"
#include "pipeline/page_verify.h"
#include "restore/target.h"
#include "unit.h"

int main(void)
{
    Error err;
    uint64_t v;
    CHECK(parse_size("5M", &v, &err) == 0 && v == 5 * 1024 * 1024, "5M is 5 MiB");
    CHECK(parse_size("100k", &v, &err) == 0 && v == 100 * 1024, "100k is 100 KiB");
    CHECK(parse_size("7", &v, &err) == 0 && v == 7, "plain bytes");
    CHECK(parse_size("5X", &v, &err) != 0, "5X refused");
    CHECK(parse_size("-5", &v, &err) != 0, "negative refused");

    Lsn l;
    CHECK(lsn_parse("16/B374D848", &l, &err) == 0 && l == 0x16B374D848ULL, "LSN parses");
    CHECK(lsn_parse("zz", &l, &err) != 0, "LSN zz refused");
    CHECK(lsn_parse("1/2x", &l, &err) != 0, "LSN with trailing junk refused");
    char buf[32];
    lsn_format(0x16B374D848ULL, buf);
    CHECK(!strcmp(buf, "16/B374D848"), "LSN formats");

    char name[WAL_NAME_LEN + 1];
    wal_segment_name(1, 0x1FF, 16 * 1024 * 1024, name);
    CHECK(!strcmp(name, "0000000100000001000000FF"), "segment name for segno 0x1FF");
    uint32_t tli;
    uint64_t segno;
    CHECK(wal_parse_segment_name("0000000200000001000000FF", 16 * 1024 * 1024, &tli, &segno) && tli == 2 &&
              segno == 0x1FF,
          "segment name parses back");
    CHECK(wal_is_archivable_name("00000002.history"), "history file is archivable");
    CHECK(wal_is_archivable_name("000000010000000000000003.00000028.backup"), "backup history file is archivable");
    CHECK(wal_is_archivable_name("000000010000000000000003.partial"), "partial segment is archivable");
    CHECK(!wal_is_archivable_name("../etc/passwd"), "arbitrary name refused");
    CHECK(!wal_is_archivable_name("00000001000000000000000g"), "lowercase/non-hex refused");

    uint32_t seg;
    CHECK(page_verify_applies("base/1/1259", &seg) && seg == 0, "relation file is checked");
    CHECK(page_verify_applies("base/5/16384.3", &seg) && seg == 3, "relation segment number read");
    CHECK(page_verify_applies("global/1262_fsm", &seg), "fsm fork is checked");
    CHECK(!page_verify_applies("base/1/PG_VERSION", &seg), "PG_VERSION is not a relation");
    CHECK(!page_verify_applies("pg_xact/0000", &seg), "pg_xact is not checked");

    Target t = {0};
    CHECK(target_parse_time("2026-11-24 15:50:37+00", &t, &err) == 0 && t.time == 1795535437.0,
          "time with zone parses to the right epoch");
    target_free(&t);
    CHECK(target_parse_time("2026-11-24 15:50:37.5+02:00", &t, &err) == 0 && t.time == 1795535437.5 - 7200,
          "fraction and offset");
    CHECK(t.text && !strcmp(t.text, "2026-11-24 13:50:37.500000+00"), "normalised to UTC for PostgreSQL");
    target_free(&t);
    CHECK(target_parse_time("yesterday", &t, &err) != 0 && strstr(err.msg, "--time"), "--time yesterday refused");
    CHECK(target_parse_time("2026-13-01 00:00:00", &t, &err) != 0, "month 13 refused");
    CHECK(target_parse_xid("-1", &t, &err) != 0 && strstr(err.msg, "--xid"), "--xid -1 refused");
    CHECK(target_parse_xid("1234", &t, &err) == 0 && t.xid == 1234, "--xid 1234");
    target_free(&t);
    CHECK(target_parse_lsn("zz", &t, &err) != 0 && strstr(err.msg, "--lsn"), "--lsn zz refused");
    CHECK(target_parse_name("", &t, &err) != 0, "empty restore point name refused");
    UNIT_DONE();
}
