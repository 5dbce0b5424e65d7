/* Parsers: sizes, LSNs, WAL names, recovery targets. */
#include <string.h>

#include "pg/wal.h"
#include "pool/fields.h"
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
    CHECK(lsn_parse("0/FFFFFFFFF", &l, &err) != 0, "LSN half of 9 hex digits refused (no silent 0/FFFFFFFF)");
    CHECK(lsn_parse("100000000/0", &l, &err) != 0, "LSN high half past 32 bits refused (no silent 0/0)");
    CHECK(lsn_parse("FFFFFFFF/FFFFFFFF", &l, &err) == 0 && l == UINT64_MAX, "largest LSN");
    CHECK(lsn_parse("0/0", &l, &err) == 0 && l == 0, "LSN 0/0");
    CHECK(lsn_parse(" 1/2", &l, &err) != 0 && lsn_parse("1/ 2", &l, &err) != 0, "blanks refused");
    CHECK(lsn_parse("+1/2", &l, &err) != 0 && lsn_parse("1/-2", &l, &err) != 0, "signs refused");
    CHECK(lsn_parse("0x1/2", &l, &err) != 0, "0x refused");
    CHECK(lsn_parse("/1", &l, &err) != 0 && lsn_parse("1/", &l, &err) != 0 && lsn_parse("1", &l, &err) != 0,
          "missing half refused");
    CHECK(lsn_parse("1/2/3", &l, &err) != 0, "two slashes refused");
    CHECK(lsn_parse("a/b", &l, &err) == 0 && l == 0xA0000000BULL, "lower-case hex as PostgreSQL reads it");

    uint64_t u;
    CHECK(parse_u64("18446744073709551615", &u, &err) == 0 && u == UINT64_MAX, "largest u64");
    CHECK(parse_u64("18446744073709551616", &u, &err) != 0, "u64 overflow refused");
    CHECK(parse_u64("-1", &u, &err) != 0 && parse_u64("", &u, &err) != 0 && parse_u64(" 1", &u, &err) != 0,
          "u64: sign, empty, blank refused");
    CHECK(parse_size("20000000000G", &v, &err) != 0, "size overflow in the unit refused");
    CHECK(parse_size("99999999999999999999", &v, &err) != 0, "size overflow in the number refused");
    long lv;
    CHECK(parse_int_range("99999999999999999999", 0, 10, &lv, &err) != 0 && strstr(err.msg, "out of range"),
          "long overflow refused as out of range");
    CHECK(parse_int_range(" 5", 0, 10, &lv, &err) != 0 && parse_int_range("+5", 0, 10, &lv, &err) != 0,
          "blank and '+' refused");
    CHECK(parse_int_range("-5", -10, 10, &lv, &err) == 0 && lv == -5, "negative in range");
    CHECK(parse_duration(" 5", 0, 100, &lv, &err) != 0, "duration with a blank refused");
    CHECK(parse_duration("99999999999999999999d", 0, 100, &lv, &err) != 0, "duration overflow refused");
    CHECK(wal_segment_size_valid(16 << 20) && !wal_segment_size_valid(0) && !wal_segment_size_valid(3 << 20) &&
              !wal_segment_size_valid((uint64_t) 2 << 30),
          "segment sizes");
    uint32_t ptli;
    uint64_t psegno;
    CHECK(!wal_parse_segment_name("000000010000000000000001", 0, &ptli, &psegno), "segment size 0 refused");

    CHECK(relative_path_check("path", "base/1/1259", &err) == 0, "relative path");
    CHECK(relative_path_check("path", "../escape", &err) != 0, "../ refused");
    CHECK(relative_path_check("path", "base/../../escape", &err) != 0, "inner .. refused");
    CHECK(relative_path_check("path", "base/..", &err) != 0, "trailing .. refused");
    CHECK(relative_path_check("path", "/etc", &err) != 0 && strstr(err.msg, "absolute"), "absolute refused");
    CHECK(relative_path_check("path", "a//b", &err) != 0 && relative_path_check("path", "a/", &err) != 0,
          "empty parts refused");
    CHECK(relative_path_check("path", "./a", &err) != 0, ". refused");
    CHECK(relative_path_check("path", "a\nb", &err) != 0, "newline refused");
    CHECK(relative_path_check("path", "..a/b..", &err) == 0, "dots inside a name are fine");
    CHECK(name_check("node", "c1/shard1", true, &err) == 0, "nested node name");
    CHECK(name_check("node", "c1/shard1", false, &err) != 0, "slash refused where names do not nest");
    CHECK(name_check("node", "db;touch X;true", true, &err) != 0 && strstr(err.msg, "';'"),
          "shell metacharacter refused, named");
    CHECK(name_check("node", "db/../x", true, &err) != 0 && name_check("node", "-x", true, &err) != 0,
          "parts starting with '.' or '-' refused");
    CHECK(name_check("node", "", true, &err) != 0 && name_check("node", "a/", true, &err) != 0 &&
              name_check("node", "/a", true, &err) != 0,
          "empty name and empty parts refused");

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
    CHECK(target_parse_time("2026-02-30 00:00:00+00", &t, &err) != 0 && strstr(err.msg, "28 days"),
          "February 30 refused (not March 2)");
    CHECK(target_parse_time("2026-04-31 00:00:00+00", &t, &err) != 0, "April 31 refused");
    CHECK(target_parse_time("2028-02-29 00:00:00+00", &t, &err) == 0, "leap day in a leap year");
    target_free(&t);
    CHECK(target_parse_time("2100-02-29 00:00:00+00", &t, &err) != 0, "2100 is not a leap year");
    CHECK(target_parse_time("2026-01-01 00:00:60+00", &t, &err) != 0, "second 60 refused");
    CHECK(target_parse_time("2026-01-01 00:00:00.5e9+00", &t, &err) != 0, "exponent in the fraction refused");
    CHECK(target_parse_time(" 2026-01-01 00:00:00+00", &t, &err) != 0, "leading blank refused");
    CHECK(target_parse_xid("-1", &t, &err) != 0 && strstr(err.msg, "--xid"), "--xid -1 refused");
    CHECK(target_parse_xid("1234", &t, &err) == 0 && t.xid == 1234, "--xid 1234");
    target_free(&t);
    CHECK(target_parse_lsn("zz", &t, &err) != 0 && strstr(err.msg, "--lsn"), "--lsn zz refused");
    CHECK(target_parse_name("", &t, &err) != 0, "empty restore point name refused");
    UNIT_DONE();
}
