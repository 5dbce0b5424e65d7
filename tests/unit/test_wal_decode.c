/* The WAL decoder on synthetic PostgreSQL 15 segments: records within a
 * page, across pages and across segments; CRC errors, truncated records,
 * missing continuation flags, wrong page addresses, bad back links; the
 * start in the middle of a record; the index's stored form; CRC-32C
 * against its published check value; timeline history files. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "unit.h"
#include "wal/history.h"
#include "wal/index.h"
#include "wal/reader.h"
#include "wal_gen.h"

#define SEG (64 * 1024)

typedef struct Seen
{
    int records;
    int blocks;
    Lsn lsns[64];
    uint32_t lens[64];
    uint32_t blk[64];
} Seen;

static int
collect(void *ctx, const WalRecord *r, Error *err)
{
    Seen *s = ctx;
    if (s->records < 64)
    {
        s->lsns[s->records] = r->lsn;
        s->lens[s->records] = r->tot_len;
        s->blk[s->records] = r->nblocks ? r->blocks[0].blkno : 0xFFFFFFFF;
    }
    s->records++;
    s->blocks += r->nblocks;
    return 0;
}

/* Two segments: small records, a 20000-byte record over three pages, and
 * one that crosses from segment 0 into segment 1, then a restore point. */
static Gen
make_stream(Lsn *cross, Lsn *rp)
{
    Gen g = gen_new(SEG, 2, 10);
    uint32_t len;
    uint8_t big[20000];
    memset(big, 'b', sizeof(big));
    for (int i = 0; i < 5; i++)
    {
        uint8_t *r = gen_build(10, 0x00, 1, 16384, (uint32_t) i, "m", 1, &len);
        gen_record(&g, r, len);
        free(r);
    }
    uint8_t *r = gen_build(10, 0x00, 1, 16384, 100, big, sizeof(big), &len);
    gen_record(&g, r, len);
    free(r);
    while (g.pos < SEG - 3000)
    {
        r = gen_build(10, 0x00, 1, 16384, 7, "m", 1, &len);
        gen_record(&g, r, len);
        free(r);
    }
    r = gen_build(10, 0x00, 1, 16385, 9, big, 6000, &len);
    *cross = gen_record(&g, r, len);
    free(r);
    uint8_t rpdata[72] = {0};
    memcpy(rpdata + 8, "unit-point", 11);
    r = gen_build(0, 0x70, 0, 0, 0, rpdata, sizeof(rpdata), &len);
    *rp = gen_record(&g, r, len);
    free(r);
    return g;
}

static int
feed_both(const Gen *g, Seen *s, Error *err)
{
    WalReader *rd = wal_reader_new(SEG, GEN_SYSID);
    int rc = wal_reader_feed(rd, 1, 10, g->buf, SEG, collect, s, err);
    if (rc == 0)
        rc = wal_reader_feed(rd, 1, 11, g->buf + SEG, SEG, collect, s, err);
    wal_reader_free(rd);
    return rc;
}

