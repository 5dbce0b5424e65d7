/* Retention: which backups it keeps (expire/retention.c, the decision on
 * start times alone), and expire over a pool whose storage fails: a refused
 * removal is an error naming it, with the report of what was done before,
 * and a failed listing removes nothing. */
#include <string.h>

#include "expire/expire.h"
#include "expire/retention.h"
#include "fixture_pool.h"
#include "storage/faulty.h"
#include "unit.h"

#define DAY 86400

static const char *
kept_string(const bool *kept, size_t n)
{
    static char s[64];
    for (size_t i = 0; i < n; i++)
        s[i] = kept[i] ? 'K' : '-';
    s[n] = '\0';
    return s;
}

static void
test_retention(void)
{
    const int64_t now = 1800000000;
    /* started 10, 8, 6, 4, 2 days ago and 1 hour ago */
    int64_t started[] = {now - 10 * DAY, now - 8 * DAY, now - 6 * DAY, now - 4 * DAY, now - 2 * DAY, now - 3600};
    bool kept[6];
    retention_choose_kept(started, 6, 2, 0, now, kept);
    CHECK(!strcmp(kept_string(kept, 6), "----KK"), "--keep 2 keeps the newest two");
    retention_choose_kept(started, 6, 10, 0, now, kept);
    CHECK(!strcmp(kept_string(kept, 6), "KKKKKK"), "--keep beyond the count keeps all");
    retention_choose_kept(started, 6, 0, 5, now, kept);
    CHECK(!strcmp(kept_string(kept, 6), "--KKKK"),
          "--keep-days 5 keeps the last 5 days' backups and the newest one before (6 days ago)");
    retention_choose_kept(started, 6, 0, 4, now, kept);
    CHECK(!strcmp(kept_string(kept, 6), "--KKKK"),
          "a backup started exactly at the cutoff counts as within it (and the newest before it stays)");
    int64_t old[] = {now - 30 * DAY, now - 20 * DAY};
    retention_choose_kept(old, 2, 0, 1, now, kept);
    CHECK(!strcmp(kept_string(kept, 2), "-K"), "--keep-days with nothing recent keeps the newest backup");
    retention_choose_kept(started, 0, 1, 0, now, kept);
    CHECK(true, "no backups: nothing to decide (and no write out of bounds)");
}

/* Incremental chains: a kept backup keeps everything it builds on. */
static void
test_keep_parents(void)
{
    /* F0 <- I1 <- I2   F3 <- I4 <- I5   F6 (indexes; parent -1: a full) */
    const long parent[] = {-1, 0, 1, -1, 3, 4, -1};
    bool kept[7] = {false, false, false, false, false, true, true};
    size_t added = retention_keep_parents(parent, 7, kept);
    CHECK(!strcmp(kept_string(kept, 7), "---KKKK") && added == 2,
          "keeping I5 keeps I4 and F3 beneath it, and nothing of the older chain");
    bool kept2[7] = {false, false, true, false, false, false, true};
    retention_keep_parents(parent, 7, kept2);
    CHECK(!strcmp(kept_string(kept2, 7), "KKK---K"), "keeping I2 keeps its whole chain down to F0");
    bool kept3[7] = {false, true, false, false, false, false, true};
    retention_keep_parents(parent, 7, kept3);
    CHECK(!strcmp(kept_string(kept3, 7), "KK----K"), "a kept backup does not keep the incrementals built on it");
    const long diffs[] = {-1, 0, 0, 0};   /* F0 and three diffs on it */
    bool kept4[4] = {false, false, false, true};
    retention_keep_parents(diffs, 4, kept4);
    CHECK(!strcmp(kept_string(kept4, 4), "K--K"), "a kept diff keeps its full only");
    const long bogus[] = {-1, 5, 1};   /* parents not older: ignored, no loop */
    bool kept5[3] = {false, true, true};
    retention_keep_parents(bogus, 3, kept5);
    CHECK(!strcmp(kept_string(kept5, 3), "-KK"), "a parent index not below the backup's is ignored");
    /* Cluster backups C0..C4 of two sets: C1 incr on C0 (both sets); C2 a
     * full; C3: set 0 on C2, set 1 on C0; C4: set 0 on C3, set 1 a full. */
    const long sets[] = {-1, -1, 0, 0, -1, -1, 2, 0, 3, -1};
    bool kc[5] = {false, false, false, false, true};
    size_t more = retention_keep_parents_of_sets(sets, 2, 5, kc);
    CHECK(!strcmp(kept_string(kc, 5), "K-KKK") && more == 3,
          "a kept cluster backup keeps what every one of its sets builds on, transitively (C4 -> C3 -> C2 and C0)");
    bool kc2[5] = {false, true, false, false, false};
    retention_keep_parents_of_sets(sets, 2, 5, kc2);
    CHECK(!strcmp(kept_string(kc2, 5), "KK---"), "an incremental cluster backup keeps the one it is built on");
}

