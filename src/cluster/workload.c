/* strata workload: a bank under concurrency, moving money between accounts
 * on the same shard (one local transaction) and on different shards (two-
 * phase commit with the DESIGN §1 contract: PREPARE on every participant,
 * one INSERT into the commit log as the decision, COMMIT PREPARED). It
 * simulates crashing coordinators by abandoning some global transactions
 * after PREPARE or after the decision; a resolver thread finishes them
 * later the way a recovering coordinator would, so the cluster never
 * blocks for good but in-doubt transactions exist at any instant — which
 * is what a consistency point and a restore must cope with. */
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
#include "cluster/catalog.h"
#include "cluster/topology.h"
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

/* The session settings. A lock wait is bounded so that a client stuck
 * behind somebody's in-doubt transaction gives up and goes on (normal
 * waits last a transfer's few round trips, or a consistency point's
 * pause at worst); the
 * connection check makes a commit-log INSERT die with its client, so a
 * resolver that finds no decision after resolve-after seconds is not
 * contradicted by a late INSERT from a vanished client. */
#define SHARD_SESSION_SQL "SET client_min_messages = warning; SET lock_timeout = '2s'; SET statement_timeout = '60s'"
#define META_SESSION_SQL "SET statement_timeout = '60s'; SET client_connection_check_interval = '1s'"

/* A global transaction that its client abandoned (on purpose or because a
 * connection broke mid-protocol): the resolver's work list. */
typedef struct InDoubt
{
    char gtxid[160];
    int shard[2];
    long long account[2];
    double since;
    struct InDoubt *next;
} InDoubt;

typedef struct Shared
{
    const char *catalog_conninfo;
    char *cluster;
    size_t nshards;
    char **shard_names;
    char *meta_conninfo;   /* guarded by lock: replaced when the topology changes */
    char **shard_conninfo; /* [nshards], guarded by lock */
    long accounts;
    int clients;
    double cross_ratio, ab_prep, ab_dec, resolve_after;
    bool leave_in_doubt;
    char run_id[96];

    atomic_bool stop;         /* clients: finish the current transfer and return; resolver: hurry */
    atomic_bool clients_done; /* resolver: nothing new will come, return once done */
    atomic_ullong committed_cross, committed_single, abandoned_prep, abandoned_dec, errors, resolved_commit,
        resolved_rollback, reconnects;
    atomic_ullong in_doubt;

    pthread_mutex_t lock;
    InDoubt *pending;
    bool failed;
    Error fatal;
} Shared;

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
    got_signal = sig;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void
set_fatal(Shared *s, const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock(&s->lock);
    if (!s->failed)
    {
        s->failed = true;
        snprintf(s->fatal.msg, sizeof(s->fatal.msg), fmt, a, b);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->stop, true);
}

/* ---- SQL round trips ------------------------------------------------------ */

typedef enum
{
    Q_OK,
    Q_SQL_ERROR,  /* the server refused; the connection is fine */
    Q_CONN_ERROR  /* the connection broke: the outcome is unknown */
} QStatus;

typedef struct QResult
{
    QStatus st;
    char sqlstate[6];
    char msg[512];
    int inserted_one;   /* INSERT results that inserted exactly one row */
    char last_tag[64];  /* command tag of the last result */
} QResult;

/* Runs one or more statements in one round trip (simple query protocol)
 * and looks at every result, not just the last one. */
