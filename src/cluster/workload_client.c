/* strata workload's clients: each moves money between random accounts,
 * on one shard (one local transaction) or between two (two-phase commit
 * with the DESIGN §1 contract), and abandons some global transactions on
 * purpose, after PREPARE or after the decision, for the resolver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/workload.h"
#include "cluster/bank.h"
#include "cluster/topology.h"
#include "cluster/workload.h"
#include "common/util.h"

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

/* 1. PREPARE TRANSACTION on every participant. False when the transfer
 * ends here: aborted, handed to the resolver, or a fatal error. */
static bool
prepare_all(Client *c, const char *gtxid, const int shard[2], const long long account[2], const long long delta[2],
            bool prepared[2])
{
    Shared *s = c->s;
    for (int i = 0; i < 2; i++)
    {
        PGconn *conn = client_conn(c, (size_t) shard[i]);
        if (!conn)
        {
            abort_prepared(c, gtxid, shard, account, prepared);
            return false;
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
            return false;
        }
        if (st == Q_SQL_ERROR)
        {
            session_reset(conn);
            client_error(c, s->shard_names[shard[i]], &q);
            abort_prepared(c, gtxid, shard, account, prepared);
            return false;
        }
        prepared[i] = true;
        if (q.inserted_one != 1)
        {
            abort_prepared(c, gtxid, shard, account, prepared);
            char acc[32];
            snprintf(acc, sizeof(acc), "%lld", account[i]);
            set_fatal(s, "workload: on the %s primary, account %s does not exist (was the bank created with --init?)",
                      s->shard_names[shard[i]], acc);
            return false;
        }
    }
    return true;
}

/* 2. The decision: one autocommitted INSERT into the commit log; *q says
 * how it went (Q_CONN_ERROR: decided or not, nobody can tell). */
static void
record_decision(Client *c, const char *gtxid, const int shard[2], QResult *q)
{
    Shared *s = c->s;
    PGconn *meta = client_conn(c, s->nshards);
    char parts[2 * TOPO_NAME_MAX + 8];
    snprintf(parts, sizeof(parts), "{%s,%s}", s->shard_names[shard[0]], s->shard_names[shard[1]]);
    memset(q, 0, sizeof(*q));
    q->st = Q_CONN_ERROR;
    if (!meta)
        return;
    PGresult *r = catalog_commit_log_record(meta, gtxid, parts);
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        q->st = Q_OK;
    else
    {
        const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", ss ? ss : "");
        snprintf(q->msg, sizeof(q->msg), "%s", PQerrorMessage(meta));
        q->msg[strcspn(q->msg, "\n")] = '\0';
        q->st = PQstatus(meta) == CONNECTION_BAD ? Q_CONN_ERROR : Q_SQL_ERROR;
    }
    PQclear(r);
}

/* 3. COMMIT PREPARED on every participant. */
static void
commit_all(Client *c, const char *gtxid, const int shard[2], const long long account[2])
{
    Shared *s = c->s;
    char sql[256];
    snprintf(sql, sizeof(sql), "COMMIT PREPARED '%s'", gtxid);
    for (int i = 0; i < 2; i++)
    {
        PGconn *conn = client_conn(c, (size_t) shard[i]);
        QResult q;
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
    if (!prepare_all(c, gtxid, shard, account, delta, prepared))
        return;
    double u = rng_unit(&c->rng);
    if (u < s->ab_prep)
    {
        /* a coordinator that dies between PREPARE and its decision */
        hand_to_resolver(s, gtxid, shard, account);
        atomic_fetch_add(&s->abandoned_prep, 1);
        return;
    }
    QResult q;
    record_decision(c, gtxid, shard, &q);
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
    commit_all(c, gtxid, shard, account);
}

void *
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
