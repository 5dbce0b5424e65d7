/* The consistency checker's verdict (cluster/consistency_verdict.c) on
 * made-up facts: each rule of DESIGN §5 fires on its case and only there;
 * counts go on past max_report; no cap on the participants of a transfer. */
#include <string.h>

#include "cluster/consistency_verdict.h"
#include "unit.h"

static int
topology_of(size_t nshards, Topology *t)
{
    Buffer b = {0};
    buffer_appendf(&b, "{\"name\": \"c1\", \"meta\": [{\"name\": \"m\", \"host\": \"h\", \"port\": 1, \"role\": \"primary\"}], "
                       "\"shards\": [");
    for (size_t i = 1; i <= nshards; i++)
        buffer_appendf(&b, "%s{\"name\": \"shard%zu\", \"nodes\": [{\"name\": \"n%zu\", \"host\": \"h\", \"port\": %zu, "
                           "\"role\": \"primary\"}]}",
                       i > 1 ? ", " : "", i, i, 10000 + i);
    buffer_appendf(&b, "]}");
    Error err;
    int rc = topology_from_json(b.data, "unit", t, &err);
    if (rc != 0)
        printf("# %s\n", err.msg);
    buffer_free(&b);
    return rc;
}

/* Judges one transfer on a fresh verdict; returns the counts as "A L"
 * (atomicity, commit_log) and the first problem text in *problem. */
static const char *
judge(const Topology *t, const char *id, const char *rows, const long long *sums, const char *participants,
      char *problem, size_t plen)
{
    static char counts[32];
    Verdict v;
    verdict_init(&v, t, 10);
    bool present[3] = {rows[0] == 'x', rows[1] == 'x', rows[2] == 'x'};
    verdict_transfer(&v, id, present, sums, participants);
    snprintf(counts, sizeof(counts), "%zu %zu", v.atomicity.count, v.log.count);
    const Check *first = v.atomicity.count ? &v.atomicity : &v.log;
    json_object *item = json_object_array_get_idx(first->items, 0);
    snprintf(problem, plen, "%s", item ? json_object_get_string(json_object_object_get(item, "problem")) : "");
    verdict_free(&v);
    return counts;
}

static void
test_transfers(const Topology *t)
{
    char p[512];
    long long zero[3] = {0, 0, 0}, pair[3] = {-5, 5, 0}, ends[3] = {-5, 0, 5}, one[3] = {-5, 0, 0}, three[3] = {-5, 2, 3};
    CHECK(!strcmp(judge(t, "s-1", "x--", zero, NULL, p, sizeof(p)), "0 0"), "a single-shard transfer, no decision: fine");
    CHECK(!strcmp(judge(t, "g-1", "xx-", pair, "shard1,shard2", p, sizeof(p)), "0 0"),
          "a cross-shard transfer on both participants, summing to 0: fine");
    CHECK(!strcmp(judge(t, "g-2", "x--", one, "shard1,shard2", p, sizeof(p)), "2 1") &&
              strstr(p, "g-2 is on shard1 but not on participant(s) shard2"),
          "on one participant of two: atomicity (missing side, and the deltas) and commit log");
    CHECK(!strcmp(judge(t, "g-3", "x-x", ends, NULL, p, sizeof(p)), "0 1") &&
              strstr(p, "no decision in the commit log"),
          "on two shards without a decision: commit log");
    CHECK(!strcmp(judge(t, "g-4", "xx-", pair, "shard1,shard2,shard9", p, sizeof(p)), "0 1") &&
              strstr(p, "participant shard9 in the commit log is not a shard of cluster c1"),
          "a participant that is not a shard: named");
    CHECK(!strcmp(judge(t, "g-5", "-x-", zero, NULL, p, sizeof(p)), "0 1") &&
              strstr(p, "cross-shard transfer g-5 is committed on shard2 without a decision"),
          "a cross-shard id on one shard without a decision: commit log");
    CHECK(!strcmp(judge(t, "g-6", "xxx", three, "shard1,shard2", p, sizeof(p)), "0 1") &&
              strstr(p, "rows on shard3, not a participant"),
          "rows on a shard that is not a participant: commit log");
    CHECK(!strcmp(judge(t, "g-7", "---", zero, "shard1", p, sizeof(p)), "0 1") &&
              strstr(p, "decided in the commit log but has no rows on shard1"),
          "a decision with no rows anywhere: commit log (not atomicity: nothing is half there)");
    CHECK(!strcmp(judge(t, "s-2", "x--", one, NULL, p, sizeof(p)), "1 0") && strstr(p, "add up to -5, not 0"),
          "deltas not summing to 0: atomicity");
}

static void
test_totals_and_counting(const Topology *t)
{
    Verdict v;
    verdict_init(&v, t, 1);
    verdict_total(&v, 3000, 30, 3000, 10);
    CHECK(v.total.count == 0 && strstr(v.total.text.data, "total balance 3000 = initial total"),
          "the right total over the right number of accounts: no violation, a line saying so");
    verdict_total(&v, 2990, 29, 3000, 10);
    CHECK(v.total.count == 2, "a wrong total and a missing account: two violations");
    CHECK(json_object_array_length(v.total.items) == 1, "with max_report 1, one of them listed");
    verdict_prepared(&v, "shard2", "g-9", "bank", "2026-01-01");
    CHECK(v.prepared.count == 1 && strstr(v.prepared.text.data, "shard2: prepared transaction 'g-9'"),
          "a prepared transaction left: named with its shard");
    bool present[3] = {true, true, false};
    long long sums[3] = {-1, 1, 0};
    verdict_transfer(&v, "g-10", present, sums, "shard1,shard2");
    verdict_transfer(&v, "s-11", (bool[3]){false, false, true}, (long long[3]){0, 0, 0}, NULL);
    CHECK(v.ms.transfers == 2 && v.ms.cross == 1 && v.ms.single == 1 && v.ms.log_entries == 1,
          "transfers counted as cross-shard and single-shard");
    CHECK(verdict_violations(&v) == 3, "three violations in all");
    verdict_free(&v);
}

static void
test_many_participants(void)
{
    Topology big;
    CHECK(topology_of(300, &big) == 0, "a 300-shard topology");
    bool *present = xcalloc(300, sizeof(bool));
    long long *sums = xcalloc(300, sizeof(long long));
    Buffer parts = {0};
    for (size_t i = 0; i < 300; i++)
    {
        present[i] = true;
        buffer_appendf(&parts, "%sshard%zu", i ? "," : "", i + 1);
    }
    Verdict v;
    verdict_init(&v, &big, 10);
    verdict_transfer(&v, "g-big", present, sums, parts.data);
    CHECK(verdict_violations(&v) == 0, "a transfer on all 300 participants: every one of them counted, no violation");
    verdict_free(&v);
    buffer_free(&parts);
    free(present);
    free(sums);
    topology_free(&big);
}

int
main(void)
{
    Topology t;
    CHECK(topology_of(3, &t) == 0, "a 3-shard topology");
    test_transfers(&t);
    test_totals_and_counting(&t);
    topology_free(&t);
    test_many_participants();
    UNIT_DONE();
}
