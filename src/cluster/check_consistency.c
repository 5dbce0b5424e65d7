/* strata check-consistency: is a cluster (live and quiet, or restored)
 * consistent in the sense of DESIGN §5?
 *   (a) total_balance: the balances on all shard primaries add up to the
 *       workload's initial total;
 *   (b) atomicity: every transfer is on all of its participants or on
 *       none, and its deltas add up to 0;
 *   (c) prepared: no prepared transaction remains on any shard;
 *   (d) commit_log: every decision in the commit log has its rows on every
 *       participant, and every cross-shard transfer on a shard has a
 *       decision.
 * Transfers are compared by streaming each shard's per-transfer
 * aggregates and the commit log, all sorted the same way (COLLATE "C"),
 * through one merge: memory stays flat whatever the number of transfers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cluster/bank.h"
#include "cluster/check_consistency.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

static const char usage_text[] =
    "usage: strata check-consistency --meta-conn CONNINFO --cluster NAME [--output text|json]\n"
    "                                [--max-report N]\n"
    "\n"
    "Checks a quiet cluster (no workload running): total balance = initial total,\n"
    "every transfer on all of its participants or none, no prepared transaction\n"
    "left on any shard, commit log and shards agree. Exit 0 if consistent, 1 if not\n"
    "(each violation names its check and the transfer id or prepared gid).\n"
    "--max-report N   violations listed per check (default 50; all are counted)\n";

enum { OPT_META_CONN = OPT_FIRST_COMMAND_OPTION, OPT_CLUSTER, OPT_MAX_REPORT };

typedef struct Check
{
    const char *name;
    size_t count;          /* violations */
    json_object *items;    /* the first max_report of them */
    Buffer text;           /* the same, as lines */
} Check;

typedef struct Checker
{
    ClusterConns cc;
    size_t max_report;
    Check total, atomicity, prepared, log;
} Checker;

static void
violation(Checker *k, Check *c, json_object *item, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
violation(Checker *k, Check *c, json_object *item, const char *fmt, ...)
{
    c->count++;
    if (c->count > k->max_report)
    {
        json_object_put(item);
        return;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    json_object_object_add(item, "problem", json_object_new_string(line));
    json_object_array_add(c->items, item);
    buffer_appendf(&c->text, "VIOLATION %s: %s\n", c->name, line);
}

static json_object *
transfer_item(const char *id)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "transfer_id", json_object_new_string(id));
    return o;
}

/* ---- (a) and (c) ------------------------------------------------------------ */

static int
check_total(Checker *k, const BankInfo *bank, json_object *out, Error *err)
{
    const Topology *t = &k->cc.topo;
    long long total = 0, accounts = 0;
    json_object *per = json_object_new_object();
    json_object_object_add(out, "shards", per);
    for (size_t i = 0; i < t->nshards; i++)
    {
        char what[128];
        snprintf(what, sizeof(what), "%s primary", t->shards[i].name);
        PGresult *r = pg_exec(k->cc.shards[i], what,
                              "SELECT coalesce(sum(balance), 0)::bigint, count(*) FROM public.accounts", 0, NULL, err);
        if (!r)
            return error_prefix(err, "total balance: ");
        long long s = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        total += s;
        accounts += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        json_object_object_add(per, t->shards[i].name, json_object_new_int64(s));
        PQclear(r);
    }
    json_object_object_add(out, "initial_total", json_object_new_int64(bank->initial_total));
    json_object_object_add(out, "total", json_object_new_int64(total));
    json_object_object_add(out, "accounts", json_object_new_int64(accounts));
    if (total != bank->initial_total)
    {
        json_object *item = json_object_new_object();
        json_object_object_add(item, "total", json_object_new_int64(total));
        violation(k, &k->total, item, "the balances add up to %lld, the initial total is %lld (off by %lld)", total,
                  (long long) bank->initial_total, total - (long long) bank->initial_total);
    }
    else
        buffer_appendf(&k->total.text, "total balance %lld = initial total (%lld accounts on %zu shard(s))\n", total,
                       accounts, t->nshards);
    if (accounts != (long long) t->nshards * bank->accounts)
    {
        json_object *item = json_object_new_object();
        json_object_object_add(item, "accounts", json_object_new_int64(accounts));
        violation(k, &k->total, item, "%lld accounts, the workload created %lld", accounts,
                  (long long) t->nshards * bank->accounts);
    }
    return 0;
}

