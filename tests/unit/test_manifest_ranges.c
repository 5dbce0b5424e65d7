/* Files split into ranges (pool/manifest_ranges.c): when a file is split
 * and how; the chunk size bounds; a split file's entry reads back with its
 * ranges; ranges that overlap, leave a gap at the start, do not add up to
 * the entry or do not match its digest are refused naming the file. In an
 * incremental both kinds of entry live side by side: blocks over the parent
 * and a file copied whole split into ranges; one entry with both is refused. */
#include <string.h>

#include "fixture_pool.h"
#include "pg/page_checksum.h"
#include "pool/sealed.h"
#include "unit.h"

static const char ID[] = "20260101-000000F";
#define MIB ((uint64_t) 1 << 20)

static void
test_split_decision(void)
{
    CHECK(manifest_range_count(0, 64 * MIB) == 0, "an empty file is one object");
    CHECK(manifest_range_count(64 * MIB, 64 * MIB) == 0, "a file of exactly the chunk size is one object");
    CHECK(manifest_range_count(64 * MIB + 1, 64 * MIB) == 2, "one byte more: two ranges");
    CHECK(manifest_range_count(1024 * MIB, 64 * MIB) == 16, "a 1 GiB segment: 16 ranges of 64 MiB");
    CHECK(manifest_range_count(1024 * MIB, 0) == 0, "chunk size 0: never split");

    ManifestFile f = {.path = "base/5/16397", .size = 5 * MIB + 8192};
    manifest_ranges_plan(&f, 2 * MIB);
    CHECK(f.nranges == 3, "5 MiB + 8 KiB at 2 MiB: 3 ranges");
    CHECK(f.nranges == 3 && f.ranges[0].offset == 0 && f.ranges[0].size == 2 * MIB && f.ranges[1].offset == 2 * MIB &&
              f.ranges[2].offset == 4 * MIB && f.ranges[2].size == MIB + 8192,
          "the ranges tile the file: offsets by the chunk, the last one the rest");
    manifest_ranges_plan(&f, 64 * MIB);
    CHECK(f.nranges == 0 && f.ranges == NULL, "planned again with a larger chunk: not split");
    free(f.ranges);

    Error err;
    CHECK(chunk_size_check(CHUNK_SIZE_DEFAULT, &err) == 0, "the default chunk size is valid");
    CHECK(chunk_size_check(CHUNK_SIZE_MIN, &err) == 0, "1 MiB is valid");
    CHECK(chunk_size_check(CHUNK_SIZE_MIN - PG_BLCKSZ, &err) != 0 && strstr(err.msg, "between"),
          "below 1 MiB is refused");
    CHECK(chunk_size_check(CHUNK_SIZE_MAX * 2, &err) != 0 && strstr(err.msg, "between"), "above 1 TiB is refused");
    CHECK(chunk_size_check(2 * MIB + 100, &err) != 0 && strstr(err.msg, "multiple of the 8192-byte page"),
          "a chunk size that splits a page is refused");
}

static void
fill_range(ManifestRange *r, uint64_t offset, uint64_t size, uint64_t stored, char digit)
{
    memset(r, 0, sizeof(*r));
    r->offset = offset;
    r->size = size;
    r->stored_size = stored;
    memset(r->sha256, digit, 64);
    r->sha256[64] = 0;
}

/* A backup with one split file of three ranges and one whole file. */
static void
save_split_manifest(Pool *p, ManifestRange *ranges, ManifestFile *files)
{
    Error err;
    fill_range(&ranges[0], 0, 2 * MIB, 1000, 'a');
    fill_range(&ranges[1], 2 * MIB, 2 * MIB, 2000, 'b');
    fill_range(&ranges[2], 4 * MIB, 8192, 30, 'c');
    files[0] = (ManifestFile){.path = "base/5/16397", .mode = 0600, .mtime = 1767225600, .ranges = ranges,
                              .nranges = 3};
    manifest_ranges_finish(&files[0]);
    files[1] = (ManifestFile){.path = "PG_VERSION", .size = 3, .mode = 0600, .mtime = 1767225601, .stored_size = 3,
                              .sha256 = "0000000000000000000000000000000000000000000000000000000000000002"};
    Manifest m = {.id = (char *) ID, .node = "db", .type = "full", .label = "", .pg_version_num = 150004,
                  .system_identifier = 7300000000000000001ULL, .timeline = 1, .start_lsn = 0x3000028,
                  .stop_lsn = 0x3000138, .start_time = 1767225600, .stop_time = 1767225660,
                  .wal_segment_size = 16777216, .compression = COMPRESS_ZSTD, .compress_level = 3,
                  .size = files[0].size + 3, .stored_size = files[0].stored_size + 3, .files = files, .nfiles = 2};
    NodeInfo ni = {.system_identifier = m.system_identifier, .wal_segment_size = m.wal_segment_size};
    CHECK(node_info_ensure(p, "db", &ni, &err) == 0 && manifest_save(p, &m, &err) == 0,
          "a manifest with a split file saved");
    char *key = manifest_range_object_path(&m, &files[0], &ranges[1]);
    CHECK(!strcmp(key, "nodes/db/backups/20260101-000000F/data/base/5/16397.range-2097152.zst"),
          "a range's object is named by the file and its offset");
    free(key);
}

