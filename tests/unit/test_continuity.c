/* WAL continuity across timelines (archive/wal_continuity.h) over
 * synthetic listings: the failover of issue 9 (timeline 1 ends with
 * segment 06 and a .partial 07; timeline 2 holds 07-0A), each segment and
 * history file removed in turn; wal-get's hole-or-end answer; the history
 * parser; and strict WAL object names in a real POSIX pool (a stray
 * "X-<sha>.zst.bak" beside an object used to crash wal-get). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/wal_continuity.h"
#include "pool/pool.h"
#include "unit.h"

#define SEG 0x1000000ULL   /* 16 MiB */
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HIST2 "1\t0/70000A0\tno recovery target specified\n"

static const char *failover[] = {
    "000000010000000000000001", "000000010000000000000002", "000000010000000000000003",
    "000000010000000000000004", "000000010000000000000005", "000000010000000000000006",
    "000000010000000000000007.partial", "00000002.history", "000000020000000000000007",
    "000000020000000000000008", "000000020000000000000009", "00000002000000000000000A", NULL,
};

typedef struct Fixture
{
    WalList wl;
    TimelineHistory hist[4];
    size_t nhist;
    WalArchiveView v;
} Fixture;

/* The listing `names` without `skip` (NULL: all); histories parsed from texts[tli]. */
static void
fixture(Fixture *f, const char *const *names, const char *skip, const char *const texts[4])
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; names[i]; i++)
    {
        if (skip && !strcmp(names[i], skip))
            continue;
        f->wl.items = xrealloc(f->wl.items, (f->wl.count + 1) * sizeof(WalObject));
        WalObject *o = &f->wl.items[f->wl.count++];
        memset(o, 0, sizeof(*o));
        o->name = xstrdup(names[i]);
        o->key = xprintf("nodes/n/wal/x/%s-" SHA ".zst", names[i]);
        if (!wal_object_classify(names[i], SEG, o))
            abort();
        if (o->kind == WAL_HISTORY)
        {
            Error err;
            TimelineHistory *h = &f->hist[f->nhist++];
            if (timeline_history_parse(o->tli, texts[o->tli], strlen(texts[o->tli]), h, &err) != 0)
                abort();
        }
    }
    wal_list_sort(&f->wl);
    f->v = (WalArchiveView){.wl = &f->wl, .seg_size = SEG, .histories = f->hist, .nhistories = f->nhist};
}

static void
fixture_free(Fixture *f)
{
    wal_list_free(&f->wl);
    for (size_t i = 0; i < f->nhist; i++)
        timeline_history_free(&f->hist[i]);
}

/* Does some issue's description contain `needle`? */
static bool
names(const WalIssues *l, const char *needle)
{
    bool hit = false;
    for (size_t i = 0; i < l->count; i++)
    {
        char *d = wal_issue_describe(&l->items[i], SEG);
        hit = hit || strstr(d, needle);
        free(d);
    }
    return hit;
}

static const char *const texts2[4] = {"", "", HIST2, ""};

static void
test_failover_each_removed(void)
{
    Fixture f;
    WalIssues a = {0}, p = {0};
    WalPathEnd end;
    fixture(&f, failover, NULL, texts2);
    wal_archive_issues(&f.v, &a);
    wal_path_issues(&f.v, 1, 0x2000028, 0, &p, &end);
    CHECK(a.count == 0, "intact failover archive: no archive issue");
    CHECK(p.count == 0, "intact failover archive: a timeline-1 backup reaches the end");
    CHECK(end.any && end.tli == 2 && end.segno == 0x0A, "... and its restore ends at segment 0A of timeline 2");
    wal_issues_free(&a);
    wal_issues_free(&p);
    fixture_free(&f);

    /* Every file from the backup's start on, except the newest segment
     * (whose loss cannot be told from an archive that ends earlier). */
    for (size_t i = 1; failover[i + 1]; i++)
    {
        const char *gone = failover[i];
        fixture(&f, failover, gone, texts2);
        wal_path_issues(&f.v, 1, 0x2000028, 0, &p, NULL);
        wal_archive_issues(&f.v, &a);
        char label[160], want[40];
        snprintf(want, sizeof(want), "%.24s", gone);
        if (strstr(gone, ".history"))
            snprintf(want, sizeof(want), "%s", gone);
        snprintf(label, sizeof(label), "without %s: the restore path names it", gone);
        CHECK(names(&p, want) || (strstr(gone, ".partial") && p.count == 0), label);
        snprintf(label, sizeof(label), "without %s: the archive check names it", gone);
        CHECK(names(&a, want) || strstr(gone, ".partial") || !strcmp(gone, "000000020000000000000007"), label);
        char why[512] = "";
        if (!strstr(gone, ".partial"))
        {
            snprintf(label, sizeof(label), "without %s: wal-get calls it a hole, not the end", gone);
            CHECK(wal_missing_is_hole(&f.wl, gone, why, sizeof(why)), label);
        }
        wal_issues_free(&a);
        wal_issues_free(&p);
        fixture_free(&f);
    }
}