static void
test_valid(void)
{
    Lsn cross, rp;
    Gen g = make_stream(&cross, &rp);
    Seen s = {0};
    Error err;
    CHECK(feed_both(&g, &s, &err) == 0, "two synthetic segments decode");
    CHECK(s.records > 20 && s.blocks == s.records - 1, "every record seen, one block each but the restore point");
    CHECK(s.lens[5] == 24 + 24 + 5 + 20000 && s.blk[5] == 100, "a record over three pages is whole");
    int found = 0;
    for (int i = 0; i < s.records && i < 64; i++)
        found |= s.lsns[i] == cross;
    CHECK(cross / SEG == 10, "the crossing record starts in segment 0");

    WalIndex ix;
    CHECK(wal_index_build(1, 11, SEG, GEN_SYSID, g.buf + SEG, g.buf, 1, NULL, "x", &ix, &err) == 0, "index of segment 1");
    CHECK(!(ix.flags & (WAL_INDEX_HEAD_MISSING | WAL_INDEX_DECODE_ERROR)), "with its head, no error");
    CHECK(ix.nrpoints == 1 && !strcmp(ix.rpoints[0].name, "unit-point") && ix.rpoints[0].lsn == rp,
          "the restore point is indexed");
    int has9 = 0;
    for (size_t i = 0; i < ix.nforks; i++)
        if (ix.forks[i].rel.rel == 16385 && ix.forks[i].nranges == 1 && ix.forks[i].ranges[0].start == 9)
            has9 = 1;
    CHECK(has9 && ix.nrecords == 2, "the record crossing into segment 1 belongs to its index");

    Buffer b = {0};
    wal_index_serialize(&ix, &b);
    WalIndex back;
    CHECK(wal_index_parse((const uint8_t *) b.data, b.len, "unit", &back, &err) == 0, "stored form parses");
    CHECK(back.nrpoints == 1 && !strcmp(back.rpoints[0].name, "unit-point") && back.nforks == ix.nforks,
          "and gives the same index");
    wal_index_free(&back);
    b.data[b.len / 2] ^= 1;
    CHECK(wal_index_parse((const uint8_t *) b.data, b.len, "unit", &back, &err) != 0 && strstr(err.msg, "corrupt"),
          "a flipped bit in a stored index is refused");
    for (size_t cut = 0; cut < b.len; cut += 7)
        if (wal_index_parse((const uint8_t *) b.data, cut, "unit", &back, &err) == 0)
            wal_index_free(&back);
    buffer_free(&b);
    wal_index_free(&ix);

    WalIndex alone;
    CHECK(wal_index_build(1, 11, SEG, GEN_SYSID, g.buf + SEG, NULL, 0, NULL, "x", &alone, &err) == 0 &&
              (alone.flags & WAL_INDEX_HEAD_MISSING) && alone.covered_from == rp,
          "without the previous segment: head missing, coverage from the first record");
    wal_index_free(&alone);

    /* From the previous segment's index (its kept tail) instead of its bytes. */
    WalIndex first, second, again;
    CHECK(wal_index_build(1, 10, SEG, GEN_SYSID, g.buf, NULL, 0, NULL, "x", &first, &err) == 0 &&
              (first.flags & WAL_INDEX_TAIL) && first.tail_lsn == cross && first.tail_len < first.tail_total,
          "segment 0's index keeps the record continuing into segment 1");
    Buffer fb = {0};
    wal_index_serialize(&first, &fb);
    wal_index_free(&first);
    CHECK(wal_index_parse((const uint8_t *) fb.data, fb.len, "first", &first, &err) == 0 && first.tail_lsn == cross,
          "the tail survives the stored form");
    buffer_free(&fb);
    CHECK(wal_index_build(1, 11, SEG, GEN_SYSID, g.buf + SEG, NULL, 0, &first, "x", &second, &err) == 0 &&
              !(second.flags & WAL_INDEX_HEAD_MISSING) && second.nrecords == 2 &&
              (second.flags & WAL_INDEX_CLEAN_END) == 0,
          "segment 1 indexed from segment 0's tail: the crossing record is whole");
    CHECK(wal_index_build(1, 11, SEG, GEN_SYSID, g.buf + SEG, g.buf, 1, NULL, "x", &again, &err) == 0 &&
              again.nforks == second.nforks && again.nrecords == second.nrecords &&
              again.covered_from == second.covered_from,
          "the same index as from segment 0's bytes");
    first.tail[30] ^= 1;
    wal_index_free(&second);
    CHECK(wal_index_build(1, 11, SEG, GEN_SYSID, g.buf + SEG, NULL, 0, &first, "x", &second, &err) == 0 &&
              (second.flags & WAL_INDEX_DECODE_ERROR) && strstr(second.error, "CRC"),
          "a damaged tail is caught by the record's CRC");
    wal_index_free(&first);
    wal_index_free(&second);
    wal_index_free(&again);
    free(g.buf);
}

static void
expect_error(Gen *g, const char *what, const char *needle)
{
    Seen s = {0};
    Error err = {{0}};
    int rc = feed_both(g, &s, &err);
    char name[160];
    snprintf(name, sizeof(name), "%s: error mentions '%s' and the segment", what, needle);
    CHECK(rc != 0 && strstr(err.msg, needle) && strstr(err.msg, "WAL segment 00000001"), name);
    if (rc == 0 || !strstr(err.msg, needle))
        printf("#   got: %s\n", rc ? err.msg : "(no error)");
}

