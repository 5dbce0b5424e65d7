/* The API handlers' metadata connection: the one of the request this
 * thread serves, taken from the manager's MetaConns on first use and given
 * back when the request ends (api_handle). Apart from api.c because every
 * handler file (api.c, policy.c, metrics.c) uses it. */
#include <stdio.h>
#include <string.h>

#include "manager/manager.h"

/* The connection of the request this thread serves (api_handle takes it
 * from m->conns on first use and gives it back at the end): requests on
 * different threads never share one. */
static _Thread_local PGconn *request_conn;

PGconn *
api_meta_conn(Manager *m, ApiResponse *out)
{
    if (!request_conn)
    {
        Error err;
        request_conn = meta_conns_take(&m->conns, &err);
        if (!request_conn)
        {
            http_error(out, 503, "the metadata database is unavailable: %s", err.msg);
            return NULL;
        }
    }
    if (PQstatus(request_conn) != CONNECTION_OK)
        PQreset(request_conn);
    if (PQstatus(request_conn) != CONNECTION_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(request_conn));
        msg[strcspn(msg, "\n")] = '\0';
        http_error(out, 503, "the metadata database is unavailable: %s", msg);
        return NULL;
    }
    return request_conn;
}

void
api_meta_conn_release(Manager *m)
{
    meta_conns_give(&m->conns, request_conn);
    request_conn = NULL;
}

void
api_db_error(ApiResponse *out, PGconn *c, const char *what)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    http_error(out, 500, "%s: %s", what, msg);
}

