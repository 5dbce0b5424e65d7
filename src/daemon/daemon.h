/* What the two daemons (cluster manager, node manager) share: reading
 * their JSON configuration (listen address, the token), bearer-token
 * authentication in constant time, and an HTTP/JSON server on
 * libmicrohttpd that runs until SIGTERM or SIGINT. */
#ifndef STRATA_DAEMON_H
#define STRATA_DAEMON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Request bodies above this get 413: every body the APIs take is a small
 * JSON object, and a bounded buffer keeps one client from exhausting memory. */
#define DAEMON_BODY_MAX (64 * 1024)
/* The shortest token accepted. */
#define DAEMON_TOKEN_MIN 16

/* ---- configuration ---- */

/* The parsed configuration file (a JSON object); `path` names it in errors. */
int config_file_load(const char *path, json_object **out, Error *err);
/* strata.conf (INI) as the JSON object the daemon `command` reads
 * (daemon/config_ini.c); errors name the file and the line. */
int config_ini_to_json(const char *path, const char *text, size_t len, const char *command, json_object **out,
                       Error *err);
/* o[key] as a string; *out NULL when absent and not required. */
int config_get_string(json_object *o, const char *key, const char *path, bool required, char **out, Error *err);
/* A whole (small) file as a NUL-terminated string; `what` names it in errors. */
int config_read_text(const char *what, const char *file, char **out, Error *err);
/* "tls_cert" and "tls_key" (paths, both or neither): their PEM contents,
 * or both NULL for plain HTTP. */
/* "key_file" or "passphrase_file": the pool's key (pool/keys.h), set for
 * the whole process (a daemon serves one pool). */
int config_pool_key(json_object *o, const char *path, Error *err);
int config_tls(json_object *o, const char *path, char **cert_pem, char **key_pem, Error *err);
/* The contents of the (PEM) file that member `key` names, or NULL when
 * the member is absent. */
int config_pem_file(json_object *o, const char *key, const char *path, char **pem, Error *err);
/* "listen": "HOST:PORT" with a numeric IPv4 host. */
int config_listen(json_object *o, const char *path, char **host, int *port, Error *err);
/* A secret from `file_key` (a file: first line, warning if group/other can
 * read it) or, when `inline_key` is not NULL, from that member (not both).
 * Secrets never come from the command line, where ps shows them. At least
 * DAEMON_TOKEN_MIN characters. `what` names it in errors ("the API token"). */
int config_token(json_object *o, const char *path, const char *inline_key, const char *file_key, const char *what,
                 char **token, size_t *len, Error *err);
/* A daemon's command line: --config FILE (required: `why` says what is
 * read from it) or --help (prints `usage`). CLI_CONTINUE with *config set,
 * otherwise the exit code. `cmd` names the command in errors. */
int daemon_command_line(int argc, char **argv, const char *cmd, const char *usage, const char *why,
                        const char **config);
/* Overwrites and frees a secret. */
void secret_free(char *s);

/* "Bearer <token>" against `token`, in constant time in the token's bytes. */
bool bearer_auth_ok(const char *token, size_t token_len, const char *authorization);

/* ---- the HTTP server ---- */

typedef struct HttpResponse
{
    int status;
    char *body;                 /* malloc'd */
    const char *content_type;
    const char *allow;          /* 405: the Allow header */
} HttpResponse;

/* A JSON error body {"error": msg}. */
void http_error(HttpResponse *out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A JSON body (takes `o`). */
void http_reply(HttpResponse *out, int status, json_object *o);
/* The request body as one JSON object (an empty body is {} when
 * empty_is_object); otherwise NULL with a 400 in *out. */
json_object *http_json_object(const char *body, size_t len, bool empty_is_object, HttpResponse *out);

typedef struct HttpServer
{
    const char *name;           /* "cluster manager", in logs */
    const char *host;           /* numeric IPv4 */
    int port;
    const char *token;          /* every request but public files must present it */
    size_t token_len;
    const char *tls_cert;       /* PEM contents, or NULL */
    const char *tls_key;
    const char *tls_client_ca;  /* PEM: clients must show a certificate it signed; or NULL */
    /* One request, already authenticated. */
    void (*handle)(void *ctx, const char *method, const char *url, const char *body, size_t body_len,
                   HttpResponse *out);
    void *ctx;
    /* Threads serving connections (libmicrohttpd's thread pool); 0 or 1:
     * one, and handle() then never runs twice at once. */
    unsigned threads;
    /* Optional: files served without authentication (a web UI's). */
    bool (*public_file)(const char *url, const char **data, size_t *len, const char **content_type);
} HttpServer;

/* Serves until SIGTERM or SIGINT, which the caller has blocked in every
 * thread (before creating any): this one takes them with sigwait. */
int http_serve(const HttpServer *s, Error *err);

#endif
