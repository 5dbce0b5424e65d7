/* strata workload's resolver: finishes the global transactions clients
 * abandoned, after --resolve-after seconds (at once when the workload
 * stops, unless they are to be left in doubt), the way a recovering
 * coordinator would: by the commit log's decision. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/history.h"
#include "cluster/workload.h"
#include "common/util.h"

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
    bool decided;
    Error lookup_err;
    if (catalog_commit_decided(meta, "metadata primary", d->gtxid, NULL, &decided, &lookup_err) != 0)
        return -1;
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

void *
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
