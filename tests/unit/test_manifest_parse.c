/* Manifest parsing (pool/manifest.c): a full manifest reads back as it was
 * written; each malformed field is refused naming the field and the
 * manifest, and nothing half-parsed is returned; paths that leave the data
 * directory (files and directories) are refused. */
#include <string.h>

#include "fixture_pool.h"
#include "pool/sealed.h"
#include "unit.h"

static const char ID[] = "20260101-000000F";

static void
test_round_trip(Pool *p)
{
    Error err;
    ManifestFile files[] = {
        {.path = "base/1/1259", .size = 8192, .mode = 0600, .mtime = 1767225600, .stored_size = 100,
         .sha256 = "0000000000000000000000000000000000000000000000000000000000000001"},
        {.path = "PG_VERSION", .size = 3, .mode = 0600, .mtime = 1767225601, .stored_size = 3,
         .sha256 = "0000000000000000000000000000000000000000000000000000000000000002"},
    };
    ManifestDir dirs[] = {{.path = "base", .mode = 0700}, {.path = "base/1", .mode = 0700}};
    ManifestPageError pe[] = {{.path = "base/1/1259", .block = 7}};
    Manifest m = {.id = (char *) ID, .node = "db", .type = "full", .label = "nightly", .cluster_backup = "cb-1",
                  .pg_version_num = 150004, .system_identifier = 7300000000000000001ULL, .data_checksums = true,
                  .from_standby = true, .timeline = 3, .start_lsn = 0x3000028, .stop_lsn = 0x3000138,
                  .start_time = 1767225600, .stop_time = 1767225660, .duration = 60.5,
                  .wal_segment_size = 16777216, .compression = COMPRESS_ZSTD, .compress_level = 3, .size = 8195,
                  .stored_size = 103, .files = files, .nfiles = 2, .dirs = dirs, .ndirs = 2, .page_errors = pe,
                  .npage_errors = 1};
    NodeInfo ni = {.system_identifier = m.system_identifier, .wal_segment_size = m.wal_segment_size};
    CHECK(node_info_ensure(p, "db", &ni, &err) == 0 && manifest_save(p, &m, &err) == 0, "a full manifest saved");
    Manifest r;
    bool missing = true;
    int rc = manifest_load(p, "db", ID, &r, &missing, &err);
    CHECK(rc == 0 && !missing, "and loaded");
    if (rc != 0 || missing)
        return;
    CHECK(!strcmp(r.id, ID) && !strcmp(r.node, "db") && !strcmp(r.type, "full") && !strcmp(r.label, "nightly") &&
              r.cluster_backup && !strcmp(r.cluster_backup, "cb-1"),
          "names read back");
    CHECK(r.pg_version_num == 150004 && r.system_identifier == 7300000000000000001ULL && r.data_checksums &&
              r.from_standby && r.timeline == 3,
          "the instance's identity read back");
    CHECK(r.start_lsn == 0x3000028 && r.stop_lsn == 0x3000138 && r.start_time == 1767225600 &&
              r.stop_time == 1767225660 && r.duration == 60.5,
          "LSNs and times read back");
    CHECK(r.wal_segment_size == 16777216 && r.compression == COMPRESS_ZSTD && r.compress_level == 3 &&
              r.size == 8195 && r.stored_size == 103,
          "sizes and compression read back");
    CHECK(r.nfiles == 2 && !strcmp(r.files[0].path, "base/1/1259") && r.files[0].size == 8192 &&
              r.files[0].mode == 0600 && r.files[1].stored_size == 3 && !strcmp(r.files[1].sha256, files[1].sha256),
          "files read back");
    CHECK(r.ndirs == 2 && !strcmp(r.dirs[1].path, "base/1") && r.dirs[1].mode == 0700, "directories read back");
    CHECK(r.npage_errors == 1 && r.page_errors[0].block == 7, "page errors read back");
    manifest_free(&r);
}

/* Rewrites the saved manifest with one member replaced by `value` (JSON
 * text, NULL: removed) in the object `where` names ("" the top, "files"
 * or "dirs" the first entry). */
static void
tamper(Pool *p, const char *where, const char *key, const char *value)
{
    Error err;
    char *path = pool_manifest_path("db", ID);
    json_object *o;
    bool missing;
    if (sealed_get(p->storage, path, &o, &missing, &err) != 0 || missing)
    {
        fprintf(stderr, "cannot read %s back\n", path);
        free(path);
        return;
    }
    json_object *target = *where ? json_object_array_get_idx(json_object_object_get(o, where), 0) : o;
    if (value)
        json_object_object_add(target, key, json_tokener_parse(value));
    else
        json_object_object_del(target, key);
    if (sealed_put(p->storage, path, o, &err) != 0)
        fprintf(stderr, "cannot write %s: %s\n", path, err.msg);
    json_object_put(o);
    free(path);
}

static void
test_refused(Pool *p)
{
    static const char *const cases[][4] = {
        /* where, key, value, the error must contain */
        {"", "format", "2", "unsupported manifest format"},
        {"", "timeline", "\"3\"", "field 'timeline' is a string, not an integer"},
        {"", "stop_lsn", NULL, "field 'stop_lsn' is missing"},
        {"", "start_lsn", "\"zz/1\"", "field 'start_lsn'"},
        {"", "compression", "\"brotli\"", "brotli"},
        {"", "wal_segment_size", "12345", "is not a power of two"},
        {"", "files", "{}", "field 'files'"},
        {"files", "sha256", "\"abc\"", "field 'sha256' is not a SHA-256"},
        {"files", "path", "\"../../etc/passwd\"", "file path ../../etc/passwd leaves the data directory"},
        {"files", "path", "\"/etc/passwd\"", "leaves the data directory"},
        {"dirs", "path", "\"base/../../../tmp\"", "directory path base/../../../tmp leaves the data directory"},
        {"dirs", "mode", "\"0700\"", "field 'mode'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        Manifest good;
        bool missing;
        Error err;
        /* start each case from the good manifest */
        if (manifest_load(p, "db", ID, &good, &missing, &err) != 0)
        {
            CHECK(false, "the good manifest loads before each case");
            return;
        }
        tamper(p, cases[i][0], cases[i][1], cases[i][2]);
        Manifest r;
        int rc = manifest_load(p, "db", ID, &r, &missing, &err);
        char name[256];
        snprintf(name, sizeof(name), "%s%s%s %s: refused, naming it (%s)", cases[i][0], *cases[i][0] ? "[0]." : "",
                 cases[i][1], cases[i][2] ? cases[i][2] : "removed", cases[i][3]);
        CHECK(rc != 0 && strstr(err.msg, cases[i][3]) && strstr(err.msg, "manifest"), name);
        if (rc == 0)
            manifest_free(&r);
        CHECK(manifest_save(p, &good, &err) == 0, "the good manifest put back");
        manifest_free(&good);
    }
}

int
main(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        UNIT_DONE();
    test_round_trip(p);
    test_refused(p);
    fixture_pool_remove(p, root);
    UNIT_DONE();
}
