#include "pg/conn.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

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

static double
monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

PGconn *
pg_connect_within(const char *conninfo, const char *what, int timeout_ms, Error *err)
{
    /* libpq's connect_timeout counts whole seconds (at least 2): too coarse
     * for a consistency point, whose every step must fit its timeout. A
     * frozen server accepts the TCP connection (the kernel does) and never
     * answers the startup packet, so the deadline is ours, polled here. */
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {conninfo ? conninfo : "", "strata", NULL};
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    double deadline = monotonic_ms() + timeout_ms;
    const char *cause = NULL;
    if (!conn)
        cause = "out of memory";
    else if (PQstatus(conn) == CONNECTION_BAD)
        cause = PQerrorMessage(conn);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (!cause && st != PGRES_POLLING_OK)
    {
        if (st == PGRES_POLLING_FAILED)
        {
            cause = PQerrorMessage(conn);
            break;
        }
        int left = (int) (deadline - monotonic_ms());
        if (left <= 0)
        {
            cause = "no answer within the timeout";
            break;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int n = poll(&pfd, 1, left);
        if (n < 0 && errno != EINTR)
        {
            cause = strerror(errno);
            break;
        }
        if (n > 0)
            st = PQconnectPoll(conn);
    }
    if (cause)
    {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", cause);
        strip_newline(msg);
        error_set(err, "cannot connect to the %s (%s) within %d ms: %s", what,
                  conninfo && *conninfo ? conninfo : "libpq defaults", timeout_ms, msg);
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
