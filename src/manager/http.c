/* The HTTP side of the cluster manager: the daemons' shared server
 * (src/daemon/http_server.c) with the manager's API behind its token and
 * the web UI's files in front of it (public: the API calls the page makes
 * need the token). */
#include "manager/manager.h"

static void
handle(void *ctx, const char *method, const char *url, const char *body, size_t body_len, HttpResponse *out)
{
    api_handle(ctx, method, url, body, body_len, out);
}

int
manager_serve(Manager *m, Error *err)
{
    HttpServer s = {
        .name = "cluster manager",
        .host = m->cfg.listen_host,
        .port = m->cfg.listen_port,
        .token = m->cfg.token,
        .token_len = m->cfg.token_len,
        .tls_cert = m->cfg.tls_cert,
        .tls_key = m->cfg.tls_key,
        .handle = handle,
        .ctx = m,
        .threads = MANAGER_HTTP_THREADS,
        .public_file = ui_lookup,
    };
    return http_serve(&s, err);
}
