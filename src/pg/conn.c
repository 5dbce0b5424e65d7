#include "pg/conn.h"

#include <string.h>

#include "common/util.h"

static void
strip_newline(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

PGconn *
pg_connect(const char *conninfo, const char *what, Error *err)
{
    /* connect_timeout comes before dbname so that a conninfo naming its own
     * wins; without one, an unreachable host cannot hang us forever. */
    const char *const keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
    const char *const vals[] = {"10", conninfo ? conninfo : "", "strata", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK)
    {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
        strip_newline(msg);
        error_set(err, "cannot connect to the %s (%s): %s", what, conninfo && *conninfo ? conninfo : "libpq defaults",
                  msg);
        PQfinish(conn);
        return NULL;
    }
    PGresult *r = PQexec(conn, "SET statement_timeout = 0; SET search_path = pg_catalog");
    PQclear(r);
    return conn;
}

PGresult *
pg_exec(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params, Error *err)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
        strip_newline(msg);
        error_set(err, "on the %s, %s failed: %s", what, sql, msg);
        PQclear(r);
        return NULL;
    }
    return r;
}

char *
pg_query_value(PGconn *conn, const char *what, const char *sql, Error *err)
{
    PGresult *r = pg_exec(conn, what, sql, 0, NULL, err);
    if (!r)
        return NULL;
    if (PQntuples(r) < 1 || PQgetisnull(r, 0, 0))
    {
        error_set(err, "on the %s, %s returned no value", what, sql);
        PQclear(r);
        return NULL;
    }
    char *v = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}
