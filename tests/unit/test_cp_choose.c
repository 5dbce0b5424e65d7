/* Which consistency point a restore target maps to (DESIGN §3;
 * consistency/cp_choose.c), and the CP records it chooses from as read
 * back from the pool (cp_store.c): round trip, order, refused records. */
#include <string.h>

#include "consistency/cp_choose.h"
#include "consistency/cp_store.h"
#include "fixture_pool.h"
#include "pool/sealed.h"
#include "unit.h"

static ConsistencyPoint
cp_at(const char *name, double t)
{
    ConsistencyPoint cp;
    memset(&cp, 0, sizeof(cp));
    snprintf(cp.name, sizeof(cp.name), "%s", name);
    snprintf(cp.cluster, sizeof(cp.cluster), "c1");
    snprintf(cp.time_text, sizeof(cp.time_text), "t=%.3f", t);
    cp.time = t;
    return cp;
}

static const char *
name_of(const ConsistencyPoint *cp)
{
    return cp ? cp->name : "(none)";
}

static void
test_choice(void)
{
    ConsistencyPoint cps[] = {cp_at("a", 100), cp_at("b", 200), cp_at("c", 300)};
    CHECK(!strcmp(name_of(cp_at_or_before(cps, 3, 250)), "b"), "time between two CPs: the earlier one");
    CHECK(!strcmp(name_of(cp_at_or_before(cps, 3, 200)), "b"), "time exactly at a CP: that CP");
    CHECK(!strcmp(name_of(cp_at_or_before(cps, 3, 1e12)), "c"), "time after the last CP: the last");
    CHECK(cp_at_or_before(cps, 3, 99.999) == NULL, "time before the first CP: none (outside the window)");
    CHECK(!strcmp(name_of(cp_first_after(cps, 3, 150)), "b"), "gtxid decided between two CPs: the later one");
    CHECK(!strcmp(name_of(cp_first_after(cps, 3, 200)), "c"), "gtxid decided at a CP's time: the next one");
    CHECK(!strcmp(name_of(cp_first_after(cps, 3, 10)), "a"), "gtxid decided before every CP: the first");
    CHECK(cp_first_after(cps, 3, 300) == NULL, "gtxid decided after the last CP: none yet");
    CHECK(!strcmp(name_of(cp_named(cps, 3, "b")), "b") && cp_named(cps, 3, "bb") == NULL, "by name, exactly");
    CHECK(!strcmp(name_of(cp_latest(cps, 3)), "c") && cp_latest(cps, 0) == NULL, "the latest; none of none");
    CHECK(cp_at_or_before(cps, 0, 500) == NULL && cp_first_after(cps, 0, 0) == NULL, "no CPs: nothing chosen");
}

static void
put_record(Pool *p, const char *name, const char *json)
{
    Error err;
    json_object *o = json_tokener_parse(json);
    char *path = xprintf("clusters/c1/cps/%s.json", name);
    if (!o || sealed_put(p->storage, path, o, &err) != 0)
        fprintf(stderr, "could not write %s\n", path);
    json_object_put(o);
    free(path);
}

static void
test_pool_records(void)
{
    char *root;
    Pool *p = fixture_pool_new(&root);
    CHECK(p != NULL, "fixture pool");
    if (!p)
        return;
    Error err;
    /* saved out of time order: listed by time */
    ConsistencyPoint late = cp_at("cp-late", 2000.5), early = cp_at("cp-early", 1000.25);
    CpMember members[] = {{.set = "meta", .conninfo = "", .lsn = 0x3000060}, {.set = "shard1", .conninfo = "", .lsn = 0x2000028}};
    late.members = early.members = members;
    late.nmembers = early.nmembers = 2;
    CHECK(cp_save_pool(p, &late, &err) == 0 && cp_save_pool(p, &early, &err) == 0, "two CPs saved");
    ConsistencyPoint *cps;
    size_t n;
    int rc = cp_list_pool(p, "c1", &cps, &n, &err);
    CHECK(rc == 0 && n == 2 && !strcmp(cps[0].name, "cp-early") && !strcmp(cps[1].name, "cp-late"),
          "listed oldest first");
    CHECK(rc == 0 && n == 2 && cps[1].time == 2000.5 && cp_member_lsn(&cps[1], "shard1") == 0x2000028 &&
              cp_member_lsn(&cps[1], "meta") == 0x3000060 && cp_member_lsn(&cps[1], "shard9") == 0,
          "time and member LSNs read back");
    if (rc == 0)
        cp_list_free(cps, n);

    const char *bad[][3] = {
        {"long", "{\"name\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"cluster\": \"c1\", "
                 "\"time\": \"t\", \"epoch\": 5, \"lsns\": {}}", "field 'name' is longer than 63 characters"},
        {"epoch", "{\"name\": \"e\", \"cluster\": \"c1\", \"time\": \"t\", \"epoch\": \"soon\", \"lsns\": {}}",
         "field 'epoch' is missing or not a number"},
        {"lsn", "{\"name\": \"l\", \"cluster\": \"c1\", \"time\": \"t\", \"epoch\": 5, \"lsns\": {\"meta\": 7}}",
         "field 'meta' is an integer, not a string"},
        {"badlsn", "{\"name\": \"l\", \"cluster\": \"c1\", \"time\": \"t\", \"epoch\": 5, \"lsns\": {\"meta\": \"zz\"}}",
         "badlsn.json"},
        {"shape", "[1, 2]", "not a consistency point record"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        put_record(p, bad[i][0], bad[i][1]);
        rc = cp_list_pool(p, "c1", &cps, &n, &err);
        char name[160];
        snprintf(name, sizeof(name), "a CP record with a bad %s is refused, naming it", bad[i][0]);
        CHECK(rc != 0 && strstr(err.msg, bad[i][2]) && strstr(err.msg, "clusters/c1/cps/"), name);
        if (rc == 0)
            cp_list_free(cps, n);
        char *path = xprintf("clusters/c1/cps/%s.json", bad[i][0]);
        storage_remove(p->storage, path, &err);
        free(path);
    }
    fixture_pool_remove(p, root);
}

int
main(void)
{
    test_choice();
    test_pool_records();
    UNIT_DONE();
}
