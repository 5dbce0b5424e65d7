/* The daemons' HTTP side: libmicrohttpd with its one internal polling
 * thread (requests are short; long work runs in jobs or tasks), body
 * collection bounded by DAEMON_BODY_MAX, authentication of every request
 * (public files aside), and the wait for SIGTERM / SIGINT. */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/daemon.h"

/* Idle connections are dropped after this many seconds. */
#define CONNECTION_TIMEOUT 60
/* GnuTLS priorities: TLS 1.2 and 1.3 only. TLS 1.0 and 1.1 (deprecated,
 * RFC 8996) are refused at the handshake. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct Request
{
    Buffer body;
    bool too_large;
} Request;

void
http_error(HttpResponse *out, int status, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    http_reply(out, status, o);
}

void
http_reply(HttpResponse *out, int status, json_object *o)
{
    free(out->body);
    out->status = status;
    out->body = xprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    out->content_type = "application/json";
    json_object_put(o);
}

json_object *
http_json_object(const char *body, size_t len, bool empty_is_object, HttpResponse *out)
{
    if (len == 0 && empty_is_object)
        return json_object_new_object();
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, body, (int) len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || e != json_tokener_success)
    {
        json_object_put(o);
        http_error(out, 400, "malformed JSON body: the request body must be one JSON object; %s",
                   len == 0 ? "it is empty"
                   : e == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(e));
        return NULL;
    }
    while (used < len && strchr(" \t\r\n", body[used]))
        used++;
    if (used != len)
        http_error(out, 400, "malformed JSON body: the request body must be one JSON object; trailing data after "
                             "the JSON value at byte %zu", used);
    else if (!json_object_is_type(o, json_type_object))
        http_error(out, 400, "malformed JSON body: the request body must be one JSON object, not %s",
                   json_type_to_name(json_object_get_type(o)));
    else
        return o;
    json_object_put(o);
    return NULL;
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, HttpResponse *resp)
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
send_public_file(struct MHD_Connection *conn, const char *data, size_t len, const char *type)
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

/* The peer's certificate chain verified against the trust list that
 * MHD_OPTION_HTTPS_MEM_TRUST installed (libmicrohttpd only asks for it). */
static bool
client_certificate_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return false;
    gnutls_session_t session = (gnutls_session_t) ci->tls_session;
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(session, &n) || n == 0)
        return false;
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    const HttpServer *s = cls;
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
        if (!rq->too_large && rq->body.len + *upload_data_size > DAEMON_BODY_MAX)
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
    /* With a client CA, every request (public files too) comes over a
     * connection whose client presented a certificate that CA signed. */
    if (s->tls_client_ca && !client_certificate_ok(conn))
    {
        HttpResponse denied = {0};
        http_error(&denied, 403, "client certificate required, signed by this %s's tls_client_ca", s->name);
        return send_response(conn, &denied);
    }
    /* Public files (a web UI) need no token; the API calls they make do. */
    const char *file_data, *file_type;
    size_t file_len;
    if (s->public_file && !strcmp(method, "GET") && s->public_file(url, &file_data, &file_len, &file_type))
        return send_public_file(conn, file_data, file_len, file_type);
    HttpResponse resp = {0};
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!bearer_auth_ok(s->token, s->token_len, auth))
        http_error(&resp, 401, auth ? "invalid API token" : "authentication required: send 'Authorization: Bearer <token>'");
    else if (rq->too_large)
        http_error(&resp, 413, "request body larger than %d bytes", DAEMON_BODY_MAX);
    else
        s->handle(s->ctx, method, url, rq->body.data ? rq->body.data : "", rq->body.len, &resp);
    if (!resp.body)
        http_error(&resp, 500, "internal error: no response for %s %s", method, url);
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
    char tag[LOG_TAG_MAX];
    log_get_tag(tag, sizeof(tag));
    if (!*tag)
        log_set_tag("http");   /* one of libmicrohttpd's own threads */
    log_warn("http: %s", msg);
}

int
http_serve(const HttpServer *s, Error *err)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) s->port);
    inet_pton(AF_INET, s->host, &sa.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    bool tls = s->tls_cert != NULL;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return error_set(err, "TLS is configured but this libmicrohttpd has no TLS support");
    if (s->tls_client_ca && !tls)
        return error_set(err, "%s: tls_client_ca needs tls_cert and tls_key (client certificates are TLS)", s->name);
    /* With a pool, connections are spread over that many threads, each
     * polling its own share; handle() runs on any of them. libmicrohttpd
     * warns about a pool of 1, so one thread is asked for by leaving it out. */
    unsigned threads = s->threads > 1 ? s->threads : 1;
    struct MHD_OptionItem extra[6];
    size_t k = 0;
    if (tls)
    {
        extra[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) s->tls_cert};
        extra[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) s->tls_key};
        extra[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) TLS_PRIORITIES};
        if (s->tls_client_ca)
            extra[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *) s->tls_client_ca};
    }
    if (threads > 1)
        extra[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t) threads, NULL};
    extra[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags | (tls ? MHD_USE_TLS : 0), (uint16_t) s->port, NULL, NULL, on_request, (void *) s,
        /* first, so that libmicrohttpd logs nothing through its own logger */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT, MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
    if (!d)
        return error_set(err, "%s: cannot listen on %s:%d (address in use, or TLS key/certificate unusable)", s->name,
                         s->host, s->port);
    log_info("%s listening on %s://%s:%d%s (%u thread%s)", s->name, tls ? "https" : "http", s->host, s->port,
             !tls ? " (no tls_cert: plain HTTP)"
             : s->tls_client_ca ? " (TLS 1.2+, client certificates checked)" : " (TLS 1.2+)",
             threads, threads == 1 ? "" : "s");
    /* SIGTERM and SIGINT are blocked in every thread (the caller blocks
     * them before any is created): this thread takes them here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("%s: %s received, stopping", s->name, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_stop_daemon(d);
    return 0;
}