static void
test_wal_get_ends(void)
{
    Fixture f;
    char why[512];
    fixture(&f, failover, NULL, texts2);
    CHECK(!wal_missing_is_hole(&f.wl, "00000002000000000000000B", why, sizeof(why)), "after the newest: the end");
    CHECK(!wal_missing_is_hole(&f.wl, "00000001000000000000000B", why, sizeof(why)),
          "timeline 1 past its end, timeline 2 has nothing there: the end");
    CHECK(!wal_missing_is_hole(&f.wl, "00000003.history", why, sizeof(why)), "probing the next timeline: the end");
    CHECK(!wal_missing_is_hole(&f.wl, "000000010000000000000002.00000028.backup", why, sizeof(why)),
          "a backup label is never a hole");
    fixture_free(&f);

    /* Just after the failover: timeline 2's history, no segment of it yet. */
    static const char *fresh[] = {"000000010000000000000005", "000000010000000000000006",
                                  "000000010000000000000007.partial", "00000002.history", NULL};
    fixture(&f, fresh, NULL, texts2);
    CHECK(!wal_missing_is_hole(&f.wl, "000000020000000000000007", why, sizeof(why)),
          "fresh failover: timeline 2's first segment not archived yet is the end");
    CHECK(!wal_missing_is_hole(&f.wl, "000000010000000000000007", why, sizeof(why)),
          "fresh failover: timeline 1's .partial segment is the end");
    WalIssues p = {0};
    wal_path_issues(&f.v, 1, 0x5000028, 0, &p, NULL);
    CHECK(p.count == 0, "fresh failover: a restore ends at segment 06, no issue");
    wal_issues_free(&p);
    fixture_free(&f);

    /* The history file of timeline 2 lost before timeline 2 archived anything. */
    fixture(&f, fresh, "00000002.history", texts2);
    CHECK(wal_missing_is_hole(&f.wl, "000000010000000000000007", why, sizeof(why)) && strstr(why, ".partial"),
          "a .partial with no later timeline: a hole");
    WalIssues a = {0};
    wal_archive_issues(&f.v, &a);
    wal_path_issues(&f.v, 1, 0x5000028, 0, &p, NULL);
    CHECK(names(&a, "ends in the partial") && names(&p, "ends in the partial"),
          "verify and restore name the timeline ending in .partial");
    wal_issues_free(&a);
    wal_issues_free(&p);
    fixture_free(&f);
}

static void
test_targets_and_branches(void)
{
    Fixture f;
    WalIssues p = {0};
    fixture(&f, failover, "00000002000000000000000A", texts2);
    wal_path_issues(&f.v, 1, 0x2000028, 0x8000010, &p, NULL);
    CHECK(p.count == 0, "--lsn on timeline 2 within the archive: reachable");
    wal_issues_free(&p);
    wal_path_issues(&f.v, 1, 0x2000028, 0xC000000, &p, NULL);
    CHECK(names(&p, "past the end"), "--lsn past the archive's end: refused");
    wal_issues_free(&p);
    fixture_free(&f);

    fixture(&f, failover, "000000020000000000000009", texts2);
    wal_path_issues(&f.v, 1, 0x2000028, 0x4000000, &p, NULL);
    CHECK(p.count == 0, "--lsn before a later hole: reachable");
    wal_issues_free(&p);
    wal_path_issues(&f.v, 2, 0x8000028, 0, &p, NULL);
    CHECK(names(&p, "000000020000000000000009"), "a timeline-2 backup: the hole on its timeline");
    wal_issues_free(&p);
    fixture_free(&f);

    fixture(&f, failover, "00000002.history", texts2);
    wal_path_issues(&f.v, 2, 0x8000028, 0, &p, NULL);
    CHECK(names(&p, "00000002.history"), "a timeline-2 backup needs its own history file (wal-get asks for it)");
    wal_issues_free(&p);
    fixture_free(&f);

    /* Timeline 3 branched from timeline 1 at 0/5000000 (not from 2). */
    static const char *branch[] = {"000000010000000000000004", "000000010000000000000005",
                                   "00000002.history", "000000020000000000000007", "00000003.history",
                                   "000000030000000000000005", "000000030000000000000006", NULL};
    static const char *const texts3[4] = {"", "", HIST2, "1\t0/5000000\tbranch\n"};
    fixture(&f, branch, NULL, texts3);
    wal_path_issues(&f.v, 2, 0x7000100, 0, &p, NULL);
    CHECK(names(&p, "does not descend"), "the newest timeline is not a child of the backup's");
    wal_issues_free(&p);
    wal_path_issues(&f.v, 1, 0x5800000, 0, &p, NULL);
    CHECK(names(&p, "left timeline 1 at LSN 0/5000000"), "the newest timeline forked before the backup");
    wal_issues_free(&p);
    wal_path_issues(&f.v, 1, 0x4000028, 0, &p, NULL);
    CHECK(p.count == 0, "a backup before the fork follows timeline 3");
    wal_issues_free(&p);
    fixture_free(&f);
}