static int
check_prepared(Checker *k, Error *err)
{
    const Topology *t = &k->cc.topo;
    for (size_t i = 0; i < t->nshards; i++)
    {
        char what[128];
        snprintf(what, sizeof(what), "%s primary", t->shards[i].name);
        PGresult *r = pg_exec(k->cc.shards[i], what,
                              "SELECT gid, database, prepared::text, owner FROM pg_prepared_xacts ORDER BY gid", 0,
                              NULL, err);
        if (!r)
            return error_prefix(err, "prepared transactions: ");
        for (int row = 0; row < PQntuples(r); row++)
        {
            json_object *item = json_object_new_object();
            json_object_object_add(item, "shard", json_object_new_string(t->shards[i].name));
            json_object_object_add(item, "gid", json_object_new_string(PQgetvalue(r, row, 0)));
            json_object_object_add(item, "database", json_object_new_string(PQgetvalue(r, row, 1)));
            json_object_object_add(item, "prepared_at", json_object_new_string(PQgetvalue(r, row, 2)));
            violation(k, &k->prepared, item, "%s: prepared transaction '%s' (database %s, prepared %s) is still in doubt",
                      t->shards[i].name, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
        }
        PQclear(r);
    }
    return 0;
}

/* ---- (b) and (d): the merge ------------------------------------------------------ */

typedef struct Stream
{
    PGconn *conn;
    const char *what;
    PGresult *row;   /* current row, NULL when done */
    bool done;
} Stream;

static int
stream_start(Stream *s, PGconn *conn, const char *what, const char *sql, Error *err)
{
    s->conn = conn;
    s->what = what;
    s->row = NULL;
    s->done = false;
    if (!PQsendQuery(conn, sql) || !PQsetSingleRowMode(conn))
        return error_set(err, "on the %s, %s failed: %s", what, sql, PQerrorMessage(conn));
    return 0;
}

/* Moves to the next row; at the end, drains the connection. */
static int
stream_next(Stream *s, Error *err)
{
    PQclear(s->row);
    s->row = NULL;
    if (s->done)
        return 0;
    PGresult *r = PQgetResult(s->conn);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_TUPLES_OK;
    if (st == PGRES_SINGLE_TUPLE)
    {
        s->row = r;
        return 0;
    }
    int rc = 0;
    if (st != PGRES_TUPLES_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        rc = error_set(err, "reading from the %s failed: %s", s->what, msg);
    }
    PQclear(r);
    while ((r = PQgetResult(s->conn)) != NULL)
        PQclear(r);
    s->done = true;
    return rc;
}

static const char *
stream_key(const Stream *s)
{
    return s->row ? PQgetvalue(s->row, 0, 0) : NULL;
}

static void
stream_abort(Stream *s)
{
    /* Stop a half-read result: cancel, then drain. */
    if (!s->done && s->conn)
    {
        PGcancel *c = PQgetCancel(s->conn);
        char buf[256];
        if (c)
        {
            PQcancel(c, buf, sizeof(buf));
            PQfreeCancel(c);
        }
        PGresult *r;
        while ((r = PQgetResult(s->conn)) != NULL)
            PQclear(r);
    }
    PQclear(s->row);
    s->row = NULL;
    s->done = true;
}

/* "a,b,c" into names; returns how many (at most max). */
static size_t
split_participants(char *list, char **names, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ","))
        names[n++] = tok;
    return n;
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

typedef struct MergeStats
{
    unsigned long long transfers, cross, single, log_entries;
} MergeStats;

