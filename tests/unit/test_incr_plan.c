/* Which files an incremental backup reads as changed blocks, and which
 * blocks (backup/incr_plan.c): the decision alone, on a hand-made WAL
 * change set and parent manifest. */
#include <string.h>

#include "backup/incr_plan.h"
#include "pg/page_checksum.h"
#include "unit.h"

#define B PG_BLCKSZ

static ManifestFile
file(const char *path, uint64_t blocks)
{
    return (ManifestFile){.path = (char *) path, .size = blocks * B};
}

static bool
ranges_are(const ManifestBlockRange *r, size_t n, const char *want)
{
    char got[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u+%u", i ? " " : "", r[i].start, r[i].count);
    if (strcmp(got, want))
        printf("# ranges: got '%s', want '%s'\n", got, want);
    return !strcmp(got, want);
}

static void
test_parse(void)
{
    WalRelFile rel;
    uint8_t fork;
    uint32_t seg;
    CHECK(incr_parse_relpath("base/5/16384", &rel, &fork, &seg) && rel.spc == 1663 && rel.db == 5 &&
              rel.rel == 16384 && fork == 0 && seg == 0, "base/<db>/<rel>: the main fork");
    CHECK(incr_parse_relpath("base/5/16384_vm.3", &rel, &fork, &seg) && fork == 2 && seg == 3, "a VM segment");
    CHECK(incr_parse_relpath("global/1262", &rel, &fork, &seg) && rel.spc == 1664 && rel.db == 0, "global/");
    CHECK(!incr_parse_relpath("base/5/PG_VERSION", &rel, &fork, &seg), "PG_VERSION is not a relation");
    CHECK(!incr_parse_relpath("base/5/t3_16384", &rel, &fork, &seg), "a temporary relation is not one");
    CHECK(!incr_parse_relpath("base/5/16384.", &rel, &fork, &seg), "an empty segment number is refused");
    CHECK(!incr_parse_relpath("pg_xact/0000", &rel, &fork, &seg), "pg_xact is not a relation");
}

static void
test_plan(void)
{
    ManifestFile pf[] = {file("base/5/100", 10), file("base/5/100.1", PG_RELSEG_BLOCKS), file("base/5/101", 4),
                         file("base/5/102", 4), file("base/6/200", 4), file("base/5/100_vm", 1),
                         file("base/5/103", 8)};
    Manifest parent = {.id = "20260101-000000F", .files = pf, .nfiles = sizeof(pf) / sizeof(pf[0])};
    WalBlockRange r100[] = {{2, 3}, {PG_RELSEG_BLOCKS + 5, 1}};
    WalBlockRange r103[] = {{1, 1}, {6, 4}};
    WalForkBlocks forks[] = {{.rel = {1663, 5, 100}, .fork = 0, .nranges = 2, .ranges = r100},
                             {.rel = {1663, 5, 103}, .fork = 0, .nranges = 2, .ranges = r103}};
    WalTruncation tr[] = {{.rel = {1663, 5, 101}, .blkno = 1, .flags = 1}};
    WalRelEvent re[] = {{.kind = WAL_REL_CREATE, .fork = 0, .rel = {1663, 5, 102}}};
    WalDbEvent de[] = {{.kind = WAL_DB_CREATE_FILE_COPY, .db = 6, .spc = 1663, .src_db = 1, .src_spc = 1663}};
    WalIndex ix = {.forks = forks, .nforks = 2, .truncations = tr, .ntruncations = 1, .rels = re, .nrels = 1,
                   .dbs = de, .ndbs = 1};
    IncrPlan p;
    incr_plan_init(&p, &ix, &parent);
    ManifestBlockRange *r;
    size_t n;
    const char *why = "";
    CHECK(incr_plan_file(&p, "base/5/100", 10 * B, &r, &n, &why) && ranges_are(r, n, "2+3"),
          "a main fork: the changed blocks of its first segment");
    free(r);
    CHECK(incr_plan_file(&p, "base/5/100.1", PG_RELSEG_BLOCKS * (uint64_t) B, &r, &n, &why) && ranges_are(r, n, "5+1"),
          "its second segment: relation block numbers made file-relative");
    free(r);
    CHECK(incr_plan_file(&p, "base/5/100", 13 * B, &r, &n, &why) && ranges_are(r, n, "2+3 10+3"),
          "grown since the parent: every block past the parent's size too");
    free(r);
    CHECK(incr_plan_file(&p, "base/5/100", 3 * B, &r, &n, &why) && ranges_are(r, n, "2+1"),
          "shrunk: changed blocks past the end are not read");
    free(r);
    CHECK(incr_plan_file(&p, "base/5/103", 8 * B, &r, &n, &why) && ranges_are(r, n, "1+1 6+2"),
          "changed blocks past the file's size are cut at it");
    free(r);
    CHECK(incr_plan_file(&p, "base/5/103", 12 * B, &r, &n, &why) && ranges_are(r, n, "1+1 6+6"),
          "changed blocks and the grown tail merge");
    free(r);
    CHECK(!incr_plan_file(&p, "base/5/101", 4 * B, &r, &n, &why) && strstr(why, "truncated"),
          "a relation truncated in the range (it may regrow without block references): whole");
    CHECK(!incr_plan_file(&p, "base/5/102", 4 * B, &r, &n, &why) && strstr(why, "created"),
          "a relation created in the range (a recreated relfilenode): whole");
    CHECK(!incr_plan_file(&p, "base/6/200", 4 * B, &r, &n, &why) && strstr(why, "database"),
          "a file of a database created in the range (FILE_COPY has no block references): whole");
    CHECK(!incr_plan_file(&p, "base/5/100_vm", 1 * B, &r, &n, &why) && strstr(why, "main fork"),
          "a visibility map (its truncation is not WAL-logged): whole");
    CHECK(!incr_plan_file(&p, "base/5/104", 4 * B, &r, &n, &why) && strstr(why, "parent"),
          "a file the parent does not hold: whole");
    CHECK(!incr_plan_file(&p, "base/5/100", 10 * B + 100, &r, &n, &why) && strstr(why, "whole number"),
          "a size that is not whole blocks: whole");
    CHECK(!incr_plan_file(&p, "pg_xact/0000", B, &r, &n, &why), "a non-relation file: whole");
    CHECK(incr_plan_file(&p, "global/1262", B, &r, &n, &why) == false, "a relation not in the parent: whole");
    incr_plan_free(&p);

    WalServerEvent sv[] = {{.kind = WAL_SRV_PARAMETER_CHANGE, .wal_level = 0}};
    WalIndex minimal = {.servers = sv, .nservers = 1};
    CHECK(incr_plan_refusal(&minimal) != NULL, "wal_level minimal in the range refuses the incremental");
    sv[0].wal_level = 2;
    CHECK(incr_plan_refusal(&minimal) == NULL, "wal_level logical does not");
}

int
main(void)
{
    test_parse();
    test_plan();
    UNIT_DONE();
}