static void
test_errors(void)
{
    Lsn cross, rp;
    Gen g = make_stream(&cross, &rp);
    g.buf[100] ^= 0x40;
    expect_error(&g, "flipped byte in a record", "CRC-32C mismatch");
    free(g.buf);

    g = make_stream(&cross, &rp);
    memset(g.buf + WAL_PAGE_SIZE, 0, WAL_PAGE_SIZE);  /* the big record's second page */
    expect_error(&g, "record continuing into a zeroed page", "zeroed page");
    free(g.buf);

    g = make_stream(&cross, &rp);
    g.buf[WAL_PAGE_SIZE + 2] &= (uint8_t) ~1;
    expect_error(&g, "continuation flag missing", "no continuation flag");
    free(g.buf);

    g = make_stream(&cross, &rp);
    g.buf[WAL_PAGE_SIZE + 16] ^= 1;
    expect_error(&g, "wrong continuation length", "continuation length");
    free(g.buf);

    g = make_stream(&cross, &rp);
    g.buf[2 * WAL_PAGE_SIZE + 9] ^= 1;
    expect_error(&g, "wrong page address", "page address");
    free(g.buf);

    g = make_stream(&cross, &rp);
    g.buf[3 * WAL_PAGE_SIZE] = 0x11;
    expect_error(&g, "bad page magic", "page magic");
    free(g.buf);

    g = make_stream(&cross, &rp);
    g.buf[SEG + 24] ^= 1;   /* segment 1's system identifier */
    expect_error(&g, "another system's segment", "system identifier");
    free(g.buf);

    /* A record whose back link is wrong (CRC recomputed: only the link is bad). */
    g = gen_new(SEG, 2, 10);
    uint32_t len;
    for (int i = 0; i < 3; i++)
    {
        uint8_t *r = gen_build(10, 0, 1, 1, 1, "m", 1, &len);
        if (i == 2)
            g.prev += 8;
        gen_record(&g, r, len);
        free(r);
    }
    expect_error(&g, "wrong xl_prev", "back link");
    free(g.buf);

    /* A record length that claims more than the WAL holds: truncated. */
    g = gen_new(SEG, 2, 10);
    uint8_t *r = gen_build(10, 0, 1, 1, 1, "m", 1, &len);
    gen_record(&g, r, len);
    free(r);
    size_t at = (g.pos + 7) & ~(size_t) 7;
    gen_put(g.buf + at, 0x3fff0000, 4);
    gen_put(g.buf + at + 8, g.prev, 8);
    g.buf[at + 17] = 10;
    expect_error(&g, "record length beyond the segments", "zeroed page");
    free(g.buf);
}

static void
test_start_and_end(void)
{
    Lsn cross, rp;
    Gen g = make_stream(&cross, &rp);
    WalReader *rd = wal_reader_new(SEG, 0);
    Seen s = {0};
    Error err;
    CHECK(wal_reader_feed(rd, 1, 11, g.buf + SEG, SEG, collect, &s, &err) == 0, "segment 1 alone decodes");
    CHECK(wal_reader_skipped_head(rd) && s.records == 1 && s.lsns[0] == rp,
          "it skips the continued record and starts at the next");
    CHECK(wal_reader_ended_early(rd) > rp, "zeros after the last record: end of WAL, not an error");
    CHECK(wal_reader_sysid(rd) == GEN_SYSID, "the system identifier comes from the long header");
    CHECK(wal_reader_feed(rd, 1, 11, g.buf, SEG - 1, collect, &s, &err) != 0, "a short segment is an error");
    wal_reader_free(rd);
    free(g.buf);
}

static void
test_crc_and_history(void)
{
    CHECK(wal_crc32c("123456789", 9) == 0xE3069283, "CRC-32C check value (Castagnoli) of '123456789'");
    WalTimelinePath p;
    Error err;
    const char *h = "1\t0/3000000\tno recovery target specified\n\n2\t0/5000A28\tbefore 2026\n";
    CHECK(wal_history_parse(h, strlen(h), 3, "3.history", &p, &err) == 0 && p.count == 3, "history of timeline 3");
    CHECK(p.spans[0].tli == 1 && p.spans[0].end == 0x3000000 && p.spans[2].begin == 0x5000A28 && p.spans[2].end == 0,
          "its spans");
    CHECK(wal_path_segment_tli(&p, 2, 16 << 20) == 1 && wal_path_segment_tli(&p, 3, 16 << 20) == 2 &&
              wal_path_segment_tli(&p, 5, 16 << 20) == 3,
          "each segment is read from the newest timeline begun by then");
    CHECK(wal_path_contains(&p, 1, 0x2FFFFFF) && !wal_path_contains(&p, 1, 0x3000000) &&
              wal_path_contains(&p, 3, 0x9000000),
          "a timeline's WAL after its fork point is off the path");
    wal_timeline_path_free(&p);
    const char *bad = "2\t0/3000000\tx\n1\t0/4000000\ty\n";
    CHECK(wal_history_parse(bad, strlen(bad), 3, "3.history", &p, &err) != 0 && strstr(err.msg, "out of order"),
          "an out-of-order history is refused");
    CHECK(wal_history_parse("junk\n", 5, 3, "3.history", &p, &err) != 0 && strstr(err.msg, "line 1"),
          "a malformed line is named");
}

/* One record in a fresh segment, indexed: its error (or "") in msg. */
static int
index_one(uint8_t rmid, uint8_t info, const void *main, uint32_t main_len, WalIndex *ix, char *msg, size_t cap)
{
    Gen g = gen_new(SEG, 1, 20);
    uint32_t len;
    uint8_t *r = gen_build(rmid, info, 0, 0, 0, main, main_len, &len);
    gen_record(&g, r, len);
    free(r);
    Error err;
    int rc = wal_index_build(1, 20, SEG, GEN_SYSID, g.buf, NULL, 0, NULL, "x", ix, &err);
    snprintf(msg, cap, "%s", ix->error);
    free(g.buf);
    return rc;
}