static QStatus
run_sql(PGconn *c, const char *sql, QResult *q)
{
    memset(q, 0, sizeof(*q));
    if (!c || !PQsendQuery(c, sql))
    {
        snprintf(q->msg, sizeof(q->msg), "%s", c ? PQerrorMessage(c) : "not connected");
        q->st = (!c || PQstatus(c) == CONNECTION_BAD) ? Q_CONN_ERROR : Q_SQL_ERROR;
        return q->st;
    }
    PGresult *r;
    bool error = false;
    while ((r = PQgetResult(c)) != NULL)
    {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE)
        {
            if (!error)
            {
                const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", ss ? ss : "");
                snprintf(q->msg, sizeof(q->msg), "%s", PQresultErrorMessage(r));
                q->msg[strcspn(q->msg, "\n")] = '\0';
            }
            error = true;
        }
        else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        {
            snprintf(q->last_tag, sizeof(q->last_tag), "%s", PQcmdStatus(r));
            if (!strncmp(q->last_tag, "INSERT", 6) && !strcmp(PQcmdTuples(r), "1"))
                q->inserted_one++;
        }
        PQclear(r);
    }
    if (PQstatus(c) == CONNECTION_BAD)
        q->st = Q_CONN_ERROR;
    else
        q->st = error ? Q_SQL_ERROR : Q_OK;
    return q->st;
}

/* Errors that retrying cannot cure: the bank is not there (no --init),
 * or strata's catalog is missing. Everything else (lock timeouts,
 * deadlocks, serialization failures, shutdowns) is counted and retried. */
static bool
sqlstate_is_fatal(const char *ss)
{
    return !strncmp(ss, "42", 2) || !strncmp(ss, "3D", 2) || !strncmp(ss, "3F", 2) || !strncmp(ss, "28", 2);
}

/* Leaves no open transaction behind after an error. */
static void
session_reset(PGconn *c)
{
    if (!c || PQstatus(c) != CONNECTION_OK)
        return;
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(c, "ROLLBACK"));
}

/* ---- topology changes ------------------------------------------------------ */

/* After a connection failure: re-read the topology from the catalog, so a
 * failover that re-registered the cluster with a new primary is followed. */
static void
refresh_topology(Shared *s)
{
    Error err;
    PGconn *cat = catalog_connect(s->catalog_conninfo, false, &err);
    if (!cat)
        return;
    Topology t;
    if (topology_load(cat, s->cluster, &t, &err) == 0)
    {
        pthread_mutex_lock(&s->lock);
        char *mci = topology_meta_conninfo(&t, &err);
        if (mci)
        {
            free(s->meta_conninfo);
            s->meta_conninfo = mci;
        }
        for (size_t i = 0; i < s->nshards; i++)
        {
            const ReplicaSet *rs = topology_shard(&t, s->shard_names[i]);
            char *ci = rs ? topology_shard_conninfo(&t, rs, &err) : NULL;
            if (ci)
            {
                free(s->shard_conninfo[i]);
                s->shard_conninfo[i] = ci;
            }
        }
        pthread_mutex_unlock(&s->lock);
        topology_free(&t);
    }
    PQfinish(cat);
}

/* Server notices ("terminating connection due to immediate shutdown")
 * would interleave with the report; failures are counted instead. */
static void
ignore_notice(void *arg, const char *message)
{
}

/* Connection slot `idx` (a shard, or nshards for the metadata primary);
 * retries until connected or told to stop. */
static PGconn *
connect_slot(Shared *s, size_t idx)
{
    int attempt = 0;
    for (;;)
    {
        pthread_mutex_lock(&s->lock);
        char *ci = xstrdup(idx == s->nshards ? s->meta_conninfo : s->shard_conninfo[idx]);
        pthread_mutex_unlock(&s->lock);
        Error err;
        char what[128];
        snprintf(what, sizeof(what), "%s primary", idx == s->nshards ? "metadata" : s->shard_names[idx]);
        PGconn *c = pg_connect(ci, what, &err);
        free(ci);
        if (c)
        {
            PQsetNoticeProcessor(c, ignore_notice, NULL);
            PQclear(PQexec(c, idx == s->nshards ? META_SESSION_SQL : SHARD_SESSION_SQL));
            return c;
        }
        if (attempt++ == 0)
            log_warn("workload: %s; retrying", err.msg);
        if (atomic_load(&s->stop))
            return NULL;
        sleep_ms(500);
        refresh_topology(s);
    }
}

/* ---- the in-doubt list ------------------------------------------------------- */

