/* strata workload: a bank under concurrency, moving money between accounts
 * on the same shard (one local transaction) and on different shards (two-
 * phase commit with the DESIGN §1 contract: PREPARE on every participant,
 * one INSERT into the commit log as the decision, COMMIT PREPARED). It
 * simulates crashing coordinators by abandoning some global transactions
 * after PREPARE or after the decision; a resolver thread finishes them
 * later the way a recovering coordinator would, so the cluster never
 * blocks for good but in-doubt transactions exist at any instant — which
 * is what a consistency point and a restore must cope with.
 *
 * This file: the command (flags, --init, the threads started and
 * stopped, the report). The clients: workload_client.c; the resolver:
 * workload_resolver.c; what they share: workload_shared.c (workload.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cluster/bank.h"
#include "catalog/catalog.h"
#include "catalog/workload.h"
#include "cluster/topology.h"
#include "cluster/workload.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

static const char usage_text[] =
    "usage: strata workload --meta-conn CONNINFO --cluster NAME [--init] [--accounts N]\n"
    "                       [--clients K] [--duration SEC] [--cross-shard-ratio R]\n"
    "                       [--abandon-prepared-ratio R] [--abandon-decided-ratio R]\n"
    "                       [--resolve-after SEC] [--leave-in-doubt] [--output text|json]\n"
    "\n"
    "--init             (re)create accounts and transfers on every shard primary, N\n"
    "                   accounts per shard (--accounts, default 100) with balance 1000,\n"
    "                   empty the commit log, record the initial total\n"
    "--clients K        concurrent clients (default 4)\n"
    "--duration SEC     run that long (default: until SIGINT/SIGTERM; 0: --init only)\n"
    "--cross-shard-ratio R        share of transfers between shards (default 0.7)\n"
    "--abandon-prepared-ratio R   cross-shard transfers left prepared, undecided (0.02)\n"
    "--abandon-decided-ratio R    cross-shard transfers left decided, not committed (0.02)\n"
    "--resolve-after SEC          the resolver finishes abandoned ones after SEC (3)\n"
    "--leave-in-doubt   on exit, leave the abandoned transactions in doubt (default:\n"
    "                   resolve them all before exiting)\n";

enum
{
    OPT_META_CONN = OPT_FIRST_COMMAND_OPTION,
    OPT_CLUSTER,
    OPT_INIT,
    OPT_ACCOUNTS,
    OPT_CLIENTS,
    OPT_DURATION,
    OPT_CROSS,
    OPT_AB_PREP,
    OPT_AB_DEC,
    OPT_RESOLVE_AFTER,
    OPT_LEAVE
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
    got_signal = sig;
}

/* ---- --init --------------------------------------------------------------------------- */

static int
bank_init(ClusterConns *cc, long accounts, Error *err)
{
    const Topology *t = &cc->topo;
    for (size_t i = 0; i < t->nshards; i++)
    {
        char what[128];
        snprintf(what, sizeof(what), "%s primary", t->shards[i].name);
        PGresult *r = pg_exec(cc->shards[i], what,
                              "SELECT count(*), coalesce(string_agg(gid, ', ' ORDER BY gid), '') "
                              "FROM (SELECT gid FROM pg_prepared_xacts WHERE database = current_database() "
                              "ORDER BY gid LIMIT 5) p",
                              0, NULL, err);
        if (!r)
            return -1;
        if (atol(PQgetvalue(r, 0, 0)) > 0)
        {
            error_set(err,
                      "%s has prepared transactions (%s%s) that would hold locks on the bank: finish them "
                      "first (COMMIT PREPARED / ROLLBACK PREPARED)",
                      what, PQgetvalue(r, 0, 1), atol(PQgetvalue(r, 0, 0)) >= 5 ? ", ..." : "");
            PQclear(r);
            return -1;
        }
        PQclear(r);
        long long lo = (long long) i * BANK_SHARD_SPAN, hi = lo + accounts - 1;
        char *sql = xprintf("SET client_min_messages = warning; SET lock_timeout = '10s';"
                            "BEGIN;"
                            "DROP TABLE IF EXISTS public.transfers, public.accounts;"
                            "CREATE TABLE public.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);"
                            "CREATE TABLE public.transfers (transfer_id text NOT NULL, account_id bigint NOT NULL, "
                            "delta bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());"
                            "INSERT INTO public.accounts SELECT g, %d FROM generate_series(%lld::bigint, %lld) g;"
                            "COMMIT;"
                            "RESET lock_timeout",
                            BANK_INITIAL_BALANCE, lo, hi);
        QResult q;
        run_sql(cc->shards[i], sql, &q);
        free(sql);
        if (q.st != Q_OK)
        {
            session_reset(cc->shards[i]);
            return error_set(err, "creating the bank on the %s failed: %s", what, q.msg);
        }
    }
    if (catalog_ensure(cc->meta, err) != 0)
        return -1;
    /* The commit log records decisions about the bank just wiped: left in
     * place, its entries would name transfers that no longer exist. */
    char total[32], acc[32];
    snprintf(total, sizeof(total), "%lld", (long long) t->nshards * accounts * BANK_INITIAL_BALANCE);
    snprintf(acc, sizeof(acc), "%ld", accounts);
    if (catalog_workload_reset(cc->meta, "metadata primary", t->name, total, acc, err) != 0)
        return error_prefix(err, "recording the workload of cluster %s: ", t->name);
    return 0;
}

