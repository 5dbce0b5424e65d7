/* Backup leases (pool/lease.h): written at once, renewed, classified by
 * age, and a lease that expire took fails the owner's check instead of
 * being written again. Also the duration parser --interrupted-after uses. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "pool/lease.h"
#include "storage/storage.h"
#include "unit.h"

static void
rm_rf(const char *root)
{
    char *cmd = xprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    free(cmd);
}

int main(void)
{
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *root = mkdtemp(tmpl);
    Error err;
    Storage *s = storage_posix_new(root);
    const char *dir = "nodes/n1/backups/20260101-000000F";

    LeaseState st;
    char why[ERROR_MSG_MAX];
    int64_t now = (int64_t) time(NULL);
    CHECK((st = lease_state(s, dir, now, 60, why, sizeof(why))) == LEASE_MISSING,
          "no lease: the backup counts as interrupted");

    Lease *l;
    CHECK(lease_take(s, dir, "backup X of node n1", &l, &err) == 0, "take a lease");
    LeaseInfo li;
    bool missing = true;
    CHECK(lease_read(s, dir, &li, &missing, &err) == 0 && !missing, "the lease is in the pool at once");
    CHECK(li.pid == (long) getpid() && strlen(li.token) == 32 && li.started == li.renewed, "it names its owner");
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    CHECK(!strcmp(li.host, host), "and the owner's host");

    now = (int64_t) time(NULL);
    CHECK((st = lease_state(s, dir, now, 60, why, sizeof(why))) == LEASE_LIVE,
          "a fresh lease: in progress");
    CHECK(strstr(why, "in progress") != NULL, "described as in progress");
    CHECK((st = lease_state(s, dir, now + 61, 60, why, sizeof(why))) == LEASE_STALE,
          "the same lease 61 s later with a 60 s threshold: interrupted");
    CHECK(strstr(why, "interrupted") != NULL, "described as interrupted");
    CHECK(lease_check(l, &err) == 0, "the owner's check passes while the lease is its own");

    /* Renewal: after one period the lease is newer than when taken. */
    /* Polled rather than slept: on a loaded machine the thread may run
     * late, and removing the lease while it renews would race it. Right
     * after a renewal the next one is a whole period away. */
    LeaseInfo li2 = li;
    for (int i = 0; i < 40 * (LEASE_RENEW_SECONDS + 2) && li2.renewed == li.renewed; i++)
    {
        usleep(250 * 1000);
        if (lease_read(s, dir, &li2, &missing, &err) != 0 || missing)
            break;
    }
    CHECK(!missing && li2.renewed > li.renewed && li2.started == li.started && !strcmp(li2.token, li.token),
          "renewed by its thread (same owner, later time)");

    /* Expire takes the lease: the owner must not bring it back, and fails. */
    char *path = xprintf("%s/%s", dir, LEASE_NAME);
    CHECK(storage_remove(s, path, &err) == 0, "remove the lease as expire does");
    CHECK(lease_check(l, &err) != 0 && strstr(err.msg, "gone") != NULL, "the owner's check now fails, saying why");
    sleep(LEASE_RENEW_SECONDS + 2);
    bool exists = true;
    storage_exists(s, path, &exists, &err);
    CHECK(!exists, "the renewal thread did not write the taken lease again");
    lease_release(l, false);

    /* A lease that changed hands fails the old owner's check. */
    CHECK(lease_take(s, dir, "backup X of node n1", &l, &err) == 0, "take a new lease");
    Lease *other;
    CHECK(lease_take(s, dir, "backup X again", &other, &err) == 0, "another owner overwrites it");
    CHECK(lease_check(l, &err) != 0 && strstr(err.msg, "belongs to") != NULL, "the first owner's check fails");
    CHECK(lease_check(other, &err) == 0, "the second owner's passes");
    lease_release(l, false);
    lease_release(other, true);
    storage_exists(s, path, &exists, &err);
    CHECK(!exists, "a released lease with remove is gone");
    free(path);

    /* A lease that is not one: left alone, described, no error. */
    char *bad = xprintf("%s/%s", dir, LEASE_NAME);
    storage_put(s, bad, "{not json", 9, &err);
    CHECK((st = lease_state(s, dir, now, 60, why, sizeof(why))) == LEASE_UNREADABLE &&
              !lease_interrupted(st) && strstr(why, "left alone") != NULL,
          "an unparsable lease: state unknown, not judged interrupted");
    storage_remove(s, bad, &err);
    free(bad);

    long v;
    CHECK(parse_duration("90", 20, 86400, &v, &err) == 0 && v == 90, "duration: plain seconds");
    CHECK(parse_duration("90s", 20, 86400, &v, &err) == 0 && v == 90, "duration: s");
    CHECK(parse_duration("30min", 20, 86400, &v, &err) == 0 && v == 1800, "duration: min");
    CHECK(parse_duration("2h", 20, 86400, &v, &err) == 0 && v == 7200, "duration: h");
    CHECK(parse_duration("1d", 20, 86400, &v, &err) == 0 && v == 86400, "duration: d");
    CHECK(parse_duration("10s", 20, 86400, &v, &err) != 0 && strstr(err.msg, "out of range"), "duration: below min");
    CHECK(parse_duration("2d", 20, 86400, &v, &err) != 0, "duration: above max");
    CHECK(parse_duration("5 weeks", 20, 86400, &v, &err) != 0 && strstr(err.msg, "unknown unit"), "duration: bad unit");
    CHECK(parse_duration("-5", 0, 86400, &v, &err) != 0, "duration: negative");
    CHECK(parse_duration("abc", 0, 86400, &v, &err) != 0, "duration: not a number");

    storage_close(s);
    rm_rf(root);
    UNIT_DONE();
}
