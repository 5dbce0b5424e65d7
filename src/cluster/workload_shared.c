/* What strata workload's threads share (workload.h): round trips that
 * look at every result, connections that follow the cluster's topology
 * through a failover, and the list of abandoned global transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cluster/topology.h"
#include "cluster/workload.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

/* The session settings. A lock wait is bounded so that a client stuck
 * behind somebody's in-doubt transaction gives up and goes on (normal
 * waits last a transfer's few round trips, or a consistency point's
 * pause at worst); the
 * connection check makes a commit-log INSERT die with its client, so a
 * resolver that finds no decision after resolve-after seconds is not
 * contradicted by a late INSERT from a vanished client. */
#define SHARD_SESSION_SQL "SET client_min_messages = warning; SET lock_timeout = '2s'; SET statement_timeout = '60s'"
#define META_SESSION_SQL "SET statement_timeout = '60s'; SET client_connection_check_interval = '1s'"

void
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

QStatus
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

bool
sqlstate_is_fatal(const char *ss)
{
    return !strncmp(ss, "42", 2) || !strncmp(ss, "3D", 2) || !strncmp(ss, "3F", 2) || !strncmp(ss, "28", 2);
}

/* Leaves no open transaction behind after an error. */
void
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
PGconn *
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

void
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
bool
account_in_doubt(Shared *s, long long a, long long b)
{
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    for (InDoubt *d = s->pending; d && !hit; d = d->next)
        hit = d->account[0] == a || d->account[1] == a || d->account[0] == b || d->account[1] == b;
    pthread_mutex_unlock(&s->lock);
    return hit;
}