static void
judge(Checker *k, const char *id, const bool *present, const long long *sum_by_shard, const char *participants,
      MergeStats *ms)
{
    const Topology *t = &k->cc.topo;
    size_t n = t->nshards, npresent = 0;
    long long sum = 0;
    for (size_t i = 0; i < n; i++)
        if (present[i])
        {
            npresent++;
            sum += sum_by_shard[i];
        }
    if (npresent)
    {
        ms->transfers++;
        if (participants || npresent > 1 || str_starts_with(id, BANK_CROSS_PREFIX))
            ms->cross++;
        else
            ms->single++;
    }
    Buffer b1 = {0}, b2 = {0};
    if (participants)
    {
        ms->log_entries++;
        bool *is_part = xcalloc(n, sizeof(bool)), *missing = xcalloc(n, sizeof(bool)), *extra = xcalloc(n, sizeof(bool));
        char *copy = xstrdup(participants);
        char *names[256];
        size_t np = split_participants(copy, names, 256), nmissing = 0, nextra = 0;
        for (size_t p = 0; p < np; p++)
        {
            const ReplicaSet *rs = topology_shard(t, names[p]);
            if (!rs)
            {
                violation(k, &k->log, transfer_item(id),
                          "%s: participant %s in the commit log is not a shard of cluster %s", id, names[p], t->name);
                continue;
            }
            is_part[rs - t->shards] = true;
        }
        for (size_t i = 0; i < n; i++)
        {
            if (is_part[i] && !present[i])
                missing[i] = true, nmissing++;
            if (!is_part[i] && present[i])
                extra[i] = true, nextra++;
        }
        if (nmissing && npresent)
        {
            shard_list(t, present, &b1);
            shard_list(t, missing, &b2);
            violation(k, &k->atomicity, transfer_item(id), "%s is on %s but not on participant(s) %s", id, b1.data,
                      b2.data);
        }
        if (nmissing)
        {
            shard_list(t, missing, &b2);
            violation(k, &k->log, transfer_item(id), "%s is decided in the commit log but has no rows on %s", id,
                      b2.data);
        }
        if (nextra)
        {
            shard_list(t, extra, &b2);
            violation(k, &k->log, transfer_item(id), "%s has rows on %s, not a participant in the commit log", id,
                      b2.data);
        }
        free(copy);
        free(is_part);
        free(missing);
        free(extra);
    }
    else if (npresent > 1)
    {
        shard_list(t, present, &b1);
        violation(k, &k->log, transfer_item(id), "%s is on %s but has no decision in the commit log", id, b1.data);
    }
    else if (npresent == 1 && str_starts_with(id, BANK_CROSS_PREFIX))
    {
        shard_list(t, present, &b1);
        violation(k, &k->log, transfer_item(id),
                  "cross-shard transfer %s is committed on %s without a decision in the commit log", id, b1.data);
    }
    if (npresent && sum != 0)
        violation(k, &k->atomicity, transfer_item(id), "the deltas of %s add up to %lld, not 0", id, sum);
    buffer_free(&b1);
    buffer_free(&b2);
}

static int
check_transfers(Checker *k, MergeStats *ms, Error *err)
{
    const Topology *t = &k->cc.topo;
    size_t n = t->nshards;
    Stream *st = xcalloc(n + 1, sizeof(Stream));
    char **what = xcalloc(n + 1, sizeof(char *));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        what[i] = xprintf("%s primary", t->shards[i].name);
        rc = stream_start(&st[i], k->cc.shards[i], what[i],
                          "SELECT transfer_id, sum(delta)::bigint FROM public.transfers GROUP BY transfer_id "
                          "ORDER BY transfer_id COLLATE \"C\"",
                          err);
    }
    what[n] = xstrdup("metadata primary (commit log)");
    if (rc == 0)
        rc = stream_start(&st[n], k->cc.meta, what[n],
                          "SELECT gtxid, array_to_string(participants, ',') FROM strata.commit_log "
                          "ORDER BY gtxid COLLATE \"C\"",
                          err);
    for (size_t i = 0; i <= n && rc == 0; i++)
        rc = stream_next(&st[i], err);
    bool *present = xcalloc(n, sizeof(bool));
    long long *sums = xcalloc(n, sizeof(long long));
    char *key = NULL, *participants = NULL;
    while (rc == 0)
    {
        const char *min = NULL;
        for (size_t i = 0; i <= n; i++)
        {
            const char *kk = stream_key(&st[i]);
            if (kk && (!min || strcmp(kk, min) < 0))
                min = kk;
        }
        if (!min)
            break;
        free(key);
        key = xstrdup(min);
        free(participants);
        participants = NULL;
        for (size_t i = 0; i < n && rc == 0; i++)
        {
            present[i] = false;
            sums[i] = 0;
            const char *kk = stream_key(&st[i]);
            if (kk && !strcmp(kk, key))
            {
                present[i] = true;
                sums[i] = strtoll(PQgetvalue(st[i].row, 0, 1), NULL, 10);
                rc = stream_next(&st[i], err);
            }
        }
        const char *lk = stream_key(&st[n]);
        if (rc == 0 && lk && !strcmp(lk, key))
        {
            participants = xstrdup(PQgetvalue(st[n].row, 0, 1));
            rc = stream_next(&st[n], err);
        }
        if (rc == 0)
            judge(k, key, present, sums, participants, ms);
    }
    free(key);
    free(participants);
    free(present);
    free(sums);
    for (size_t i = 0; i <= n; i++)
    {
        if (rc != 0)
            stream_abort(&st[i]);
        PQclear(st[i].row);
        free(what[i]);
    }
    free(what);
    free(st);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

