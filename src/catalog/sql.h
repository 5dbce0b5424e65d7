/* The one way the catalog modules run a statement: text parameters, the
 * result status expected, and an error naming what was being done. */
#ifndef STRATA_CATALOG_SQL_H
#define STRATA_CATALOG_SQL_H

#include <libpq-fe.h>

#include "common/error.h"

/* Runs sql (with nparams text parameters; with none, through PQexec, so a
 * script of several statements runs too) and expects `want` back. Returns
 * the result (caller PQclears), or NULL with err "what: <the server's
 * message, first line>". */
PGresult *catalog_exec(PGconn *c, const char *what, ExecStatusType want, const char *sql, int nparams,
                       const char *const *params, Error *err);

/* As catalog_exec for a statement that returns nothing the caller reads. */
int catalog_run(PGconn *c, const char *what, ExecStatusType want, const char *sql, int nparams,
                const char *const *params, Error *err);

#endif