static void
hand_to_resolver(Shared *s, const char *gtxid, const int shard[2], const long long account[2])
{
    InDoubt *d = xcalloc(1, sizeof(*d));
    snprintf(d->gtxid, sizeof(d->gtxid), "%s", gtxid);
    memcpy(d->shard, shard, sizeof(d->shard));
    memcpy(d->account, account, sizeof(d->account));
    d->since = now_seconds();
    pthread_mutex_lock(&s->lock);
    d->next = s->pending;
    s->pending = d;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&s->in_doubt, 1);
}

/* Clients steer clear of accounts that an abandoned transaction holds
 * locked: a real coordinator crash would block them until resolution, but
 * the point here is throughput while in-doubt transactions exist. */
static bool
account_in_doubt(Shared *s, long long a, long long b)
{
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    for (InDoubt *d = s->pending; d && !hit; d = d->next)
        hit = d->account[0] == a || d->account[1] == a || d->account[0] == b || d->account[1] == b;
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/* ---- clients ------------------------------------------------------------------ */

typedef struct Client
{
    Shared *s;
    int id;
    uint64_t rng;
    unsigned long long seq;
    PGconn **conns; /* [nshards + 1]: shards, then the metadata primary */
    pthread_t thread;
} Client;

static uint64_t
rng_next(uint64_t *x)
{
    /* xorshift64*: per client, no locking, plenty for picking accounts */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 2685821657736338717ULL;
}

static double
rng_unit(uint64_t *x)
{
    return (double) (rng_next(x) >> 11) / (double) (1ULL << 53);
}

static PGconn *
client_conn(Client *c, size_t idx)
{
    if (c->conns[idx] && PQstatus(c->conns[idx]) == CONNECTION_OK)
        return c->conns[idx];
    if (c->conns[idx])
    {
        PQfinish(c->conns[idx]);
        c->conns[idx] = NULL;
        atomic_fetch_add(&c->s->reconnects, 1);
    }
    c->conns[idx] = connect_slot(c->s, idx);
    return c->conns[idx];
}

/* A failed statement: fatal (stop the workload) or one more error. */
static void
client_error(Client *c, const char *where, const QResult *q)
{
    if (q->st == Q_SQL_ERROR && sqlstate_is_fatal(q->sqlstate))
    {
        set_fatal(c->s, "workload: %s: %s", where, q->msg);
        return;
    }
    atomic_fetch_add(&c->s->errors, 1);
}

static void
single_shard_transfer(Client *c, int shard, long long a, long long b, long long amount)
{
    Shared *s = c->s;
    PGconn *conn = client_conn(c, (size_t) shard);
    if (!conn)
        return;
    char id[160];
    snprintf(id, sizeof(id), BANK_SINGLE_PREFIX "%s-%d-%llu", s->run_id, c->id, ++c->seq);
    /* a pays b; the lower account id is locked first, as everywhere */
    long long lo = a < b ? a : b, hi = a < b ? b : a;
    long long dlo = lo == a ? -amount : amount, dhi = -dlo;
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "WITH u AS (UPDATE public.accounts SET balance = balance + (%lld) WHERE id = %lld RETURNING id) "
             "INSERT INTO public.transfers (transfer_id, account_id, delta) SELECT '%s', id, %lld FROM u;"
             "WITH u AS (UPDATE public.accounts SET balance = balance + (%lld) WHERE id = %lld RETURNING id) "
             "INSERT INTO public.transfers (transfer_id, account_id, delta) SELECT '%s', id, %lld FROM u",
             dlo, lo, id, dlo, dhi, hi, id, dhi);
    QResult q;
    if (run_sql(conn, sql, &q) != Q_OK)
    {
        session_reset(conn);
        client_error(c, s->shard_names[shard], &q);
        return;
    }
    if (q.inserted_one != 2)
    {
        session_reset(conn);
        set_fatal(s, "workload: on the %s primary, %s", s->shard_names[shard],
                  "an account of the transfer does not exist (was the bank created with --init?)");
        return;
    }
    if (run_sql(conn, "COMMIT", &q) != Q_OK || strcmp(q.last_tag, "COMMIT") != 0)
    {
        session_reset(conn);
        client_error(c, s->shard_names[shard], &q);
        return;
    }
    atomic_fetch_add(&s->committed_single, 1);
}