static json_object *
check_json(Check *c, json_object *extra)
{
    json_object *o = extra ? extra : json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(c->count == 0));
    json_object_object_add(o, "violation_count", json_object_new_int64((int64_t) c->count));
    json_object_object_add(o, "violations", json_object_get(c->items));
    return o;
}

static void
check_print(const Check *c, size_t max_report)
{
    if (c->text.len)
        fwrite(c->text.data, 1, c->text.len, stdout);
    if (c->count > max_report)
        printf("VIOLATION %s: ... and %zu more\n", c->name, c->count - max_report);
}

/* One run of the four checks: the checker, its counters and what the JSON
 * report needs; checks_run fills it, checks_free releases it. */
typedef struct CheckRun
{
    Checker k;
    Check *checks[4];
    json_object *total_json;
    MergeStats ms;
    BankInfo bank;
    size_t violations;
} CheckRun;

static int
checks_run(CheckRun *run, const char *meta_conn, const char *cluster, size_t max_report, Error *err)
{
    memset(run, 0, sizeof(*run));
    Checker *k = &run->k;
    k->max_report = max_report;
    Check *checks[] = {&k->total, &k->atomicity, &k->prepared, &k->log};
    const char *names[] = {"total_balance", "atomicity", "prepared", "commit_log"};
    for (int i = 0; i < 4; i++)
    {
        run->checks[i] = checks[i];
        checks[i]->name = names[i];
        checks[i]->items = json_object_new_array();
    }
    run->total_json = json_object_new_object();
    bool exists = false;
    int rc = cluster_conns_open(meta_conn, cluster, true, &k->cc, err);
    if (rc == 0)
        rc = bank_info_load(k->cc.meta, &k->cc.topo, &run->bank, &exists, err);
    if (rc == 0 && !exists)
        rc = error_set(err,
                       "cluster %s: its metadata database has no workload row (strata.workload) for %s%s%s: "
                       "nothing to check against (strata workload --init)",
                       cluster, cluster, k->cc.topo.origin ? " or its origin " : "",
                       k->cc.topo.origin ? k->cc.topo.origin : "");
    if (rc == 0)
        rc = check_total(k, &run->bank, run->total_json, err);
    if (rc == 0)
        rc = check_prepared(k, err);
    if (rc == 0)
        rc = check_transfers(k, &run->ms, err);
    for (int i = 0; rc == 0 && i < 4; i++)
        run->violations += checks[i]->count;
    return rc;
}

static json_object *
checks_json(CheckRun *run, const char *cluster)
{
    Checker *k = &run->k;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(cluster));
    json_object_object_add(o, "consistent", json_object_new_boolean(run->violations == 0));
    json_object_object_add(o, "violation_count", json_object_new_int64((int64_t) run->violations));
    json_object_object_add(o, "workload", json_object_new_string(run->bank.key));
    json_object *ch = json_object_new_object();
    json_object_object_add(ch, "total_balance", check_json(&k->total, json_object_get(run->total_json)));
    json_object *at = json_object_new_object();
    json_object_object_add(at, "transfers", json_object_new_int64((int64_t) run->ms.transfers));
    json_object_object_add(at, "cross_shard", json_object_new_int64((int64_t) run->ms.cross));
    json_object_object_add(at, "single_shard", json_object_new_int64((int64_t) run->ms.single));
    json_object_object_add(ch, "atomicity", check_json(&k->atomicity, at));
    json_object_object_add(ch, "prepared", check_json(&k->prepared, NULL));
    json_object *lg = json_object_new_object();
    json_object_object_add(lg, "entries", json_object_new_int64((int64_t) run->ms.log_entries));
    json_object_object_add(ch, "commit_log", check_json(&k->log, lg));
    json_object_object_add(o, "checks", ch);
    return o;
}

