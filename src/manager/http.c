/* The HTTP side of the cluster manager: libmicrohttpd with its one internal
 * polling thread (requests are short; the long work runs as jobs), body
 * collection bounded by MANAGER_BODY_MAX, authentication of every request,
 * and the wait for SIGTERM / SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

/* Idle connections are dropped after this many seconds. */
#define CONNECTION_TIMEOUT 60

typedef struct Request
{
    Buffer body;
    bool too_large;
} Request;

static enum MHD_Result
send_response(struct MHD_Connection *conn, ApiResponse *resp)
{
    size_t len = strlen(resp->body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!r)
    {
        free(resp->body);
        return MHD_NO;
    }
    resp->body = NULL;   /* libmicrohttpd frees it */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (resp->status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"strata\"");
    if (resp->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned) resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
send_ui_file(struct MHD_Connection *conn, const char *data, size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* Everything the page uses comes from here: no other origin, no inline code. */
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    Manager *m = cls;
    Request *rq = *con_cls;
    if (!rq)
    {
        /* First call: headers only. The body (if any) follows. */
        *con_cls = xcalloc(1, sizeof(Request));
        return MHD_YES;
    }
    if (*upload_data_size > 0)
    {
        /* Past the limit the rest is read and dropped, so the client gets
         * the 413 instead of a reset connection. */
        if (!rq->too_large && rq->body.len + *upload_data_size > MANAGER_BODY_MAX)
        {
            rq->too_large = true;
            buffer_free(&rq->body);
            memset(&rq->body, 0, sizeof(rq->body));
        }
        if (!rq->too_large)
            buffer_append(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The web UI's files are public; the API calls the page makes are not. */
    const char *ui_data, *ui_type;
    size_t ui_len;
    if (!strcmp(method, "GET") && ui_lookup(url, &ui_data, &ui_len, &ui_type))
        return send_ui_file(conn, ui_data, ui_len, ui_type);
    ApiResponse resp = {0};
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!manager_auth_ok(&m->cfg, auth))
        api_error(&resp, 401, auth ? "invalid API token" : "authentication required: send 'Authorization: Bearer <token>'");
    else if (rq->too_large)
        api_error(&resp, 413, "request body larger than %d bytes", MANAGER_BODY_MAX);
    else
        api_handle(m, method, url, rq->body.data ? rq->body.data : "", rq->body.len, &resp);
    if (!resp.body)
        api_error(&resp, 500, "internal error: no response for %s %s", method, url);
    return send_response(conn, &resp);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) conn;
    (void) toe;
    Request *rq = *con_cls;
    if (rq)
    {
        buffer_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http: %s", msg);
}

int
manager_serve(Manager *m, Error *err)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) m->cfg.listen_port);
    inet_pton(AF_INET, m->cfg.listen_host, &sa.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    bool tls = m->cfg.tls_cert != NULL;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return error_set(err, "TLS is configured but this libmicrohttpd has no TLS support");
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, m->cfg.tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, m->cfg.tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags | (tls ? MHD_USE_TLS : 0), (uint16_t) m->cfg.listen_port, NULL, NULL, on_request, m,
        /* first, so that libmicrohttpd logs nothing through its own logger */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT, MHD_OPTION_ARRAY, tls ? tls_opts : no_opts, MHD_OPTION_END);
    if (!d)
        return error_set(err, "cannot listen on %s:%d (address in use, or TLS key/certificate unusable)",
                         m->cfg.listen_host, m->cfg.listen_port);
    log_info("cluster manager listening on %s://%s:%d", tls ? "https" : "http", m->cfg.listen_host,
             m->cfg.listen_port);
    /* SIGTERM and SIGINT are blocked in every thread (manager.c blocks them
     * before any is created): this thread takes them here, synchronously. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("cluster manager: %s received, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_stop_daemon(d);
    return 0;
}