/* ROLLBACK PREPARED on the participants that prepared; those we cannot
 * reach go to the resolver (no decision row: it rolls them back too). */
static void
abort_prepared(Client *c, const char *gtxid, const int shard[2], const long long account[2], const bool prepared[2])
{
    char sql[256];
    snprintf(sql, sizeof(sql), "ROLLBACK PREPARED '%s'", gtxid);
    for (int i = 0; i < 2; i++)
    {
        if (!prepared[i])
            continue;
        QResult q;
        if (run_sql(client_conn(c, (size_t) shard[i]), sql, &q) != Q_OK && strcmp(q.sqlstate, "42704") != 0)
        {
            hand_to_resolver(c->s, gtxid, shard, account);
            return;
        }
    }
}

static void
cross_shard_transfer(Client *c, int sa, long long a, int sb, long long b, long long amount)
{
    Shared *s = c->s;
    char gtxid[160];
    snprintf(gtxid, sizeof(gtxid), BANK_CROSS_PREFIX "%s-%d-%llu", s->run_id, c->id, ++c->seq);
    /* Participants in account id order: every client locks rows in the
     * same global order, so no distributed deadlock (which no single
     * server could detect) can form. */
    int shard[2];
    long long account[2], delta[2];
    if (a < b)
    {
        shard[0] = sa, account[0] = a, delta[0] = -amount;
        shard[1] = sb, account[1] = b, delta[1] = amount;
    }
    else
    {
        shard[0] = sb, account[0] = b, delta[0] = amount;
        shard[1] = sa, account[1] = a, delta[1] = -amount;
    }
    bool prepared[2] = {false, false};
    /* 1. PREPARE TRANSACTION on every participant. */
    for (int i = 0; i < 2; i++)
    {
        PGconn *conn = client_conn(c, (size_t) shard[i]);
        if (!conn)
        {
            abort_prepared(c, gtxid, shard, account, prepared);
            return;
        }
        char sql[1024];
        snprintf(sql, sizeof(sql),
                 "BEGIN;"
                 "WITH u AS (UPDATE public.accounts SET balance = balance + (%lld) WHERE id = %lld RETURNING id) "
                 "INSERT INTO public.transfers (transfer_id, account_id, delta) SELECT '%s', id, %lld FROM u;"
                 "PREPARE TRANSACTION '%s'",
                 delta[i], account[i], gtxid, delta[i], gtxid);
        QResult q;
        QStatus st = run_sql(conn, sql, &q);
        if (st == Q_CONN_ERROR)
        {
            /* It may have prepared before the connection broke. */
            prepared[i] = true;
            hand_to_resolver(s, gtxid, shard, account);
            atomic_fetch_add(&s->errors, 1);
            return;
        }
        if (st == Q_SQL_ERROR)
        {
            session_reset(conn);
            client_error(c, s->shard_names[shard[i]], &q);
            abort_prepared(c, gtxid, shard, account, prepared);
            return;
        }
        prepared[i] = true;
        if (q.inserted_one != 1)
        {
            abort_prepared(c, gtxid, shard, account, prepared);
            char acc[32];
            snprintf(acc, sizeof(acc), "%lld", account[i]);
            set_fatal(s, "workload: on the %s primary, account %s does not exist (was the bank created with --init?)",
                      s->shard_names[shard[i]], acc);
            return;
        }
    }
    double u = rng_unit(&c->rng);
    if (u < s->ab_prep)
    {
        /* a coordinator that dies between PREPARE and its decision */
        hand_to_resolver(s, gtxid, shard, account);
        atomic_fetch_add(&s->abandoned_prep, 1);
        return;
    }
    /* 2. The decision: one autocommitted INSERT into the commit log. */
    PGconn *meta = client_conn(c, s->nshards);
    char parts[2 * TOPO_NAME_MAX + 8];
    snprintf(parts, sizeof(parts), "{%s,%s}", s->shard_names[shard[0]], s->shard_names[shard[1]]);
    const char *params[] = {gtxid, parts};
    QResult q;
    memset(&q, 0, sizeof(q));
    q.st = Q_CONN_ERROR;
    if (meta)
    {
        PGresult *r = PQexecParams(meta, "INSERT INTO strata.commit_log (gtxid, participants) VALUES ($1, $2::text[])",
                                   2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            q.st = Q_OK;
        else
        {
            const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            snprintf(q.sqlstate, sizeof(q.sqlstate), "%s", ss ? ss : "");
            snprintf(q.msg, sizeof(q.msg), "%s", PQerrorMessage(meta));
            q.msg[strcspn(q.msg, "\n")] = '\0';
            q.st = PQstatus(meta) == CONNECTION_BAD ? Q_CONN_ERROR : Q_SQL_ERROR;
        }
        PQclear(r);
    }
    if (q.st == Q_CONN_ERROR)
    {
        /* Decided or not, we cannot tell: the resolver reads the log. */
        hand_to_resolver(s, gtxid, shard, account);
        atomic_fetch_add(&s->errors, 1);
        return;
    }
    if (q.st == Q_SQL_ERROR)
    {
        /* The server refused the INSERT: no decision, so abort. */
        client_error(c, "metadata primary (commit log)", &q);
        abort_prepared(c, gtxid, shard, account, prepared);
        return;
    }
    if (u < s->ab_prep + s->ab_dec)
    {
        /* a coordinator that dies between its decision and COMMIT PREPARED */
        hand_to_resolver(s, gtxid, shard, account);
        atomic_fetch_add(&s->abandoned_dec, 1);
        return;
    }
    /* 3. COMMIT PREPARED on every participant. */
    char sql[256];
    snprintf(sql, sizeof(sql), "COMMIT PREPARED '%s'", gtxid);
    for (int i = 0; i < 2; i++)
    {
        PGconn *conn = client_conn(c, (size_t) shard[i]);
        if (!conn || run_sql(conn, sql, &q) != Q_OK)
        {
            /* Decided: the resolver will commit what is left. */
            hand_to_resolver(s, gtxid, shard, account);
            atomic_fetch_add(&s->errors, 1);
            return;
        }
    }
    atomic_fetch_add(&s->committed_cross, 1);
}

static void *
client_main(void *arg)
{
    Client *c = arg;
    Shared *s = c->s;
    long long n = s->accounts;
    while (!atomic_load(&s->stop))
    {
        bool cross = s->nshards > 1 && rng_unit(&c->rng) < s->cross_ratio;
        long long amount = 1 + (long long) (rng_next(&c->rng) % 100);
        int sa, sb;
        long long a, b;
        int tries = 0;
        do
        {
            sa = (int) (rng_next(&c->rng) % s->nshards);
            if (cross)
            {
                sb = (int) (rng_next(&c->rng) % (s->nshards - 1));
                if (sb >= sa)
                    sb++;
                a = (long long) sa * BANK_SHARD_SPAN + (long long) (rng_next(&c->rng) % (uint64_t) n);
                b = (long long) sb * BANK_SHARD_SPAN + (long long) (rng_next(&c->rng) % (uint64_t) n);
            }
            else
            {
                sb = sa;
                long long i = (long long) (rng_next(&c->rng) % (uint64_t) n);
                long long j = (long long) (rng_next(&c->rng) % (uint64_t) (n - 1));
                if (j >= i)
                    j++;
                a = (long long) sa * BANK_SHARD_SPAN + i;
                b = (long long) sa * BANK_SHARD_SPAN + j;
            }
        } while (account_in_doubt(s, a, b) && ++tries < 20);
        if (cross)
            cross_shard_transfer(c, sa, a, sb, b, amount);
        else
            single_shard_transfer(c, sa, a, b, amount);
    }
    return NULL;
}

/* ---- the resolver ---------------------------------------------------------------- */

typedef struct Resolver
{
    Shared *s;
    PGconn **conns; /* [nshards + 1] */
    pthread_t thread;
} Resolver;

static PGconn *
resolver_conn(Resolver *r, size_t idx)
{
    if (r->conns[idx] && PQstatus(r->conns[idx]) == CONNECTION_OK)
        return r->conns[idx];
    PQfinish(r->conns[idx]);
    r->conns[idx] = connect_slot(r->s, idx);
    return r->conns[idx];
}

/* Finishes one abandoned global transaction like a recovering
 * coordinator: COMMIT PREPARED if its decision is in the commit log, else
 * ROLLBACK PREPARED, on every participant. A participant that no longer
 * has it (42704: finished before the client gave up, or never prepared)
 * is done. Returns 0 when finished, -1 to retry later. */
static int
resolve_one(Resolver *r, const InDoubt *d)
{
    Shared *s = r->s;
    PGconn *meta = resolver_conn(r, s->nshards);
    if (!meta)
        return -1;
    const char *params[] = {d->gtxid};
    PGresult *res = PQexecParams(meta, "SELECT count(*) FROM strata.commit_log WHERE gtxid = $1", 1, NULL, params,
                                 NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        PQclear(res);
        return -1;
    }
    bool decided = atol(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    char sql[256];
    snprintf(sql, sizeof(sql), "%s PREPARED '%s'", decided ? "COMMIT" : "ROLLBACK", d->gtxid);
    for (int i = 0; i < 2; i++)
    {
        PGconn *c = resolver_conn(r, (size_t) d->shard[i]);
        QResult q;
        if (!c || (run_sql(c, sql, &q) != Q_OK && strcmp(q.sqlstate, "42704") != 0))
            return -1;
    }
    atomic_fetch_add(decided ? &s->resolved_commit : &s->resolved_rollback, 1);
    atomic_fetch_sub(&s->in_doubt, 1);
    return 0;
}

static void *
resolver_main(void *arg)
{
    Resolver *r = arg;
    Shared *s = r->s;
    double deadline = 0;
    for (;;)
    {
        /* Once the workload stops, abandoned transactions are resolved at
         * once (clients waiting for their locks can then finish), unless
         * they are to be left in doubt. */
        bool done = atomic_load(&s->clients_done);
        bool urgent = atomic_load(&s->stop) && !s->leave_in_doubt;
        if (done && s->leave_in_doubt)
            break;
        if (urgent && deadline == 0)
            deadline = now_seconds() + 60;
        double now = now_seconds();
        /* Take the due entries out of the list, so that no lock is held
         * across a round trip. */
        InDoubt *due = NULL, **pp;
        pthread_mutex_lock(&s->lock);
        pp = &s->pending;
        while (*pp)
        {
            InDoubt *d = *pp;
            if (urgent || d->since + s->resolve_after <= now)
            {
                *pp = d->next;
                d->next = due;
                due = d;
            }
            else
                pp = &d->next;
        }
        bool empty = s->pending == NULL && due == NULL;
        pthread_mutex_unlock(&s->lock);
        if (done && empty)
            break;
        if (urgent && now > deadline)
        {
            /* put them back: reported as left in doubt */
            pthread_mutex_lock(&s->lock);
            while (due)
            {
                InDoubt *d = due;
                due = d->next;
                d->next = s->pending;
                s->pending = d;
            }
            pthread_mutex_unlock(&s->lock);
            break;
        }
        bool failed = false;
        while (due)
        {
            InDoubt *d = due;
            due = d->next;
            if (resolve_one(r, d) == 0)
                free(d);
            else
            {
                failed = true;
                /* back into the list; accounts stay avoided */
                pthread_mutex_lock(&s->lock);
                d->next = s->pending;
                s->pending = d;
                pthread_mutex_unlock(&s->lock);
            }
        }
        sleep_ms(failed ? 500 : 100);
    }
    return NULL;
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
    const char *params[] = {t->name, total, acc};
    PGresult *r = pg_exec(cc->meta, "metadata primary", "BEGIN", 0, NULL, err);
    if (!r)
        return -1;
    PQclear(r);
    r = pg_exec(cc->meta, "metadata primary", "DELETE FROM strata.commit_log", 0, NULL, err);
    if (r)
    {
        PQclear(r);
        r = pg_exec(cc->meta, "metadata primary",
                    "INSERT INTO strata.workload (cluster, initial_total, accounts) VALUES ($1, $2::bigint, $3::int) "
                    "ON CONFLICT (cluster) DO UPDATE SET initial_total = excluded.initial_total, "
                    "accounts = excluded.accounts",
                    3, params, err);
    }
    if (r)
    {
        PQclear(r);
        r = pg_exec(cc->meta, "metadata primary", "COMMIT", 0, NULL, err);
    }
    if (!r)
    {
        PQclear(PQexec(cc->meta, "ROLLBACK"));
        return error_prefix(err, "recording the workload of cluster %s: ", t->name);
    }
    PQclear(r);
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
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
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

int
cmd_workload(int argc, char **argv)
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
    CommonOptions co;
    common_options_init(&co);
    const char *meta_conn = NULL, *cluster = NULL;
    bool init = false, leave = false, accounts_given = false;
    long accounts = 100, clients = 4;
    double duration = -1, cross = 0.7, ab_prep = 0.02, ab_dec = 0.02, resolve_after = 3;
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
        code = CLI_CONTINUE;
        switch (c)
        {
            case OPT_META_CONN: meta_conn = optarg; break;
            case OPT_CLUSTER: cluster = optarg; break;
            case OPT_INIT: init = true; break;
            case OPT_LEAVE: leave = true; break;
            case OPT_ACCOUNTS:
                if (parse_int_range(optarg, 2, BANK_SHARD_SPAN - 1, &accounts, &err) != 0)
                    return cli_usage_error(cmd, "--accounts: %s", err.msg);
                accounts_given = true;
                break;
            case OPT_CLIENTS:
                if (parse_int_range(optarg, 1, 256, &clients, &err) != 0)
                    return cli_usage_error(cmd, "--clients: %s", err.msg);
                break;
            case OPT_DURATION: code = parse_double_opt(cmd, "--duration", optarg, 0, 366 * 86400.0, &duration); break;
            case OPT_CROSS: code = parse_double_opt(cmd, "--cross-shard-ratio", optarg, 0, 1, &cross); break;
            case OPT_AB_PREP: code = parse_double_opt(cmd, "--abandon-prepared-ratio", optarg, 0, 1, &ab_prep); break;
            case OPT_AB_DEC: code = parse_double_opt(cmd, "--abandon-decided-ratio", optarg, 0, 1, &ab_dec); break;
            case OPT_RESOLVE_AFTER:
                code = parse_double_opt(cmd, "--resolve-after", optarg, 0, 86400, &resolve_after);
                break;
            default: return cli_bad_option(cmd, argv, c);
        }
        if (code != CLI_CONTINUE)
            return code;
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!meta_conn)
        return cli_usage_error(cmd, "--meta-conn is required (the metadata primary's connection string)");
    if (!cluster)
        return cli_usage_error(cmd, "--cluster NAME is required");
    if (topology_name_check("--cluster", cluster, &err) != 0)
        return cli_usage_error(cmd, "%s", err.msg);
    if (ab_prep + ab_dec > 1)
        return cli_usage_error(cmd, "--abandon-prepared-ratio + --abandon-decided-ratio is %g, more than 1",
                               ab_prep + ab_dec);
    if (accounts_given && !init)
        return cli_usage_error(cmd, "--accounts applies with --init only (the bank's size is fixed when created)");
    if (duration == 0 && !init)
        return cli_usage_error(cmd, "--duration 0 does nothing without --init");

    ClusterConns cc;
    if (cluster_conns_open(meta_conn, cluster, true, &cc, &err) != 0)
        return cli_fail(&err);
    if (init)
    {
        if (bank_init(&cc, accounts, &err) != 0)
        {
            cluster_conns_close(&cc);
            return cli_fail(&err);
        }
        log_info("workload: bank created on %zu shard(s): %ld accounts each, total %lld", cc.topo.nshards, accounts,
                 (long long) cc.topo.nshards * accounts * BANK_INITIAL_BALANCE);
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
        error_set(&err, "cluster %s has no bank yet: run strata workload --init first", cluster);
        return cli_fail(&err);
    }
    if (duration == 0)
    {
        bank_info_free(&bank);
        cluster_conns_close(&cc);
        return 0;
    }

    Shared s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.lock, NULL);
    s.catalog_conninfo = meta_conn;
    s.cluster = xstrdup(cluster);
    s.nshards = cc.topo.nshards;
    s.shard_names = xcalloc(s.nshards, sizeof(char *));
    s.shard_conninfo = xcalloc(s.nshards, sizeof(char *));
    for (size_t i = 0; i < s.nshards; i++)
    {
        s.shard_names[i] = xstrdup(cc.topo.shards[i].name);
        s.shard_conninfo[i] = xstrdup(cc.shard_conninfo[i]);
    }
    s.meta_conninfo = xstrdup(cc.meta_conninfo);
    s.accounts = bank.accounts;
    s.clients = (int) clients;
    s.cross_ratio = cross;
    s.ab_prep = ab_prep;
    s.ab_dec = ab_dec;
    s.resolve_after = resolve_after;
    s.leave_in_doubt = leave;
    /* Unique across runs and hosts' process ids: a gtxid reused after a
     * restart would collide with the commit log's primary key and, worse,
     * merge two transfers in the consistency check. */
    snprintf(s.run_id, sizeof(s.run_id), "%s-%lx-%ld", cluster, (unsigned long) time(NULL), (long) getpid());
    bank_info_free(&bank);
    cluster_conns_close(&cc);

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

    Client *cl = xcalloc((size_t) clients, sizeof(Client));
    Resolver res = {.s = &s, .conns = xcalloc(s.nshards + 1, sizeof(PGconn *))};
    double t0 = now_seconds();
    for (int i = 0; i < clients; i++)
    {
        cl[i].s = &s;
        cl[i].id = i;
        cl[i].rng = (uint64_t) time(NULL) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t) getpid() << 16) ^ (uint64_t) (i + 1);
        if (cl[i].rng == 0)
            cl[i].rng = 1;
        cl[i].conns = xcalloc(s.nshards + 1, sizeof(PGconn *));
        pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
    }
    pthread_create(&res.thread, NULL, resolver_main, &res);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);

    bool tty = isatty(STDERR_FILENO) && !co.quiet;
    double next_progress = t0 + 5;
    while (!atomic_load(&s.stop))
    {
        sleep_ms(100);
        double now = now_seconds();
        if (got_signal || (duration > 0 && now - t0 >= duration))
            atomic_store(&s.stop, true);
        if (tty && now >= next_progress)
        {
            Totals t;
            totals_read(&s, &t);
            fprintf(stderr, "workload: %.0f s, %llu committed (%.1f/s; cross-shard %llu, single-shard %llu), in "
                            "doubt %llu, errors %llu\n",
                    now - t0, t.cross + t.single, (t.cross + t.single) / (now - t0), t.cross, t.single, t.in_doubt,
                    t.errors);
            next_progress += 5;
        }
    }
    for (int i = 0; i < clients; i++)
    {
        pthread_join(cl[i].thread, NULL);
        for (size_t k = 0; k <= s.nshards; k++)
            PQfinish(cl[i].conns[k]);
        free(cl[i].conns);
    }
    double elapsed = now_seconds() - t0;
    atomic_store(&s.clients_done, true);
    pthread_join(res.thread, NULL);
    for (size_t k = 0; k <= s.nshards; k++)
        PQfinish(res.conns[k]);
    free(res.conns);
    free(cl);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    report(&s, elapsed, co.json);
    if (s.pending)
    {
        size_t n = 0;
        for (InDoubt *d = s.pending; d; d = d->next)
            n++;
        if (leave)
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
