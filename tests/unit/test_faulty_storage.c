/* The fault-injecting storage (storage/faulty.c) and the pool code over it:
 * the Nth read/write/commit/list/remove fails or is corrupted, the rest
 * passes through; a failed commit leaves nothing; the pool's callers report
 * the injected fault instead of carrying on. */
#include <string.h>

#include "fixture_pool.h"
#include "pool/manifest.h"
#include "storage/faulty.h"
#include "unit.h"

static Storage *
faulty_over(const char *root, FaultOp op, unsigned long nth, FaultKind kind, const char *prefix)
{
    FaultPlan plan = {.op = op, .nth = nth, .kind = kind, .path_prefix = prefix};
    return storage_faulty_new(storage_posix_new(root), &plan);
}

static bool
has(Storage *s, const char *path)
{
    bool e = false;
    Error err;
    return storage_exists(s, path, &e, &err) == 0 && e;
}

static void
test_writes(const char *root)
{
    Error err;
    Storage *s = faulty_over(root, FAULT_WRITE, 2, FAULT_FAIL, NULL);
    CHECK(storage_put(s, "w/one", "first", 5, &err) == 0, "write 1 passes through");
    CHECK(storage_put(s, "w/two", "second", 6, &err) != 0, "write 2 fails");
    CHECK(strstr(err.msg, "injected fault: write of w/two") != NULL, "the error names the operation and the key");
    CHECK(!has(s, "w/two"), "the object of the failed write does not appear");
    CHECK(storage_put(s, "w/three", "third", 5, &err) == 0, "write 3 passes through again");
    CHECK(storage_faulty_calls(s, FAULT_WRITE) == 3 && storage_faulty_injected(s) == 1, "three writes counted, one fault");
    storage_close(s);

    s = faulty_over(root, FAULT_WRITE, 1, FAULT_CORRUPT, NULL);
    CHECK(storage_put(s, "w/bent", "abc", 3, &err) == 0, "a corrupted write succeeds");
    storage_close(s);
    Storage *plain = storage_posix_new(root);
    Buffer b = {0};
    bool missing;
    CHECK(storage_get(plain, "w/bent", &b, &missing, &err) == 0 && b.len == 3 &&
              (unsigned char) b.data[0] == ((unsigned char) 'a' ^ 0xff) && !memcmp(b.data + 1, "bc", 2),
          "a corrupted write stores the bytes with the first one inverted");
    buffer_free(&b);
    storage_close(plain);
}

static void
test_commit_read_list(const char *root)
{
    Error err;
    Storage *s = faulty_over(root, FAULT_COMMIT, 1, FAULT_FAIL, "c/");
    CHECK(storage_put(s, "other", "x", 1, &err) == 0, "a commit outside the prefix is not counted");
    CHECK(storage_put(s, "c/obj", "x", 1, &err) != 0 && strstr(err.msg, "commit of c/obj"), "the first commit under c/ fails");
    CHECK(!has(s, "c/obj"), "a failed commit leaves no object");
    CHECK(storage_faulty_calls(s, FAULT_COMMIT) == 1, "only the commit under the prefix is counted");
    storage_close(s);

    s = faulty_over(root, FAULT_READ, 1, FAULT_FAIL, NULL);
    Buffer b = {0};
    bool missing;
    CHECK(storage_get(s, "w/one", &b, &missing, &err) != 0 && strstr(err.msg, "read of w/one"), "the first read fails");
    buffer_free(&b);
    b = (Buffer){0};
    CHECK(storage_get(s, "w/one", &b, &missing, &err) == 0 && b.len == 5 && !memcmp(b.data, "first", 5),
          "the second read passes through");
    buffer_free(&b);
    storage_close(s);

    s = faulty_over(root, FAULT_READ, 1, FAULT_CORRUPT, NULL);
    b = (Buffer){0};
    CHECK(storage_get(s, "w/one", &b, &missing, &err) == 0 && b.len == 5 && b.data[0] != 'f' &&
              !memcmp(b.data + 1, "irst", 4),
          "a corrupted read returns the bytes with the first one inverted");
    buffer_free(&b);
    storage_close(s);

    s = faulty_over(root, FAULT_LIST, 1, FAULT_CORRUPT, NULL);
    StorageList l;
    CHECK(storage_list(s, "w", &l, &err) == 0 && l.count == 2 && !strcmp(l.entries[0].name, "one"),
          "a corrupted listing lacks its first entry");
    storage_list_free(&l);
    CHECK(storage_list(s, "w", &l, &err) == 0 && l.count == 3, "the next listing is whole");
    storage_list_free(&l);
    storage_close(s);

    s = faulty_over(root, FAULT_REMOVE, 1, FAULT_FAIL, NULL);
    CHECK(storage_remove(s, "w/one", &err) != 0 && has(s, "w/one"), "a failed removal removes nothing");
    CHECK(storage_remove(s, "w/one", &err) == 0 && !has(s, "w/one"), "the next removal passes through");
    storage_close(s);
}

/* The pool's readers over faults: a manifest whose commit failed is not
 * there; a corrupted manifest is refused by its seal; a failed listing is an
 * error naming the fault, not an empty node. */
static void
test_pool_over_faults(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        return;
    Error err;
    CHECK(fixture_backup(p, "db", "20260101-000000F", 1767225600, &err) == 0, "a backup's manifest");

    Pool fp = {.storage = faulty_over(root, FAULT_COMMIT, 1, FAULT_FAIL, "nodes/db/backups/"), .location = root};
    CHECK(fixture_backup(&fp, "db", "20260102-000000F", 1767312000, &err) != 0 && strstr(err.msg, "injected fault"),
          "manifest_save reports a failed commit");
    Manifest m;
    bool missing = false;
    CHECK(manifest_load(p, "db", "20260102-000000F", &m, &missing, &err) == 0 && missing,
          "the backup whose manifest commit failed has no manifest");
    storage_close(fp.storage);

    fp.storage = faulty_over(root, FAULT_READ, 1, FAULT_CORRUPT, NULL);
    int rc = manifest_load(&fp, "db", "20260101-000000F", &m, &missing, &err);
    CHECK(rc != 0, "a manifest read corrupted is refused");
    if (rc == 0 && !missing)
        manifest_free(&m);
    storage_close(fp.storage);

    fp.storage = faulty_over(root, FAULT_LIST, 1, FAULT_FAIL, NULL);
    BackupList bl;
    CHECK(backup_list_load(&fp, "db", &bl, &err) != 0 && strstr(err.msg, "injected fault: list"),
          "a failed listing is an error, not an empty node");
    storage_close(fp.storage);

    CHECK(backup_list_load(p, "db", &bl, &err) == 0 && bl.count == 2 && bl.items[0].complete,
          "the pool itself is intact: the first backup complete");
    CHECK(bl.count == 2 && !bl.items[1].complete && bl.items[1].no_manifest,
          "the backup whose manifest commit failed lists as one without a manifest");
    backup_list_free(&bl);
    fixture_pool_remove(p, root);
}

int
main(void)
{
    char tmpl[] = "/tmp/strata-unit-faulty-XXXXXX";
    char *root = mkdtemp(tmpl);
    CHECK(root != NULL, "temporary directory");
    if (!root)
        UNIT_DONE();
    test_writes(root);
    test_commit_read_list(root);
    test_pool_over_faults();
    char *cmd = xprintf("rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "clean up");
    free(cmd);
    UNIT_DONE();
}
