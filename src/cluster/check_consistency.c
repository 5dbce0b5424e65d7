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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/workload.h"
#include "cli/cli.h"
#include "cluster/bank.h"
#include "cluster/check_consistency.h"
#include "cluster/consistency_verdict.h"
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

typedef struct Checker
{
    ClusterConns cc;
    Verdict v;             /* what the queries found, judged (consistency_verdict.c) */
} Checker;

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
    verdict_total(&k->v, total, accounts, (long long) bank->initial_total, bank->accounts);
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
            verdict_prepared(&k->v, t->shards[i].name, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1),
                             PQgetvalue(r, row, 2));
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

static int
check_transfers(Checker *k, Error *err)
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
        rc = stream_start(&st[n], k->cc.meta, what[n], catalog_commit_log_scan_sql, err);
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
            verdict_transfer(&k->v, key, present, sums, participants);
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
    BankInfo bank;
    size_t violations;
} CheckRun;

static int
checks_run(CheckRun *run, const char *meta_conn, const char *cluster, size_t max_report, Error *err)
{
    memset(run, 0, sizeof(*run));
    Checker *k = &run->k;
    verdict_init(&k->v, &k->cc.topo, max_report);
    Check *checks[] = {&k->v.total, &k->v.atomicity, &k->v.prepared, &k->v.log};
    for (int i = 0; i < 4; i++)
        run->checks[i] = checks[i];
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
        rc = check_transfers(k, err);
    if (rc == 0)
        run->violations = verdict_violations(&k->v);
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
    json_object_object_add(ch, "total_balance", check_json(&k->v.total, json_object_get(run->total_json)));
    json_object *at = json_object_new_object();
    json_object_object_add(at, "transfers", json_object_new_int64((int64_t) run->k.v.ms.transfers));
    json_object_object_add(at, "cross_shard", json_object_new_int64((int64_t) run->k.v.ms.cross));
    json_object_object_add(at, "single_shard", json_object_new_int64((int64_t) run->k.v.ms.single));
    json_object_object_add(ch, "atomicity", check_json(&k->v.atomicity, at));
    json_object_object_add(ch, "prepared", check_json(&k->v.prepared, NULL));
    json_object *lg = json_object_new_object();
    json_object_object_add(lg, "entries", json_object_new_int64((int64_t) run->k.v.ms.log_entries));
    json_object_object_add(ch, "commit_log", check_json(&k->v.log, lg));
    json_object_object_add(o, "checks", ch);
    return o;
}

static void
checks_free(CheckRun *run)
{
    json_object_put(run->total_json);
    verdict_free(&run->k.v);
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
                                      "decision(s), no prepared transaction left", cluster, run.k.v.ms.transfers,
                                      run.k.v.ms.cross, run.k.v.ms.log_entries)
                            : xprintf("cluster %s is NOT consistent: %zu violation(s) (total_balance %zu, atomicity "
                                      "%zu, prepared %zu, commit_log %zu)", cluster, run.violations,
                                      run.k.v.total.count, run.k.v.atomicity.count, run.k.v.prepared.count,
                                      run.k.v.log.count);
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
            cli_json_result(json_object_get(o));
            json_object_put(o);
        }
        else
        {
            printf("cluster %s: %s\n", cluster,
                   violations ? "INCONSISTENT" : "consistent");
            for (int i = 0; i < 4; i++)
                check_print(run.checks[i], k->v.max_report);
            printf("transfers: %llu (%llu cross-shard, %llu single-shard); commit log: %llu decision(s); "
                   "prepared transactions left: %zu\n",
                   run.k.v.ms.transfers, run.k.v.ms.cross, run.k.v.ms.single, run.k.v.ms.log_entries, k->v.prepared.count);
        }
        if (violations)
        {
            log_error("cluster %s is not consistent: %zu violation(s) (total_balance %zu, atomicity %zu, prepared "
                      "%zu, commit_log %zu)",
                      cluster, violations, k->v.total.count, k->v.atomicity.count, k->v.prepared.count, k->v.log.count);
            rc = 1;
        }
    }
    else
        rc = cli_fail(&err);
    checks_free(&run);
    return rc;
}
