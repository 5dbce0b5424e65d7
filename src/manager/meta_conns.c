#include "manager/meta_conns.h"

#include <stdlib.h>

#include "catalog/catalog.h"
#include "common/util.h"

void
meta_conns_init(MetaConns *p, const char *conninfo)
{
    pthread_mutex_init(&p->mu, NULL);
    p->conninfo = conninfo;
    p->idle = NULL;
    p->nidle = p->cap = 0;
}

PGconn *
meta_conns_take(MetaConns *p, Error *err)
{
    pthread_mutex_lock(&p->mu);
    PGconn *c = p->nidle ? p->idle[--p->nidle] : NULL;
    pthread_mutex_unlock(&p->mu);
    /* Connecting happens outside the lock: a slow database delays only
     * this request. */
    return c ? c : catalog_connect(p->conninfo, false, err);
}

void
meta_conns_give(MetaConns *p, PGconn *c)
{
    if (!c)
        return;
    /* A connection in a transaction or a broken one is not reused. */
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE)
    {
        PQfinish(c);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->nidle == p->cap)
        p->idle = xrealloc(p->idle, (p->cap = p->cap ? 2 * p->cap : 8) * sizeof(PGconn *));
    p->idle[p->nidle++] = c;
    pthread_mutex_unlock(&p->mu);
}

void
meta_conns_close(MetaConns *p)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    free(p->idle);
    p->idle = NULL;
    p->nidle = p->cap = 0;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
}