/* ---- the command --------------------------------------------------------------------- */

static int
parse_double_opt(const char *cmd, const char *flag, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || isnan(v))
        return cli_usage_error(cmd, "%s: '%s' is not a number", flag, text);
    if (v < min || v > max)
        return cli_usage_error(cmd, "%s: %g is out of range (%g to %g)", flag, v, min, max);
    *out = v;
    return CLI_CONTINUE;
}

typedef struct Totals
{
    unsigned long long cross, single, ab_prep, ab_dec, res_commit, res_rollback, errors, reconnects, in_doubt;
} Totals;

static void
totals_read(Shared *s, Totals *t)
{
    t->cross = atomic_load(&s->committed_cross);
    t->single = atomic_load(&s->committed_single);
    t->ab_prep = atomic_load(&s->abandoned_prep);
    t->ab_dec = atomic_load(&s->abandoned_dec);
    t->res_commit = atomic_load(&s->resolved_commit);
    t->res_rollback = atomic_load(&s->resolved_rollback);
    t->errors = atomic_load(&s->errors);
    t->reconnects = atomic_load(&s->reconnects);
    t->in_doubt = atomic_load(&s->in_doubt);
}

static void
report(Shared *s, double elapsed, bool json)
{
    Totals t;
    totals_read(s, &t);
    double e = elapsed > 0 ? elapsed : 1e-9;
    unsigned long long committed = t.cross + t.single;
    if (json)
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "cluster", json_object_new_string(s->cluster));
        json_object_object_add(o, "clients", json_object_new_int(s->clients));
        json_object_object_add(o, "duration_s", json_object_new_double(elapsed));
        json_object_object_add(o, "committed", json_object_new_int64((int64_t) committed));
        json_object_object_add(o, "committed_per_s", json_object_new_double(committed / e));
        json_object_object_add(o, "cross_shard", json_object_new_int64((int64_t) t.cross));
        json_object_object_add(o, "cross_shard_per_s", json_object_new_double(t.cross / e));
        json_object_object_add(o, "single_shard", json_object_new_int64((int64_t) t.single));
        json_object_object_add(o, "single_shard_per_s", json_object_new_double(t.single / e));
        json_object_object_add(o, "abandoned_after_prepare", json_object_new_int64((int64_t) t.ab_prep));
        json_object_object_add(o, "abandoned_after_decision", json_object_new_int64((int64_t) t.ab_dec));
        json_object_object_add(o, "abandoned_per_s", json_object_new_double((t.ab_prep + t.ab_dec) / e));
        json_object_object_add(o, "resolved_committed", json_object_new_int64((int64_t) t.res_commit));
        json_object_object_add(o, "resolved_rolled_back", json_object_new_int64((int64_t) t.res_rollback));
        json_object_object_add(o, "left_in_doubt", json_object_new_int64((int64_t) t.in_doubt));
        json_object_object_add(o, "errors", json_object_new_int64((int64_t) t.errors));
        json_object_object_add(o, "reconnects", json_object_new_int64((int64_t) t.reconnects));
        cli_json_result(json_object_get(o));
        json_object_put(o);
        return;
    }
    printf("workload on cluster %s: %.1f s, %d client(s)\n", s->cluster, elapsed, s->clients);
    printf("committed transfers: %llu (%.1f/s); cross-shard %llu (%.1f/s), single-shard %llu (%.1f/s)\n", committed,
           committed / e, t.cross, t.cross / e, t.single, t.single / e);
    printf("abandoned: %llu after prepare, %llu after decision (%.1f/s); resolved: %llu committed, %llu rolled "
           "back; left in doubt: %llu\n",
           t.ab_prep, t.ab_dec, (t.ab_prep + t.ab_dec) / e, t.res_commit, t.res_rollback, t.in_doubt);
    printf("errors (rolled back, retried): %llu; reconnects: %llu\n", t.errors, t.reconnects);
}

