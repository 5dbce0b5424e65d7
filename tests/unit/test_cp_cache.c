/* The manager's CP cache (consistency/cp_cache.c): the same answer as
 * cp_list_pool, each CP object read once however often it is asked, new
 * CPs read, removed ones dropped, a failing pool an error and not a stale
 * answer. Over a real directory pool behind the fault-injecting storage,
 * which counts the reads. */
#include <string.h>

#include "consistency/cp_cache.h"
#include "fixture_pool.h"
#include "storage/faulty.h"
#include "unit.h"

static int
save_cp(Pool *p, const char *name, double t)
{
    ConsistencyPoint cp;
    memset(&cp, 0, sizeof(cp));
    snprintf(cp.name, sizeof(cp.name), "%s", name);
    snprintf(cp.cluster, sizeof(cp.cluster), "c1");
    snprintf(cp.time_text, sizeof(cp.time_text), "t=%.3f", t);
    cp.time = t;
    CpMember members[] = {{.set = "meta", .conninfo = "", .lsn = 0x3000060},
                          {.set = "shard1", .conninfo = "", .lsn = 0x2000028}};
    cp.members = members;
    cp.nmembers = 2;
    Error err;
    return cp_save_pool(p, &cp, &err);
}

static bool
names_are(const ConsistencyPoint *cps, size_t n, const char *const *want, size_t nwant)
{
    if (n != nwant)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(cps[i].name, want[i]) != 0)
            return false;
    return true;
}

int
main(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        UNIT_DONE();
    CHECK(save_cp(p, "cp-b", 2000) == 0 && save_cp(p, "cp-a", 1000) == 0 && save_cp(p, "cp-c", 3000) == 0,
          "three CPs saved, out of time order");

    Pool fp = {.storage = storage_faulty_new(storage_posix_new(root), &(FaultPlan){.op = FAULT_READ, .nth = 0}),
               .location = root};
    CpCache cache;
    cp_cache_init(&cache);
    Error err;
    ConsistencyPoint *cps, *ref;
    size_t n, nref;
    int rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    CHECK(cp_list_pool(p, "c1", &ref, &nref, &err) == 0, "cp_list_pool lists them");
    static const char *const abc[] = {"cp-a", "cp-b", "cp-c"};
    CHECK(rc == 0 && names_are(cps, n, abc, 3) && names_are(ref, nref, abc, 3), "the cache lists them as cp_list_pool does, oldest first");
    CHECK(rc == 0 && n == 3 && cps[2].time == 3000 && cp_member_lsn(&cps[2], "shard1") == 0x2000028,
          "with their time and LSNs");
    CHECK(cache.reads == 3, "the first call reads every CP object");
    cp_list_free(cps, n);
    cp_list_free(ref, nref);

    unsigned long reads_before = storage_faulty_calls(fp.storage, FAULT_READ);
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    CHECK(rc == 0 && names_are(cps, n, abc, 3), "the second call gives the same answer");
    CHECK(cache.reads == 3 && storage_faulty_calls(fp.storage, FAULT_READ) == reads_before,
          "the second call reads no CP object from the pool (one listing)");
    cp_list_free(cps, n);

    CHECK(save_cp(p, "cp-d", 4000) == 0, "a fourth CP saved");
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    static const char *const abcd[] = {"cp-a", "cp-b", "cp-c", "cp-d"};
    CHECK(rc == 0 && names_are(cps, n, abcd, 4) && cache.reads == 4, "a new CP is listed, and only it is read");
    cp_list_free(cps, n);

    char *gone = xprintf("%s/clusters/c1/cps/cp-b.json", root);
    CHECK(remove(gone) == 0, "CP cp-b removed from the pool (as expire does)");
    free(gone);
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    static const char *const acd[] = {"cp-a", "cp-c", "cp-d"};
    CHECK(rc == 0 && names_are(cps, n, acd, 3) && cache.reads == 4, "a removed CP is no longer listed");
    cp_list_free(cps, n);

    rc = cp_cache_list(&cache, &fp, "c2", &cps, &n, &err);
    CHECK(rc == 0 && n == 0, "another cluster without CPs: none");
    storage_close(fp.storage);

    /* a failing listing: an error, not the cached answer */
    fp.storage = storage_faulty_new(storage_posix_new(root), &(FaultPlan){.op = FAULT_LIST, .nth = 1});
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    CHECK(rc != 0 && strstr(err.msg, "injected fault: list") && n == 0 && cps == NULL,
          "a failed listing is an error naming it");
    storage_close(fp.storage);

    /* a new CP whose read fails: an error; the cache still answers after */
    CHECK(save_cp(p, "cp-e", 5000) == 0, "a fifth CP saved");
    fp.storage = storage_faulty_new(storage_posix_new(root),
                                    &(FaultPlan){.op = FAULT_READ, .nth = 1, .path_prefix = "clusters/c1/cps/cp-e"});
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    CHECK(rc != 0 && strstr(err.msg, "cp-e"), "a failed read of a new CP is an error naming it");
    rc = cp_cache_list(&cache, &fp, "c1", &cps, &n, &err);
    static const char *const acde[] = {"cp-a", "cp-c", "cp-d", "cp-e"};
    CHECK(rc == 0 && names_are(cps, n, acde, 4), "the next call reads it");
    cp_list_free(cps, n);
    storage_close(fp.storage);

    cp_cache_free(&cache);
    pool_close(p);
    free(root);
    UNIT_DONE();
}
