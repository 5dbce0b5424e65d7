/* The API handlers' connections to the metadata database: each request
 * takes one for itself (an idle one, or a new one) and gives it back at
 * its end, so that requests served by different threads never share a
 * libpq connection and need no lock around them. */
#ifndef STRATA_META_CONNS_H
#define STRATA_META_CONNS_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>

#include "common/error.h"

typedef struct MetaConns
{
    pthread_mutex_t mu;
    const char *conninfo;   /* the manager's meta_conn */
    PGconn **idle;
    size_t nidle, cap;
} MetaConns;

void meta_conns_init(MetaConns *p, const char *conninfo);
/* An idle connection or a new one (catalog_connect); NULL with err when
 * the database does not answer. */
PGconn *meta_conns_take(MetaConns *p, Error *err);
/* Back to the idle ones (a broken one is closed instead). */
void meta_conns_give(MetaConns *p, PGconn *c);
/* Closes every idle connection. */
void meta_conns_close(MetaConns *p);

#endif