/* The old primary of a split brain archived on past its .partial. */
static void
test_split_brain(void)
{
    static const char *names_[] = {"000000010000000000000006", "000000010000000000000007.partial",
                                   "000000010000000000000008", "00000002.history", "000000020000000000000007",
                                   "000000020000000000000008", NULL};
    Fixture f;
    WalIssues a = {0}, p = {0};
    fixture(&f, names_, NULL, texts2);
    wal_archive_issues(&f.v, &a);
    wal_path_issues(&f.v, 1, 0x6000028, 0, &p, NULL);
    CHECK(a.count == 0 && p.count == 0, "split brain: a .partial between full segments is no gap");
    wal_issues_free(&a);
    wal_issues_free(&p);
    fixture_free(&f);
}

static void
test_history_parse(void)
{
    TimelineHistory h;
    Error err;
    const char *good = "# comment\n1\t0/3000000\tno recovery target specified\n\n2\t0/5000060\tat restore point \"x\"\n";
    CHECK(timeline_history_parse(3, good, strlen(good), &h, &err) == 0 && h.count == 2 && h.items[0].tli == 1 &&
              h.items[1].end == 0x5000060,
          "history: two ancestors parsed");
    timeline_history_free(&h);
    const char *bad[] = {"1\n", "x\t0/1\n", "1\t0/1\n1\t0/2\n", "2\t0/1\n1\t0/2\n", "3\t0/1\n", "1\t0/5\n2\t0/4\n",
                         "1\t123456789/0\n", "99999999999\t0/1\n", "", "1\t0/1\0\n"};
    size_t lens[] = {2, 6, 12, 12, 6, 12, 14, 16, 0, 7};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        char label[64];
        snprintf(label, sizeof(label), "history: malformed text %zu refused", i);
        CHECK(timeline_history_parse(3, bad[i], lens[i], &h, &err) != 0 && h.count == 0, label);
    }
    char *big = xcalloc(1, TIMELINE_HISTORY_MAX_BYTES + 2);
    memset(big, '#', TIMELINE_HISTORY_MAX_BYTES + 1);
    CHECK(timeline_history_parse(3, big, TIMELINE_HISTORY_MAX_BYTES + 1, &h, &err) != 0, "history: size bounded");
    free(big);
}

static void
touch(const char *root, const char *rel)
{
    char *path = xprintf("%s/%s", root, rel), *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    Error err;
    if (mkdir_p(dir, 0750, &err) != 0)
        abort();
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs("x", f);
    fclose(f);
    free(path);
    free(dir);
}

/* Strict names in a real POSIX pool: only exact objects are WAL objects,
 * everything else is listed as foreign; a stray copy beside an object
 * (which made archive_find free an uninitialised pointer) is skipped. */
static void
test_strict_names(void)
{
    char tmpl[] = "/tmp/strata-unit-XXXXXX";
    char *root = mkdtemp(tmpl);
    const char *seg = "nodes/n/wal/0000000100000000/000000010000000000000003-" SHA;
    char *good = xprintf("%s.zst", seg);
    touch(root, good);
    const char *junk[] = {"%s.zst.bak", "%s.gz", "%s", "%sA.zst", NULL};
    for (size_t i = 0; junk[i]; i++)
    {
        char *rel = xprintf(junk[i], seg);
        touch(root, rel);
        free(rel);
    }
    touch(root, "nodes/n/wal/0000000100000000/000000010000000000000003-" SHA "x.zst");
    touch(root, "nodes/n/wal/0000000100000000/0000000100000000000000ab-" SHA ".zst");
    touch(root, "nodes/n/wal/0000000100000001/000000010000000000000003-" SHA ".zst");   /* wrong directory */
    touch(root, "nodes/n/wal/history/000000010000000000000004-" SHA ".zst");            /* wrong directory */
    touch(root, "nodes/n/wal/0000000100000000/00000002.history-" SHA ".zst");           /* wrong directory */
    touch(root, "nodes/n/wal/junkdir/x");
    touch(root, "nodes/n/wal/0000000100000000/subdir/x");                                /* a directory */
    touch(root, "nodes/n/wal/stray.txt");
    Pool pool = {.storage = storage_posix_new(root), .location = root};
    WalList wl;
    Error err;
    CHECK(archive_list(&pool, "n", SEG, &wl, &err) == 0, "listing a WAL archive with stray files");
    CHECK(wl.count == 1 && !strcmp(wl.items[0].name, "000000010000000000000003") && wl.items[0].is_segment,
          "... exactly the one real object is a WAL object");
    CHECK(wl.nforeign == 12, "... every other name is listed as foreign");
    wal_list_free(&wl);
    WalObject o;
    bool found;
    CHECK(archive_find(&pool, "n", "000000010000000000000003", &o, &found, &err) == 0 && found &&
              !strcmp(o.key, good),
          "archive_find beside a stray X-<sha>.zst.bak finds the object (no crash)");
    if (found)
        wal_object_free(&o);
    storage_close(pool.storage);
    char *cmd = xprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    free(cmd);
    free(good);
}

int main(void)
{
    test_strict_names();
    test_failover_each_removed();
    test_wal_get_ends();
    test_targets_and_branches();
    test_history_parse();
    test_split_brain();
    UNIT_DONE();
}
