/* verify over a pool whose storage fails or corrupts (info/verify.c's
 * verify_pool over storage/faulty.c): a corrupted read is a checksum
 * problem naming the object, a failed read a problem naming the fault, a
 * failed listing an error; an intact pool has no problem. */
#include <string.h>

#include "fixture_pool.h"
#include "info/verify.h"
#include "storage/faulty.h"
#include "unit.h"

static const char ID[] = "20260101-000000F";
/* where the backup's data objects are */
static const char DATA[] = "nodes/db/backups/20260101-000000F/data";

static int
verify_with(const char *root, const FaultPlan *plan, VerifyResult *vr, Error *err)
{
    Pool fp = {.storage = storage_faulty_new(storage_posix_new(root), plan), .location = (char *) root};
    int rc = verify_pool(&fp, "db", ID, 2, vr, err);
    storage_close(fp.storage);
    return rc;
}

int
main(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        UNIT_DONE();
    Error err;
    static const char data[] = "PG_VERSION 15\n";
    CHECK(fixture_backup_file(p, "db", ID, 1767225600, "PG_VERSION", data, sizeof(data) - 1, &err) == 0,
          "a backup with one data file");
    VerifyResult vr;

    int rc = verify_with(root, &(FaultPlan){.nth = 0}, &vr, &err);
    CHECK(rc == 0 && vr.objects == 1 && vr.nproblems == 0, "no fault: one object checked, no problem");
    if (rc == 0)
        verify_result_free(&vr);

    rc = verify_with(root, &(FaultPlan){.op = FAULT_READ, .nth = 1, .kind = FAULT_CORRUPT, .path_prefix = DATA}, &vr,
                     &err);
    CHECK(rc == 0 && vr.nproblems == 1 && strstr(vr.problems[0], "checksum mismatch") &&
              strstr(vr.problems[0], "PG_VERSION"),
          "a corrupted data object: a checksum problem naming it");
    if (rc == 0)
        verify_result_free(&vr);

    rc = verify_with(root, &(FaultPlan){.op = FAULT_READ, .nth = 1, .kind = FAULT_FAIL, .path_prefix = DATA}, &vr, &err);
    CHECK(rc == 0 && vr.nproblems == 1 && strstr(vr.problems[0], "injected fault: read"),
          "a data object that cannot be read: a problem naming the fault");
    if (rc == 0)
        verify_result_free(&vr);

    rc = verify_with(root, &(FaultPlan){.op = FAULT_LIST, .nth = 1, .every_after = true}, &vr, &err);
    CHECK(rc != 0 && strstr(err.msg, "injected fault: list"), "a pool that cannot be listed: an error, not a clean bill");

    rc = verify_pool(p, "db", ID, 2, &vr, &err);
    CHECK(rc == 0 && vr.nproblems == 0, "the pool itself was never changed");
    if (rc == 0)
        verify_result_free(&vr);
    fixture_pool_remove(p, root);
    UNIT_DONE();
}
