/* The window rule of an exact cluster cut (restore/exact_window.c) over
 * synthetic WAL-index records: the edges, where the cut is placed, GIDs
 * named through the PREPARE (wal_level replica), empty windows reported
 * naming the shard and the two records, and the skew estimate. */
#include <string.h>

#include "restore/exact_window.h"
#include "unit.h"

#define T0 INT64_C(1800000000000000)   /* the target, Unix microseconds */

static WalXact
rec(uint8_t kind, Lsn lsn, uint32_t xid, const char *gid, int64_t time_us)
{
    WalXact x;
    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.lsn = lsn;
    x.end = lsn + 0x40;
    x.xid = xid;
    x.time_us = time_us;
    if (gid)
        snprintf(x.gid, sizeof(x.gid), "%s", gid);
    return x;
}

static ExactDecision decisions[] = {{"g1", T0 - 3000000}, {"g3", T0 - 1000000}, {"g0", T0 - 9000000}};

static ExactWindowInput
input(const WalXact *xs, size_t n, ExactDecided *d)
{
    d->items = decisions;
    d->n = sizeof(decisions) / sizeof(decisions[0]);
    exact_decisions_sort(d);
    return (ExactWindowInput){.shard = "shard7", .xacts = xs, .nxacts = n, .decided = d, .floor = 0x100,
                              .ceiling = 0x9000, .target_us = T0};
}

static void
test_edges_and_time(void)
{
    /* g1 decided: prepared at 0x1000 (ends 0x1040); g2 undecided: its
     * COMMIT PREPARED at 0x5000 must not be replayed; local commits cross
     * T at 0x3000. GIDs only on the PREPAREs (wal_level replica). */
    WalXact xs[] = {
        rec(WAL_XACT_PREPARE, 0x1000, 11, "g1", T0 - 3500000),
        rec(WAL_XACT_PREPARE, 0x1800, 12, "g2", T0 - 500000),
        rec(WAL_XACT_COMMIT, 0x2000, 13, NULL, T0 - 100),
        rec(WAL_XACT_COMMIT_PREPARED, 0x2800, 11, NULL, T0 - 2000000),
        rec(WAL_XACT_COMMIT, 0x3000, 14, NULL, T0 + 100),
        rec(WAL_XACT_COMMIT_PREPARED, 0x5000, 12, NULL, T0 + 2000000),
        rec(WAL_XACT_COMMIT, 0x6000, 15, NULL, T0 + 3000000),
    };
    ExactDecided d;
    ExactWindowInput in = input(xs, 7, &d);
    ExactCut c;
    Error err;
    uint32_t unknown;
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0, "a window");
    CHECK(c.lo.lsn == 0x1040 && c.lo.rec.lsn == 0x1000, "low edge: after the decided g1's PREPARE");
    CHECK(c.hi.lsn == 0x5000 && !strcmp(c.hi.rec.gid, "g2") && c.hi.rec.xid == 12,
          "high edge: at the undecided g2's COMMIT PREPARED (named through its PREPARE)");
    CHECK(c.crossing == 0x3000 && c.lsn == 0x3000 && c.how == EXACT_AT_TIME,
          "the cut: where the shard's commit timestamps cross T, inside the window");
    /* skew from g1: PREPARE at -3.5 s, decision at -3 s, COMMIT PREPARED at -2 s */
    CHECK(c.skew_samples == 1 && c.skew_lo_s == -0.5 && c.skew_hi_s == 1.0 && c.skew_s == 0.25,
          "skew: bounded by PREPARE < decision < COMMIT PREPARED");

    /* a shard clock far behind: its commits cross T only after the window */
    in.target_us = T0 - 10000000;   /* every commit is after: crossing at the first */
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && c.crossing == 0x2000 && c.lsn == 0x2000 &&
              c.how == EXACT_AT_TIME, "crossing at the first commit");
    in.target_us = T0 + 2500000;    /* crossing at 0x6000, past the window */
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && c.crossing == 0x6000 && c.lsn == 0x5000 &&
              c.how == EXACT_AT_HIGH_EDGE, "crossing above the window: its high edge");
    in.target_us = T0 + 9000000;    /* no commit after T: the high edge */
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && c.crossing == 0 && c.lsn == 0x5000 &&
              c.how == EXACT_AT_HIGH_EDGE, "no crossing: the high edge");
    in.target_us = T0 - 4000000;    /* crossing at the first record, 0x2000... */
    in.floor = 0x2400;              /* ...but the backup ends after it: its end is the low edge */
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && c.lsn == 0x2400 && c.how == EXACT_AT_LOW_EDGE &&
              c.lo.rec.kind == 0, "crossing below the window: its low edge (the backup's end)");
}

static void
test_low_edge_by_prepare(void)
{
    /* the decided g3 prepared late (0x4000); a local commit after T came before */
    WalXact xs[] = {
        rec(WAL_XACT_COMMIT, 0x2000, 20, NULL, T0 + 1),
        rec(WAL_XACT_PREPARE, 0x4000, 21, "g3", T0 - 1500000),
        rec(WAL_XACT_COMMIT_PREPARED, 0x7000, 21, "g3", T0 + 100),
    };
    ExactDecided d;
    ExactWindowInput in = input(xs, 3, &d);
    ExactCut c;
    Error err;
    CHECK(exact_window_cut(&in, &c, NULL, &err) == 0 && c.lsn == 0x4040 && c.how == EXACT_AT_LOW_EDGE &&
              c.hi.lsn == 0x9000 && c.hi.rec.kind == 0,
          "crossing before the decided PREPARE: cut just after the PREPARE; no undecided commit: up to the ceiling");
}