static void
shared_free(Shared *s)
{
    for (size_t i = 0; i < s->nshards; i++)
    {
        free(s->shard_names[i]);
        free(s->shard_conninfo[i]);
    }
    free(s->shard_names);
    free(s->shard_conninfo);
    free(s->meta_conninfo);
    free(s->cluster);
    while (s->pending)
    {
        InDoubt *d = s->pending;
        s->pending = d->next;
        free(d);
    }
    pthread_mutex_destroy(&s->lock);
}

/* The command's flags. */
typedef struct WorkloadArgs
{
    CommonOptions co;
    const char *meta_conn, *cluster;
    bool init, leave, accounts_given;
    long accounts, clients;
    double duration, cross, ab_prep, ab_dec, resolve_after;
} WorkloadArgs;

/* The flags into *a: CLI_CONTINUE, or the exit code (--help, a usage
 * error). */
static int
parse_flags(int argc, char **argv, WorkloadArgs *a)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"meta-conn", required_argument, NULL, OPT_META_CONN},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"init", no_argument, NULL, OPT_INIT},
        {"accounts", required_argument, NULL, OPT_ACCOUNTS},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"cross-shard-ratio", required_argument, NULL, OPT_CROSS},
        {"abandon-prepared-ratio", required_argument, NULL, OPT_AB_PREP},
        {"abandon-decided-ratio", required_argument, NULL, OPT_AB_DEC},
        {"resolve-after", required_argument, NULL, OPT_RESOLVE_AFTER},
        {"leave-in-doubt", no_argument, NULL, OPT_LEAVE},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "workload";
    int c, code;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&a->co, c, optarg, cmd, usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        code = CLI_CONTINUE;
        switch (c)
        {
            case OPT_META_CONN: a->meta_conn = optarg; break;
            case OPT_CLUSTER: a->cluster = optarg; break;
            case OPT_INIT: a->init = true; break;
            case OPT_LEAVE: a->leave = true; break;
            case OPT_ACCOUNTS:
                if (parse_int_range(optarg, 2, BANK_SHARD_SPAN - 1, &a->accounts, &err) != 0)
                    return cli_usage_error(cmd, "--accounts: %s", err.msg);
                a->accounts_given = true;
                break;
            case OPT_CLIENTS:
                if (parse_int_range(optarg, 1, 256, &a->clients, &err) != 0)
                    return cli_usage_error(cmd, "--clients: %s", err.msg);
                break;
            case OPT_DURATION:
                code = parse_double_opt(cmd, "--duration", optarg, 0, 366 * 86400.0, &a->duration);
                break;
            case OPT_CROSS: code = parse_double_opt(cmd, "--cross-shard-ratio", optarg, 0, 1, &a->cross); break;
            case OPT_AB_PREP:
                code = parse_double_opt(cmd, "--abandon-prepared-ratio", optarg, 0, 1, &a->ab_prep);
                break;
            case OPT_AB_DEC: code = parse_double_opt(cmd, "--abandon-decided-ratio", optarg, 0, 1, &a->ab_dec); break;
            case OPT_RESOLVE_AFTER:
                code = parse_double_opt(cmd, "--resolve-after", optarg, 0, 86400, &a->resolve_after);
                break;
            default: return cli_bad_option(cmd, argv, c);
        }
        if (code != CLI_CONTINUE)
            return code;
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return CLI_CONTINUE;
}

