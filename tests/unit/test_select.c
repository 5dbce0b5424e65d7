/* Backup selection (restore/select.c): the latest backup that can reach
 * the target, for every target kind, or a failure that says why. */
#include <string.h>

#include "restore/select.h"
#include "unit.h"


/* Three backups on timeline 1, consistent at 0/3000000, 0/5000000,
 * 0/7000000, at times 1000, 2000, 3000. */
static const SelectBackup backups[] = {
    {.id = "b1", .start_lsn = 0x2000000, .stop_lsn = 0x3000000, .timeline = 1, .stop_time = 1000},
    {.id = "b2", .start_lsn = 0x4000000, .stop_lsn = 0x5000000, .timeline = 1, .stop_time = 2000},
    {.id = "b3", .start_lsn = 0x6000000, .stop_lsn = 0x7000000, .timeline = 2, .stop_time = 3000},
};

static int
pick(const SelectTarget *t, size_t *chosen, Error *err)
{
    *chosen = 99;
    return select_backup("n1", backups, 3, t, chosen, err);
}

static SelectTarget
target(TargetKind kind, const char *text)
{
    SelectTarget t;
    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.text = text;
    return t;
}

int
main(void)
{
    Error err;
    size_t c;

    SelectTarget latest = target(TARGET_LATEST, NULL);
    CHECK(pick(&latest, &c, &err) == 0 && c == 2, "latest: the newest backup");
    SelectTarget imm = target(TARGET_IMMEDIATE, NULL);
    CHECK(pick(&imm, &c, &err) == 0 && c == 2, "immediate: the newest backup");

    SelectTarget lsn = target(TARGET_LSN, "0/6000000");
    lsn.lsn = 0x6000000;
    CHECK(pick(&lsn, &c, &err) == 0 && c == 1, "lsn between b2 and b3: b2");
    lsn.lsn = 0x5000000;
    CHECK(pick(&lsn, &c, &err) == 0 && c == 1, "lsn at b2's end, inclusive: b2");
    lsn.exclusive = true;
    CHECK(pick(&lsn, &c, &err) == 0 && c == 0, "lsn at b2's end, exclusive: b1");
    lsn.exclusive = false;
    lsn.lsn = 0x2800000;
    CHECK(pick(&lsn, &c, &err) != 0 && c == 99, "lsn before every backup's end fails");
    CHECK(strstr(err.msg, "b1") && strstr(err.msg, "0/3000000") && strstr(err.msg, "n1"),
          "the failure names the node, the earliest backup and where it becomes consistent");

    /* A restore point found by the CP records or in the WAL: selected by
     * its LSN, whatever the times say. */
    SelectTarget name = target(TARGET_NAME, "cp-1");
    Lsn one[1] = {0x4800000};
    name.points = one;
    name.npoints = 1;
    snprintf(name.resolved_by, sizeof(name.resolved_by), "consistency point cp-1 of cluster c");
    CHECK(pick(&name, &c, &err) == 0 && c == 0, "restore point before b2's end: b1, not the newest");
    one[0] = 0x9000000;
    CHECK(pick(&name, &c, &err) == 0 && c == 2, "restore point after the newest backup: the newest");
    one[0] = 0x1000000;
    CHECK(pick(&name, &c, &err) != 0, "restore point before every backup fails");
    CHECK(strstr(err.msg, "cp-1") && strstr(err.msg, "0/1000000") && strstr(err.msg, "consistency point cp-1"),
          "the failure names the restore point, its LSN and where it came from");

    /* A name used twice: from each backup, recovery stops at the first
     * one after the backup's start. */
    SelectTarget twice = target(TARGET_NAME, "daily");
    Lsn two[2] = {0x3800000, 0x5800000};
    twice.points = two;
    twice.npoints = 2;
    CHECK(pick(&twice, &c, &err) == 0 && c == 1, "name used twice: b2 reaches the second, b3 neither");
    CHECK(select_name_stop(&backups[1], &twice) == 0x5800000 && select_name_stop(&backups[0], &twice) == 0x3800000,
          "each backup stops at the first point after its start");
    CHECK(select_name_stop(&backups[2], &twice) == 0, "no point after b3's start");
    two[1] = 0x4800000;   /* within b2: b2 cannot be consistent there, b1 stops at the first */
    CHECK(pick(&twice, &c, &err) == 0 && c == 0, "second point inside b2: b1");

    /* A name nothing could place: the newest, as before (PostgreSQL
     * decides; the caller cleans up if it cannot). */
    SelectTarget unknown = target(TARGET_NAME, "rp-x");
    CHECK(pick(&unknown, &c, &err) == 0 && c == 2, "unplaced name: the newest backup");
    SelectTarget xid = target(TARGET_XID, "1234");
    CHECK(pick(&xid, &c, &err) == 0 && c == 2, "unresolved xid: the newest backup");
    Lsn commit[1] = {0x5800000};
    xid.points = commit;
    xid.npoints = 1;
    CHECK(pick(&xid, &c, &err) == 0 && c == 1, "xid placed in the WAL: selected by its commit's LSN");
    xid.exclusive = true;
    commit[0] = 0x5000000;
    CHECK(pick(&xid, &c, &err) == 0 && c == 0, "exclusive xid ending at b2's end: b1");
    xid.exclusive = false;
    CHECK(pick(&xid, &c, &err) == 0 && c == 1, "inclusive xid ending at b2's end: b2");

    SelectTarget tm = target(TARGET_TIME, "t");
    tm.time = 2500;
    CHECK(pick(&tm, &c, &err) == 0 && c == 1, "time between b2 and b3: b2");
    tm.time = 2000;
    CHECK(pick(&tm, &c, &err) == 0 && c == 1, "time at b2's end: b2");
    tm.time = 999;
    CHECK(pick(&tm, &c, &err) != 0 && strstr(err.msg, "b1"), "time before every backup fails naming b1");

    /* Timelines: a backup taken on a later timeline than the target's
     * cannot recover to it. */
    lsn.lsn = 0x9000000;
    lsn.timeline = 1;
    CHECK(pick(&lsn, &c, &err) == 0 && c == 1, "target on timeline 1: not b3 of timeline 2");
    lsn.timeline = 2;
    CHECK(pick(&lsn, &c, &err) == 0 && c == 2, "target on timeline 2: b3");

    char why[256];
    one[0] = 0x4800000;
    CHECK(!select_can_reach(&backups[1], &name, why, sizeof(why)) && strstr(why, "b2") && strstr(why, "0/5000000"),
          "select_can_reach says why a backup cannot reach (an explicit --backup)");
    CHECK(select_can_reach(&backups[0], &name, why, sizeof(why)), "b1 can reach the restore point");

    CHECK(select_backup("n2", backups, 0, &latest, &c, &err) != 0 && strstr(err.msg, "n2"),
          "no backups: fails naming the node");
    UNIT_DONE();
}