static void
test_aborts(void)
{
    /* an undecided transaction rolled back (no decision means abort) before
     * a decided one prepared: no bound */
    WalXact xs[] = {
        rec(WAL_XACT_PREPARE, 0x1000, 30, "gx", T0 - 5000000),
        rec(WAL_XACT_ABORT_PREPARED, 0x1800, 30, NULL, T0 - 4000000),
        rec(WAL_XACT_PREPARE, 0x2000, 31, "g1", T0 - 3500000),
    };
    ExactDecided d;
    ExactWindowInput in = input(xs, 3, &d);
    ExactCut c;
    Error err;
    CHECK(exact_window_cut(&in, &c, NULL, &err) == 0 && c.lo.lsn == 0x2040 && c.hi.lsn == 0x9000,
          "ABORT PREPARED of an undecided transaction bounds nothing");
    /* a decided transaction aborted: the contract broken; empty if before its PREPARE... */
    WalXact ys[] = {
        rec(WAL_XACT_PREPARE, 0x1000, 30, "g0", T0 - 9500000),
        rec(WAL_XACT_ABORT_PREPARED, 0x1800, 30, NULL, T0 - 4000000),
        rec(WAL_XACT_PREPARE, 0x2000, 31, "g1", T0 - 3500000),
    };
    in = input(ys, 3, &d);
    CHECK(exact_window_cut(&in, &c, NULL, &err) == -1 && strstr(err.msg, "shard shard7") &&
              strstr(err.msg, "ABORT PREPARED of 'g0' (xid 30) at 0/1800") && strstr(err.msg, "PREPARE of 'g1' (xid 31) at 0/2000"),
          "ABORT PREPARED of a decided transaction bounds the window: empty here, both records named");
}

static void
test_empty_window(void)
{
    /* the undecided g2 committed (against the contract) before the decided g1 prepared */
    WalXact xs[] = {
        rec(WAL_XACT_PREPARE, 0x1000, 12, "g2", T0 - 6000000),
        rec(WAL_XACT_COMMIT_PREPARED, 0x1800, 12, NULL, T0 - 5000000),
        rec(WAL_XACT_PREPARE, 0x2000, 11, "g1", T0 - 3500000),
    };
    ExactDecided d;
    ExactWindowInput in = input(xs, 3, &d);
    ExactCut c;
    Error err;
    int rc = exact_window_cut(&in, &c, NULL, &err);
    CHECK(rc == -1, "empty window: an error");
    CHECK(strstr(err.msg, "shard shard7") && strstr(err.msg, "PREPARE of 'g1' (xid 11) at 0/2000") &&
              strstr(err.msg, "COMMIT PREPARED of 'g2' (xid 12) at 0/1800") && strstr(err.msg, "2PC contract"),
          "empty window: names the shard and the two records");
    printf("# %s\n", err.msg);
    in.floor = 0x9100;
    CHECK(exact_window_cut(&in, &c, NULL, &err) == -1 && strstr(err.msg, "shard7") &&
              strstr(err.msg, "past the end of the indexed WAL"), "a floor past the ceiling: an error");
}

static void
test_unknown_prepare(void)
{
    /* COMMIT PREPARED of an xid prepared before the records read */
    WalXact xs[] = {
        rec(WAL_XACT_COMMIT_PREPARED, 0x80, 40, NULL, T0 - 9000000),   /* before the floor: replayed anyway */
        rec(WAL_XACT_COMMIT_PREPARED, 0x3000, 41, NULL, T0 - 1000000),
    };
    ExactDecided d;
    ExactWindowInput in = input(xs, 2, &d);
    ExactCut c;
    Error err;
    uint32_t unknown = 0;
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == -1 && unknown == 41 && strstr(err.msg, "xid 41") &&
              strstr(err.msg, "0/3000"), "a COMMIT PREPARED whose PREPARE was not read: the caller reads from earlier");
    in.nxacts = 1;
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && unknown == 0,
          "one before the backup's end is no question (the CP decided it)");
    /* beyond the ceiling: neither */
    WalXact ys[] = {rec(WAL_XACT_COMMIT_PREPARED, 0x9400, 42, NULL, T0)};
    in = input(ys, 1, &d);
    CHECK(exact_window_cut(&in, &c, &unknown, &err) == 0 && c.lsn == 0x9000 && c.crossing == 0,
          "records past the ceiling neither bound nor cross");
}

static void
test_decided_lookup(void)
{
    ExactDecision items[] = {{"b", 0}, {"c", 0}, {"a", 0}};
    ExactDecided d = {items, 3};
    exact_decisions_sort(&d);
    CHECK(exact_decided_find(&d, "a") && exact_decided_find(&d, "c") && !exact_decided_find(&d, "bb") &&
              !exact_decided_find(&d, ""), "decided set: exact lookups");
    ExactDecided none = {NULL, 0};
    CHECK(!exact_decided_find(&none, "a"), "empty decided set: nothing decided");
}

int
main(void)
{
    test_edges_and_time();
    test_low_edge_by_prepare();
    test_aborts();
    test_empty_window();
    test_unknown_prepare();
    test_decided_lookup();
    UNIT_DONE();
}
