/* libpq helpers: connect with a clear error, run a query expecting rows. */
#ifndef STRATA_CONN_H
#define STRATA_CONN_H

#include <libpq-fe.h>

#include "common/error.h"

/* `what` names the instance in messages ("standby", "primary"). */
PGconn *pg_connect(const char *conninfo, const char *what, Error *err);
/* As pg_connect, but gives up after timeout_ms (of wall time, for the whole
 * connection set-up, in milliseconds rather than libpq's whole seconds). */
PGconn *pg_connect_within(const char *conninfo, const char *what, int timeout_ms, Error *err);
/* Runs SQL with text parameters; expects tuples (or a command) back.
 * On error returns NULL with the server's message. */
PGresult *pg_exec(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params,
                  Error *err);
/* First column of the first row, or NULL (error set) if none. Caller frees. */
char *pg_query_value(PGconn *conn, const char *what, const char *sql, Error *err);

#endif