static int
backup_count(Pool *p, const char *node, size_t *complete)
{
    BackupList bl;
    Error err;
    if (backup_list_load(p, node, &bl, &err) != 0)
        return -1;
    *complete = 0;
    for (size_t i = 0; i < bl.count; i++)
        *complete += bl.items[i].complete;
    backup_list_free(&bl);
    return 0;
}

static void
test_expire_over_faults(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        return;
    Error err;
    const char *ids[] = {"20260101-000000F", "20260102-000000F", "20260103-000000F", "20260104-000000F"};
    int ok = 0;
    for (int i = 0; i < 4; i++)
        ok += fixture_backup(p, "db", ids[i], 1767225600 + i * DAY, &err) == 0;
    CHECK(ok == 4, "four backups of node db");
    ExpireOptions o = {.node = "db", .keep = 1};
    json_object *report;

    /* the third removal is refused: a backup is two (its manifest, then its
     * directory), so the second backup's manifest stays */
    Pool fp = {.storage = storage_faulty_new(storage_posix_new(root),
                                             &(FaultPlan){.op = FAULT_REMOVE, .nth = 3, .kind = FAULT_FAIL}),
               .location = root};
    int rc = expire_run_pool(&fp, &o, &report, &err);
    CHECK(rc != 0 && strstr(err.msg, "injected fault: remove") && strstr(err.msg, ids[1]),
          "a refused removal fails expire, naming the backup");
    json_object *removed = report ? json_object_object_get(report, "removed_backups") : NULL;
    CHECK(removed && json_object_array_length(removed) == 1, "the report lists the one backup removed before the failure");
    json_object_put(report);
    size_t complete = 0;
    CHECK(backup_count(p, "db", &complete) == 0 && complete == 3, "three complete backups remain");
    storage_close(fp.storage);

    /* a failed listing: nothing removed */
    fp.storage = storage_faulty_new(storage_posix_new(root), &(FaultPlan){.op = FAULT_LIST, .nth = 1, .every_after = true});
    rc = expire_run_pool(&fp, &o, &report, &err);
    CHECK(rc != 0 && strstr(err.msg, "injected fault: list"), "a failed listing fails expire, naming it");
    json_object_put(report);
    CHECK(backup_count(p, "db", &complete) == 0 && complete == 3, "nothing was removed on a failed listing");
    storage_close(fp.storage);

    /* no fault: down to the newest */
    rc = expire_run_pool(p, &o, &report, &err);
    CHECK(rc == 0, "expire without faults succeeds");
    json_object *kept = report ? json_object_object_get(report, "kept") : NULL;
    CHECK(kept && json_object_array_length(kept) == 1 &&
              !strcmp(json_object_get_string(json_object_array_get_idx(kept, 0)), ids[3]),
          "the newest backup is the one kept");
    json_object_put(report);
    CHECK(backup_count(p, "db", &complete) == 0 && complete == 1, "one complete backup remains");

    ExpireOptions bad = {.node = "db"};
    CHECK(expire_run_pool(p, &bad, &report, &err) != 0 && report == NULL && strstr(err.msg, "--keep"),
          "no retention given: an error naming the flags, nothing done");
    fixture_pool_remove(p, root);
}

int
main(void)
{
    test_retention();
    test_keep_parents();
    test_expire_over_faults();
    UNIT_DONE();
}