/* The flags' combinations: CLI_CONTINUE, or a usage error's exit code. */
static int
check_flags(const WorkloadArgs *a)
{
    const char *cmd = "workload";
    Error err;
    if (!a->meta_conn)
        return cli_usage_error(cmd, "--meta-conn is required (the metadata primary's connection string)");
    if (!a->cluster)
        return cli_usage_error(cmd, "--cluster NAME is required");
    if (topology_name_check("--cluster", a->cluster, &err) != 0)
        return cli_usage_error(cmd, "%s", err.msg);
    if (a->ab_prep + a->ab_dec > 1)
        return cli_usage_error(cmd, "--abandon-prepared-ratio + --abandon-decided-ratio is %g, more than 1",
                               a->ab_prep + a->ab_dec);
    if (a->accounts_given && !a->init)
        return cli_usage_error(cmd, "--accounts applies with --init only (the bank's size is fixed when created)");
    if (a->duration == 0 && !a->init)
        return cli_usage_error(cmd, "--duration 0 does nothing without --init");
    return CLI_CONTINUE;
}

/* What the threads share, from the cluster's connections and its bank. */
static void
shared_init(Shared *s, const WorkloadArgs *a, const ClusterConns *cc, const BankInfo *bank)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->catalog_conninfo = a->meta_conn;
    s->cluster = xstrdup(a->cluster);
    s->nshards = cc->topo.nshards;
    s->shard_names = xcalloc(s->nshards, sizeof(char *));
    s->shard_conninfo = xcalloc(s->nshards, sizeof(char *));
    for (size_t i = 0; i < s->nshards; i++)
    {
        s->shard_names[i] = xstrdup(cc->topo.shards[i].name);
        s->shard_conninfo[i] = xstrdup(cc->shard_conninfo[i]);
    }
    s->meta_conninfo = xstrdup(cc->meta_conninfo);
    s->accounts = bank->accounts;
    s->clients = (int) a->clients;
    s->cross_ratio = a->cross;
    s->ab_prep = a->ab_prep;
    s->ab_dec = a->ab_dec;
    s->resolve_after = a->resolve_after;
    s->leave_in_doubt = a->leave;
    /* Unique across runs and hosts' process ids: a gtxid reused after a
     * restart would collide with the commit log's primary key and, worse,
     * merge two transfers in the consistency check. */
    snprintf(s->run_id, sizeof(s->run_id), "%s-%lx-%ld", a->cluster, (unsigned long) time(NULL), (long) getpid());
}

/* The bank (created first with --init) and, unless the run is --init
 * only, the threads' shared state in *s (*run true). Returns 0 or the
 * exit code of a failure. */
static int
bank_prepare(const WorkloadArgs *a, Shared *s, bool *run)
{
    Error err;
    ClusterConns cc;
    *run = false;
    if (cluster_conns_open(a->meta_conn, a->cluster, true, &cc, &err) != 0)
        return cli_fail(&err);
    if (a->init)
    {
        if (bank_init(&cc, a->accounts, &err) != 0)
        {
            cluster_conns_close(&cc);
            return cli_fail(&err);
        }
        log_info("workload: bank created on %zu shard(s): %ld accounts each, total %lld", cc.topo.nshards,
                 a->accounts, (long long) cc.topo.nshards * a->accounts * BANK_INITIAL_BALANCE);
    }
    BankInfo bank;
    bool exists;
    if (bank_info_load(cc.meta, &cc.topo, &bank, &exists, &err) != 0)
    {
        cluster_conns_close(&cc);
        return cli_fail(&err);
    }
    if (!exists)
    {
        cluster_conns_close(&cc);
        error_set(&err, "cluster %s has no bank yet: run strata workload --init first", a->cluster);
        return cli_fail(&err);
    }
    if (a->duration != 0)
    {
        shared_init(s, a, &cc, &bank);
        *run = true;
    }
    bank_info_free(&bank);
    cluster_conns_close(&cc);
    return 0;
}