static void
test_round_trip(Pool *p)
{
    ManifestRange ranges[3];
    ManifestFile files[2];
    save_split_manifest(p, ranges, files);
    CHECK(files[0].size == 4 * MIB + 8192 && files[0].stored_size == 3030, "a split file's sizes are its ranges' sums");
    Error err;
    Manifest r;
    bool missing = true;
    int rc = manifest_load(p, "db", ID, &r, &missing, &err);
    CHECK(rc == 0 && !missing, "and loaded");
    if (rc != 0 || missing)
    {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    const ManifestFile *f = &r.files[0];
    CHECK(f->nranges == 3 && f->ranges[1].offset == 2 * MIB && f->ranges[1].size == 2 * MIB &&
              f->ranges[1].stored_size == 2000 && !strcmp(f->ranges[2].sha256, ranges[2].sha256),
          "its ranges read back");
    CHECK(!strcmp(f->sha256, files[0].sha256) && f->size == files[0].size, "the entry's own fields read back");
    CHECK(r.files[1].nranges == 0 && r.files[1].ranges == NULL, "a whole file has no ranges");
    CHECK(manifest_object_count(&r) == 4, "three objects for the split file, one for the other");
    CHECK(manifest_ranges_extent(f) == 4 * MIB + 8192, "the split file ends where its last range does");
    ManifestFile v = manifest_range_view(f, &f->ranges[1]);
    CHECK(v.size == 2 * MIB && v.stored_size == 2000 && !strcmp(v.sha256, ranges[1].sha256) && v.nranges == 0 &&
              !strcmp(v.path, f->path),
          "a range's view carries the range's size and checksum under the file's path");
    manifest_free(&r);
}

/* The saved manifest's first file entry, its "ranges" replaced by `ranges`
 * (JSON text) or one member of the entry replaced by `value`. */
static void
tamper_entry(Pool *p, const char *key, const char *value)
{
    Error err;
    char *path = pool_manifest_path("db", ID);
    json_object *o;
    bool missing;
    if (sealed_get(p->storage, path, &o, &missing, &err) == 0 && !missing)
    {
        json_object *entry = json_object_array_get_idx(json_object_object_get(o, "files"), 0);
        json_object_object_add(entry, key, json_tokener_parse(value));
        if (sealed_put(p->storage, path, o, &err) != 0)
            fprintf(stderr, "cannot write %s: %s\n", path, err.msg);
        json_object_put(o);
    }
    free(path);
}

#define SHA(c) "\"" c c c c c c c c "\""   /* c: 8 hex digits */

static void
test_refused(Pool *p)
{
    static const char *const cases[][3] = {
        /* key, value, the error must contain */
        {"ranges", "[{\"offset\":0,\"size\":10,\"stored_size\":1,\"sha256\":" SHA("aaaaaaaa") "}]", "a split file has at least 2"},
        {"ranges", "[{\"offset\":0,\"size\":2097152,\"stored_size\":1000,\"sha256\":" SHA("aaaaaaaa") "},"
                   "{\"offset\":1048576,\"size\":2105344,\"stored_size\":2030,\"sha256\":" SHA("bbbbbbbb") "}]",
         "overlaps the range before it"},
        {"ranges", "[{\"offset\":8192,\"size\":2097152,\"stored_size\":1000,\"sha256\":" SHA("aaaaaaaa") "},"
                   "{\"offset\":2105344,\"size\":2105344,\"stored_size\":2030,\"sha256\":" SHA("bbbbbbbb") "}]",
         "leaves a gap at the start"},
        {"ranges", "[{\"offset\":0,\"size\":2097152,\"stored_size\":1000,\"sha256\":" SHA("aaaaaaaa") "},"
                   "{\"offset\":2097152,\"size\":8192,\"stored_size\":2030,\"sha256\":" SHA("bbbbbbbb") "}]",
         "its ranges hold"},
        {"ranges", "[{\"offset\":0,\"size\":2097152,\"stored_size\":1000,\"sha256\":" SHA("aaaaaaaa") "},"
                   "{\"offset\":1125899906842624,\"size\":2105344,\"stored_size\":2030,\"sha256\":" SHA("bbbbbbbb") "}]",
         "ends past 2^50 bytes"},
        {"ranges", "[{\"offset\":0,\"size\":2097152,\"stored_size\":1000,\"sha256\":\"xyz\"},"
                   "{\"offset\":2097152,\"size\":2105344,\"stored_size\":2030,\"sha256\":" SHA("bbbbbbbb") "}]",
         "field 'sha256'"},
        {"ranges", "{}", "field 'ranges'"},
        {"sha256", SHA("dddddddd"), "is not the digest of its ranges'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        ManifestRange ranges[3];
        ManifestFile files[2];
        save_split_manifest(p, ranges, files);
        tamper_entry(p, cases[i][0], cases[i][1]);
        Manifest r;
        bool missing;
        Error err;
        int rc = manifest_load(p, "db", ID, &r, &missing, &err);
        char name[256];
        snprintf(name, sizeof(name), "files[0].%s forged: refused (%s)", cases[i][0], cases[i][2]);
        CHECK(rc != 0 && strstr(err.msg, cases[i][2]) && strstr(err.msg, "manifest"), name);
        if (rc != 0 && !strstr(err.msg, cases[i][2]))
            fprintf(stderr, "  got: %s\n", err.msg);
        if (rc == 0)
            manifest_free(&r);
    }
}

static const char INCR_ID[] = "20260101-000100I";

/* An incremental over ID: files[0] blocks over the parent's file, files[1]
 * copied whole and split into ranges. */
static int
save_incremental(Pool *p, ManifestRange *ranges, ManifestBlockRange *blocks, ManifestFile *files)
{
    fill_range(&ranges[0], 0, 2 * MIB, 1000, 'a');
    fill_range(&ranges[1], 2 * MIB, 8192, 30, 'b');
    blocks[0] = (ManifestBlockRange){3, 2};
    files[0] = (ManifestFile){.path = "base/5/16397", .size = 4 * MIB + 8192, .mode = 0600, .mtime = 1767225700,
                              .stored_size = 500, .reference = (char *) ID, .blocks = blocks, .nblock_ranges = 1,
                              .sha256 = "0000000000000000000000000000000000000000000000000000000000000003"};
    files[1] = (ManifestFile){.path = "base/5/16400_fsm", .mode = 0600, .mtime = 1767225701, .ranges = ranges,
                              .nranges = 2};
    manifest_ranges_finish(&files[1]);
    Manifest m = {.id = (char *) INCR_ID, .node = "db", .type = "incr", .parent = (char *) ID, .label = "",
                  .pg_version_num = 150004, .system_identifier = 7300000000000000001ULL, .timeline = 1,
                  .start_lsn = 0x4000028, .stop_lsn = 0x4000138, .start_time = 1767225700, .stop_time = 1767225760,
                  .wal_segment_size = 16777216, .compression = COMPRESS_ZSTD, .compress_level = 3,
                  .size = files[0].size + files[1].size, .stored_size = files[0].stored_size + files[1].stored_size,
                  .files = files, .nfiles = 2};
    Error err;
    return manifest_save(p, &m, &err);
}

static void
test_incremental_kinds(Pool *p)
{
    ManifestRange ranges[2];
    ManifestBlockRange blocks[1];
    ManifestFile files[2];
    CHECK(save_incremental(p, ranges, blocks, files) == 0, "an incremental with a blocks entry and a split file saved");
    Manifest r;
    bool missing = true;
    Error err;
    int rc = manifest_load(p, "db", INCR_ID, &r, &missing, &err);
    CHECK(rc == 0 && !missing, "and loaded");
    if (rc == 0 && !missing)
    {
        CHECK(r.files[0].reference && r.files[0].nblock_ranges == 1 && r.files[0].nranges == 0,
              "the blocks entry reads back without ranges");
        CHECK(!r.files[1].reference && r.files[1].nranges == 2 && r.files[1].ranges[1].offset == 2 * MIB,
              "the file copied whole reads back with its ranges");
        manifest_free(&r);
    }
    else
        fprintf(stderr, "%s\n", err.msg);
    /* The blocks entry given ranges too. */
    char *path = pool_manifest_path("db", INCR_ID);
    json_object *o;
    if (sealed_get(p->storage, path, &o, &missing, &err) == 0 && !missing)
    {
        json_object *e0 = json_object_array_get_idx(json_object_object_get(o, "files"), 0);
        json_object *e1 = json_object_array_get_idx(json_object_object_get(o, "files"), 1);
        json_object_object_add(e0, "ranges", json_object_get(json_object_object_get(e1, "ranges")));
        sealed_put(p->storage, path, o, &err);
        json_object_put(o);
    }
    free(path);
    rc = manifest_load(p, "db", INCR_ID, &r, &missing, &err);
    CHECK(rc != 0 && strstr(err.msg, "has both blocks (an incremental entry) and ranges") &&
              strstr(err.msg, "base/5/16397"),
          "an entry with both blocks and ranges is refused naming the file");
    if (rc == 0)
        manifest_free(&r);
}

int
main(void)
{
    test_split_decision();
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        UNIT_DONE();
    test_round_trip(p);
    test_refused(p);
    test_incremental_kinds(p);
    fixture_pool_remove(p, root);
    UNIT_DONE();
}
