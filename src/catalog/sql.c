/* catalog_exec: see sql.h. */
#include "catalog/sql.h"

#include <stdio.h>
#include <string.h>

PGresult *
catalog_exec(PGconn *c, const char *what, ExecStatusType want, const char *sql, int nparams,
             const char *const *params, Error *err)
{
    PGresult *r = nparams > 0 ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    if (PQresultStatus(r) == want)
        return r;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(r);
    error_set(err, "%s: %s", what, msg);
    return NULL;
}

int
catalog_run(PGconn *c, const char *what, ExecStatusType want, const char *sql, int nparams,
            const char *const *params, Error *err)
{
    PGresult *r = catalog_exec(c, what, want, sql, nparams, params, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}