static void
checks_free(CheckRun *run)
{
    json_object_put(run->total_json);
    for (int i = 0; i < 4; i++)
        if (run->checks[i])
        {
            json_object_put(run->checks[i]->items);
            buffer_free(&run->checks[i]->text);
        }
    bank_info_free(&run->bank);
    cluster_conns_close(&run->k.cc);
}

int
check_consistency_json(const char *meta_conn, const char *cluster, size_t max_report, json_object **report,
                       Error *err)
{
    CheckRun run;
    *report = NULL;
    int rc = checks_run(&run, meta_conn, cluster, max_report, err);
    if (rc == 0)
    {
        *report = checks_json(&run, cluster);
        /* One line a person reads; the details are in "checks". */
        char *summary = run.violations == 0
                            ? xprintf("cluster %s is consistent: %llu transfer(s) (%llu cross-shard), %llu commit log "
                                      "decision(s), no prepared transaction left", cluster, run.ms.transfers,
                                      run.ms.cross, run.ms.log_entries)
                            : xprintf("cluster %s is NOT consistent: %zu violation(s) (total_balance %zu, atomicity "
                                      "%zu, prepared %zu, commit_log %zu)", cluster, run.violations,
                                      run.k.total.count, run.k.atomicity.count, run.k.prepared.count,
                                      run.k.log.count);
        json_object_object_add(*report, "summary", json_object_new_string(summary));
        free(summary);
        /* Every reported violation in one list, each naming its check. */
        json_object *all = json_object_new_array();
        for (int i = 0; i < 4; i++)
            for (size_t j = 0; j < json_object_array_length(run.checks[i]->items); j++)
            {
                json_object *v = json_object_new_object();
                json_object_object_add(v, "check", json_object_new_string(run.checks[i]->name));
                json_object_object_foreach(json_object_array_get_idx(run.checks[i]->items, j), key, val)
                    json_object_object_add(v, key, json_object_get(val));
                json_object_array_add(all, v);
            }
        json_object_object_add(*report, "violations", all);
    }
    checks_free(&run);
    return rc;
}

int
cmd_check_consistency(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"meta-conn", required_argument, NULL, OPT_META_CONN},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"max-report", required_argument, NULL, OPT_MAX_REPORT},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "check-consistency";
    CommonOptions co;
    common_options_init(&co);
    const char *meta_conn = NULL, *cluster = NULL;
    long max_report = 50;
    int c, code;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, cmd, usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_META_CONN: meta_conn = optarg; break;
            case OPT_CLUSTER: cluster = optarg; break;
            case OPT_MAX_REPORT:
                if (parse_int_range(optarg, 0, 1000000, &max_report, &err) != 0)
                    return cli_usage_error(cmd, "--max-report: %s", err.msg);
                break;
            default: return cli_bad_option(cmd, argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!meta_conn)
        return cli_usage_error(cmd, "--meta-conn is required (the metadata primary's connection string)");
    if (!cluster)
        return cli_usage_error(cmd, "--cluster NAME is required");
    if (topology_name_check("--cluster", cluster, &err) != 0)
        return cli_usage_error(cmd, "%s", err.msg);

    CheckRun run;
    int rc = checks_run(&run, meta_conn, cluster, (size_t) max_report, &err);
    if (rc == 0)
    {
        Checker *k = &run.k;
        size_t violations = run.violations;
        if (co.json)
        {
            json_object *o = checks_json(&run, cluster);
            printf("%s\n",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(o);
        }
        else
        {
            printf("cluster %s: %s\n", cluster,
                   violations ? "INCONSISTENT" : "consistent");
            for (int i = 0; i < 4; i++)
                check_print(run.checks[i], k->max_report);
            printf("transfers: %llu (%llu cross-shard, %llu single-shard); commit log: %llu decision(s); "
                   "prepared transactions left: %zu\n",
                   run.ms.transfers, run.ms.cross, run.ms.single, run.ms.log_entries, k->prepared.count);
        }
        if (violations)
        {
            log_error("cluster %s is not consistent: %zu violation(s) (total_balance %zu, atomicity %zu, prepared "
                      "%zu, commit_log %zu)",
                      cluster, violations, k->total.count, k->atomicity.count, k->prepared.count, k->log.count);
            rc = 1;
        }
    }
    else
        rc = cli_fail(&err);
    checks_free(&run);
    return rc;
}