/* Until --duration or a signal: progress on a terminal every 5 s. */
static void
wait_for_stop(Shared *s, const WorkloadArgs *a, double t0)
{
    bool tty = isatty(STDERR_FILENO) && !a->co.quiet;
    double next_progress = t0 + 5;
    while (!atomic_load(&s->stop))
    {
        sleep_ms(100);
        double now = now_seconds();
        if (got_signal || (a->duration > 0 && now - t0 >= a->duration))
            atomic_store(&s->stop, true);
        if (tty && now >= next_progress)
        {
            Totals t;
            totals_read(s, &t);
            fprintf(stderr, "workload: %.0f s, %llu committed (%.1f/s; cross-shard %llu, single-shard %llu), in "
                            "doubt %llu, errors %llu\n",
                    now - t0, t.cross + t.single, (t.cross + t.single) / (now - t0), t.cross, t.single, t.in_doubt,
                    t.errors);
            next_progress += 5;
        }
    }
}

/* The clients and the resolver, started and run to the end; returns the
 * clients' running time. */
static double
run_threads(Shared *s, const WorkloadArgs *a)
{
    /* Signals go to the main thread only: the others never see EINTR. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigset_t block, prev;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &prev);

    long clients = a->clients;
    Client *cl = xcalloc((size_t) clients, sizeof(Client));
    Resolver res = {.s = s, .conns = xcalloc(s->nshards + 1, sizeof(PGconn *))};
    double t0 = now_seconds();
    for (int i = 0; i < clients; i++)
    {
        cl[i].s = s;
        cl[i].id = i;
        cl[i].rng = (uint64_t) time(NULL) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t) getpid() << 16) ^ (uint64_t) (i + 1);
        if (cl[i].rng == 0)
            cl[i].rng = 1;
        cl[i].conns = xcalloc(s->nshards + 1, sizeof(PGconn *));
        pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
    }
    pthread_create(&res.thread, NULL, resolver_main, &res);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);

    wait_for_stop(s, a, t0);
    for (int i = 0; i < clients; i++)
    {
        pthread_join(cl[i].thread, NULL);
        for (size_t k = 0; k <= s->nshards; k++)
            PQfinish(cl[i].conns[k]);
        free(cl[i].conns);
    }
    double elapsed = now_seconds() - t0;
    atomic_store(&s->clients_done, true);
    pthread_join(res.thread, NULL);
    for (size_t k = 0; k <= s->nshards; k++)
        PQfinish(res.conns[k]);
    free(res.conns);
    free(cl);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return elapsed;
}

int
cmd_workload(int argc, char **argv)
{
    WorkloadArgs a = {.accounts = 100, .clients = 4, .duration = -1, .cross = 0.7, .ab_prep = 0.02,
                      .ab_dec = 0.02, .resolve_after = 3};
    common_options_init(&a.co);
    int code = parse_flags(argc, argv, &a);
    if (code == CLI_CONTINUE)
        code = check_flags(&a);
    if (code != CLI_CONTINUE)
        return code;
    Shared s;
    bool run;
    code = bank_prepare(&a, &s, &run);
    if (code != 0 || !run)
        return code;

    double elapsed = run_threads(&s, &a);
    report(&s, elapsed, a.co.json);
    if (s.pending)
    {
        size_t n = 0;
        for (InDoubt *d = s.pending; d; d = d->next)
            n++;
        if (a.leave)
            log_info("workload: left %zu global transaction(s) in doubt (--leave-in-doubt), e.g. %s", n,
                     s.pending->gtxid);
        else
            log_warn("workload: %zu global transaction(s) could not be resolved and remain in doubt, e.g. %s", n,
                     s.pending->gtxid);
    }
    int rc = 0;
    if (s.failed)
        rc = cli_fail(&s.fatal);
    shared_free(&s);
    return rc;
}
