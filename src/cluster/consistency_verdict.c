#include "cluster/consistency_verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bank.h"

void
verdict_init(Verdict *v, const Topology *t, size_t max_report)
{
    memset(v, 0, sizeof(*v));
    v->topo = t;
    v->max_report = max_report;
    Check *checks[] = {&v->total, &v->atomicity, &v->prepared, &v->log};
    const char *names[] = {"total_balance", "atomicity", "prepared", "commit_log"};
    for (int i = 0; i < 4; i++)
    {
        checks[i]->name = names[i];
        checks[i]->items = json_object_new_array();
    }
}

void
verdict_free(Verdict *v)
{
    Check *checks[] = {&v->total, &v->atomicity, &v->prepared, &v->log};
    for (int i = 0; i < 4; i++)
    {
        json_object_put(checks[i]->items);
        checks[i]->items = NULL;
        buffer_free(&checks[i]->text);
    }
}

size_t
verdict_violations(const Verdict *v)
{
    return v->total.count + v->atomicity.count + v->prepared.count + v->log.count;
}

static void
violation(Verdict *v, Check *c, json_object *item, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
violation(Verdict *v, Check *c, json_object *item, const char *fmt, ...)
{
    c->count++;
    if (c->count > v->max_report)
    {
        json_object_put(item);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    const char *text = line ? line : "(out of memory formatting the violation)";
    json_object_object_add(item, "problem", json_object_new_string(text));
    json_object_array_add(c->items, item);
    buffer_appendf(&c->text, "VIOLATION %s: %s\n", c->name, text);
    free(line);
}

static json_object *
transfer_item(const char *id)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "transfer_id", json_object_new_string(id));
    return o;
}

void
verdict_total(Verdict *v, long long total, long long accounts, long long initial_total, long accounts_per_shard)
{
    size_t nshards = v->topo->nshards;
    if (total != initial_total)
    {
        json_object *item = json_object_new_object();
        json_object_object_add(item, "total", json_object_new_int64(total));
        violation(v, &v->total, item, "the balances add up to %lld, the initial total is %lld (off by %lld)", total,
                  initial_total, total - initial_total);
    }
    else
        buffer_appendf(&v->total.text, "total balance %lld = initial total (%lld accounts on %zu shard(s))\n", total,
                       accounts, nshards);
    if (accounts != (long long) nshards * accounts_per_shard)
    {
        json_object *item = json_object_new_object();
        json_object_object_add(item, "accounts", json_object_new_int64(accounts));
        violation(v, &v->total, item, "%lld accounts, the workload created %lld", accounts,
                  (long long) nshards * accounts_per_shard);
    }
}

void
verdict_prepared(Verdict *v, const char *shard, const char *gid, const char *database, const char *prepared_at)
{
    json_object *item = json_object_new_object();
    json_object_object_add(item, "shard", json_object_new_string(shard));
    json_object_object_add(item, "gid", json_object_new_string(gid));
    json_object_object_add(item, "database", json_object_new_string(database));
    json_object_object_add(item, "prepared_at", json_object_new_string(prepared_at));
    violation(v, &v->prepared, item, "%s: prepared transaction '%s' (database %s, prepared %s) is still in doubt", shard,
              gid, database, prepared_at);
}

static void
shard_list(const Topology *t, const bool *mask, Buffer *b)
{
    b->len = 0;
    bool first = true;
    for (size_t i = 0; i < t->nshards; i++)
        if (mask[i])
        {
            buffer_appendf(b, "%s%s", first ? "" : ", ", t->shards[i].name);
            first = false;
        }
    buffer_append(b, "", 1);
}

/* The commit log's participants of `id` against where it has rows. */
static void
judge_participants(Verdict *v, const char *id, const bool *present, size_t npresent, const char *participants)
{
    const Topology *t = v->topo;
    size_t n = t->nshards, nmissing = 0, nextra = 0;
    bool *is_part = xcalloc(n ? n : 1, sizeof(bool)), *missing = xcalloc(n ? n : 1, sizeof(bool)),
         *extra = xcalloc(n ? n : 1, sizeof(bool));
    char *copy = xstrdup(participants), *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save))
    {
        const ReplicaSet *rs = topology_shard(t, name);
        if (!rs)
            violation(v, &v->log, transfer_item(id), "%s: participant %s in the commit log is not a shard of cluster %s",
                      id, name, t->name);
        else
            is_part[rs - t->shards] = true;
    }
    for (size_t i = 0; i < n; i++)
    {
        if (is_part[i] && !present[i])
            missing[i] = true, nmissing++;
        if (!is_part[i] && present[i])
            extra[i] = true, nextra++;
    }
    Buffer b1 = {0}, b2 = {0};
    if (nmissing && npresent)
    {
        shard_list(t, present, &b1);
        shard_list(t, missing, &b2);
        violation(v, &v->atomicity, transfer_item(id), "%s is on %s but not on participant(s) %s", id, b1.data, b2.data);
    }
    if (nmissing)
    {
        shard_list(t, missing, &b2);
        violation(v, &v->log, transfer_item(id), "%s is decided in the commit log but has no rows on %s", id, b2.data);
    }
    if (nextra)
    {
        shard_list(t, extra, &b2);
        violation(v, &v->log, transfer_item(id), "%s has rows on %s, not a participant in the commit log", id, b2.data);
    }
    buffer_free(&b1);
    buffer_free(&b2);
    free(copy);
    free(is_part);
    free(missing);
    free(extra);
}

void
verdict_transfer(Verdict *v, const char *id, const bool *present, const long long *sum_by_shard,
                 const char *participants)
{
    const Topology *t = v->topo;
    size_t npresent = 0;
    long long sum = 0;
    for (size_t i = 0; i < t->nshards; i++)
        if (present[i])
        {
            npresent++;
            sum += sum_by_shard[i];
        }
    if (npresent)
    {
        v->ms.transfers++;
        if (participants || npresent > 1 || str_starts_with(id, BANK_CROSS_PREFIX))
            v->ms.cross++;
        else
            v->ms.single++;
    }
    Buffer b = {0};
    if (participants)
    {
        v->ms.log_entries++;
        judge_participants(v, id, present, npresent, participants);
    }
    else if (npresent > 1)
    {
        shard_list(t, present, &b);
        violation(v, &v->log, transfer_item(id), "%s is on %s but has no decision in the commit log", id, b.data);
    }
    else if (npresent == 1 && str_starts_with(id, BANK_CROSS_PREFIX))
    {
        shard_list(t, present, &b);
        violation(v, &v->log, transfer_item(id),
                  "cross-shard transfer %s is committed on %s without a decision in the commit log", id, b.data);
    }
    if (npresent && sum != 0)
        violation(v, &v->atomicity, transfer_item(id), "the deltas of %s add up to %lld, not 0", id, sum);
    buffer_free(&b);
}