static void
test_record_bodies(void)
{
    WalIndex ix;
    char msg[600];
    /* COMMIT with xinfo: relfilenodes (2 relations), then the two-phase xid. */
    uint8_t commit[8 + 4 + 4 + 24 + 4];
    memset(commit, 0, sizeof(commit));
    gen_put(commit, 1000000, 8);
    gen_put(commit + 8, (1u << 2) | (1u << 4), 4);
    gen_put(commit + 12, 2, 4);
    gen_put(commit + 16, 1663, 4);
    gen_put(commit + 20, 5, 4);
    gen_put(commit + 24, 16400, 4);
    gen_put(commit + 28, 1663, 4);
    gen_put(commit + 32, 5, 4);
    gen_put(commit + 36, 16401, 4);
    gen_put(commit + 40, 4242, 4);
    CHECK(index_one(1, 0x30 | 0x80, commit, sizeof(commit), &ix, msg, sizeof(msg)) == 0 && !msg[0] && ix.nxacts == 1 &&
              ix.xacts[0].kind == WAL_XACT_COMMIT_PREPARED && ix.xacts[0].xid == 4242 && ix.nrels == 2 &&
              ix.rels[1].rel.rel == 16401 && ix.xacts[0].time_us == 1000000 + INT64_C(946684800000000),
          "COMMIT PREPARED: prepared xid, time, two dropped relations");
    wal_index_free(&ix);
    gen_put(commit + 12, 0x7fffffff, 4);
    CHECK(index_one(1, 0x30 | 0x80, commit, sizeof(commit), &ix, msg, sizeof(msg)) == 0 &&
              (ix.flags & WAL_INDEX_DECODE_ERROR) && strstr(msg, "dropped relations says 2147483647 entries") &&
              strstr(msg, "WAL segment 0000000100000000"),
          "a commit record claiming 2^31 relations: a clear error naming segment and LSN");
    wal_index_free(&ix);
    uint8_t trunc[20] = {0};
    gen_put(trunc, 12, 4);
    gen_put(trunc + 4, 1663, 4);
    gen_put(trunc + 12, 16500, 4);
    gen_put(trunc + 16, 1, 4);
    CHECK(index_one(2, 0x20 | 0x01, trunc, sizeof(trunc), &ix, msg, sizeof(msg)) == 0 && ix.ntruncations == 1 &&
              ix.truncations[0].blkno == 12 && ix.truncations[0].rel.rel == 16500 && !ix.nunknown,
          "smgr truncate: relation and new length, a known special update");
    wal_index_free(&ix);
    CHECK(index_one(2, 0x20 | 0x01, trunc, 8, &ix, msg, sizeof(msg)) == 0 && strstr(msg, "smgr truncate record"),
          "a short smgr truncate is an error");
    wal_index_free(&ix);
    uint8_t drop[8 + 4 * 3];
    gen_put(drop, 16600, 4);
    gen_put(drop + 4, 3, 4);
    gen_put(drop + 8, 1663, 4);
    gen_put(drop + 12, 1664, 4);
    gen_put(drop + 16, 17000, 4);
    CHECK(index_one(4, 0x20 | 0x01, drop, sizeof(drop), &ix, msg, sizeof(msg)) == 0 && ix.ndbs == 3 &&
              ix.dbs[2].spc == 17000 && ix.dbs[0].kind == WAL_DB_DROP,
          "drop database: one event per tablespace");
    wal_index_free(&ix);
    gen_put(drop + 4, 4, 4);
    CHECK(index_one(4, 0x20 | 0x01, drop, sizeof(drop), &ix, msg, sizeof(msg)) == 0 && strstr(msg, "4 tablespaces"),
          "drop database claiming more tablespaces than it holds: error");
    wal_index_free(&ix);
    CHECK(index_one(131, 0x01, "x", 1, &ix, msg, sizeof(msg)) == 0 && (ix.flags & WAL_INDEX_UNKNOWN_SPECIAL) &&
              ix.nunknown == 1 && ix.unknown[0].rmid == 131,
          "a custom resource manager's special relation update flags the index");
    wal_index_free(&ix);
    CHECK(index_one(4, 0x70 | 0x01, "x", 1, &ix, msg, sizeof(msg)) == 0 && (ix.flags & WAL_INDEX_UNKNOWN_SPECIAL),
          "an unknown database record flags it too");
    wal_index_free(&ix);
}

int
main(void)
{
    test_valid();
    test_errors();
    test_start_and_end();
    test_crc_and_history();
    test_record_bodies();
    UNIT_DONE();
}
