/* restore over a pool whose storage fails or corrupts (restore_node_pool
 * over storage/faulty.c, no server started): a corrupted data object or
 * WAL segment fails the restore naming it and leaves the target directory
 * empty; a failed listing fails it before anything is written; without
 * faults the files come back as they were. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fixture_pool.h"
#include "pg/wal.h"
#include "restore/restore.h"
#include "storage/faulty.h"
#include "unit.h"

static const char ID[] = "20260101-000000F";
static const char DATA[] = "nodes/db/backups/20260101-000000F/data";
static const char FILE_DATA[] = "15\n";

/* The WAL segment the fixture backup needs (its start and stop LSN are in
 * segment 1 of timeline 1), archived by the real wal-push. */
static int
push_segment(const char *root, const char *dir)
{
    const size_t seg = 16 * 1024 * 1024;
    uint8_t *buf = xcalloc(seg, 1);
    uint16_t magic = 0xD110, info = 0x0002; /* XLP_LONG_HEADER: the first page of a segment */
    uint32_t tli = 1, seg_size = (uint32_t) seg;
    uint64_t sysid = 7300000000000000001ULL;
    memcpy(buf, &magic, 2);
    memcpy(buf + 2, &info, 2);
    memcpy(buf + 4, &tli, 4);
    memcpy(buf + 24, &sysid, 8);
    memcpy(buf + 32, &seg_size, 4);
    char *path = xprintf("%s/000000010000000000000001", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = fd >= 0 && write(fd, buf, seg) == (ssize_t) seg ? 0 : -1;
    if (fd >= 0)
        close(fd);
    free(buf);
    char *argv[] = {"wal-push", "--pool", (char *) root, "--node", "db", "--quiet", path, NULL};
    if (rc == 0)
        rc = cmd_wal_push(7, argv);
    unlink(path);
    free(path);
    return rc;
}

static int
restore_with(const char *root, const FaultPlan *plan, const char *target, Error *err)
{
    Pool fp = {.storage = storage_faulty_new(storage_posix_new(root), plan), .location = (char *) root};
    RestoreOptions o;
    restore_options_defaults(&o);
    o.co.node = "db";
    o.co.quiet = true;
    o.target_dir = target;
    o.target.kind = TARGET_LATEST;
    Manifest m;
    double secs;
    StartResult sr;
    int rc = restore_node_pool(&fp, &o, &m, &secs, &sr, err);
    if (rc == 0)
        manifest_free(&m);
    storage_close(fp.storage);
    return rc;
}

static bool
dir_empty_or_absent(const char *dir)
{
    bool empty = true;
    Error err;
    return dir_is_empty(dir, &empty, &err) == 0 && empty;
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
    CHECK(fixture_backup_file(p, "db", ID, 1767225600, "PG_VERSION", FILE_DATA, sizeof(FILE_DATA) - 1, &err) == 0,
          "a backup with one data file");
    char *work = xstrdup(root);
    *strrchr(work, '/') = '\0';
    CHECK(push_segment(root, work) == 0, "its WAL segment archived by wal-push");
    char *target = xprintf("%s/restored", work);

    int rc = restore_with(root, &(FaultPlan){.op = FAULT_READ, .nth = 1, .kind = FAULT_CORRUPT, .path_prefix = DATA},
                          target, &err);
    CHECK(rc != 0 && strstr(err.msg, "PG_VERSION") && strstr(err.msg, "corrupt"), "a corrupted data object fails the restore, naming it");
    CHECK(dir_empty_or_absent(target), "and the target directory is left empty");

    rc = restore_with(root, &(FaultPlan){.op = FAULT_READ, .nth = 1, .kind = FAULT_CORRUPT, .path_prefix = "nodes/db/wal/"},
                      target, &err);
    CHECK(rc != 0 && strstr(err.msg, "000000010000000000000001") && strstr(err.msg, "corrupt"), "a corrupted WAL segment fails the restore, naming it");
    CHECK(dir_empty_or_absent(target), "before anything is written");

    rc = restore_with(root, &(FaultPlan){.op = FAULT_LIST, .nth = 1, .every_after = true}, target, &err);
    CHECK(rc != 0 && strstr(err.msg, "injected fault: list"), "a failed listing fails the restore, naming the fault");
    CHECK(dir_empty_or_absent(target), "nothing written then either");

    rc = restore_with(root, &(FaultPlan){.nth = 0}, target, &err);
    if (rc != 0)
        printf("# %s\n", err.msg);
    CHECK(rc == 0, "without faults the restore succeeds");
    char *file = xprintf("%s/PG_VERSION", target);
    Buffer b = {0};
    CHECK(rc == 0 && read_small_file(file, &b, &err) == 0 && b.len == 3 && !memcmp(b.data, FILE_DATA, 3),
          "the data file comes back as it was");
    buffer_free(&b);
    free(file);

    char *cmd = xprintf("rm -rf '%s'", target);
    CHECK(system(cmd) == 0, "clean up the target");
    free(cmd);
    free(target);
    free(work);
    fixture_pool_remove(p, root);
    UNIT_DONE();
}
