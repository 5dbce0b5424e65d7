/* The cluster manager's configuration and its API token. The token comes
 * from the configuration file (or a file it names) and never from the
 * command line, where every user of the machine could read it in ps. */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

static int
get_string(json_object *o, const char *key, const char *path, bool required, char **out, Error *err)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return required ? error_set(err, "%s: \"%s\" is required", path, key) : 0;
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return error_set(err, "%s: \"%s\" must be a non-empty string", path, key);
    *out = xstrdup(json_object_get_string(v));
    return 0;
}

/* The whole file as a string (PEM or token). */
static int
read_text(const char *what, const char *path, char **out, Error *err)
{
    Buffer b = {0};
    if (read_small_file(path, &b, err) != 0)
        return error_prefix(err, "%s: ", what);
    buffer_append(&b, "", 1);
    *out = b.data;
    return 0;
}

static int
parse_listen(const char *text, const char *path, ManagerConfig *c, Error *err)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return error_set(err, "%s: \"listen\" must be HOST:PORT (e.g. 127.0.0.1:8080), not '%s'", path, text);
    char *host = xprintf("%.*s", (int) (colon - text), text);
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1)
    {
        error_set(err, "%s: \"listen\": '%s' is not a numeric IPv4 address", path, host);
        free(host);
        return -1;
    }
    long port;
    if (parse_int_range(colon + 1, 1, 65535, &port, err) != 0)
    {
        free(host);
        return error_prefix(err, "%s: \"listen\" port: ", path);
    }
    c->listen_host = host;
    c->listen_port = (int) port;
    return 0;
}

int
manager_config_load(const char *path, ManagerConfig *c, Error *err)
{
    memset(c, 0, sizeof(*c));
    Buffer b = {0};
    if (read_small_file(path, &b, err) != 0)
        return error_prefix(err, "configuration: ");
    buffer_append(&b, "", 1);
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(b.data, &jerr);
    buffer_free(&b);
    if (!o || !json_object_is_type(o, json_type_object))
    {
        json_object_put(o);
        return error_set(err, "configuration %s: not a JSON object (%s)", path,
                         o ? "another JSON value" : json_tokener_error_desc(jerr));
    }
    char *listen = NULL, *token_file = NULL, *cert = NULL, *key = NULL;
    int rc = get_string(o, "listen", path, true, &listen, err);
    if (rc == 0)
        rc = parse_listen(listen, path, c, err);
    if (rc == 0)
        rc = get_string(o, "meta_conn", path, true, &c->meta_conn, err);
    if (rc == 0)
        rc = get_string(o, "pool", path, true, &c->pool, err);
    if (rc == 0)
        rc = get_string(o, "token", path, false, &c->token, err);
    if (rc == 0)
        rc = get_string(o, "token_file", path, false, &token_file, err);
    if (rc == 0 && c->token && token_file)
        rc = error_set(err, "%s: give \"token\" or \"token_file\", not both", path);
    if (rc == 0 && !c->token && !token_file)
        rc = error_set(err, "%s: an API token is required: \"token_file\" (or \"token\")", path);
    if (rc == 0 && token_file)
    {
        struct stat st;
        if (stat(token_file, &st) == 0 && (st.st_mode & 077))
            log_warn("token file %s is readable by other users (mode %03o): chmod 600 it", token_file,
                     (unsigned) (st.st_mode & 0777));
        rc = read_text("token file", token_file, &c->token, err);
        /* A file written with echo ends in a newline that is not the token's. */
        if (rc == 0)
            c->token[strcspn(c->token, "\r\n")] = '\0';
    }
    if (rc == 0 && strlen(c->token) < 16)
        rc = error_set(err, "%s: the API token must have at least 16 characters", path);
    if (rc == 0)
        c->token_len = strlen(c->token);
    if (rc == 0)
        rc = get_string(o, "tls_cert", path, false, &cert, err);
    if (rc == 0)
        rc = get_string(o, "tls_key", path, false, &key, err);
    if (rc == 0 && (!cert) != (!key))
        rc = error_set(err, "%s: TLS needs both \"tls_cert\" and \"tls_key\"", path);
    if (rc == 0 && cert)
    {
        rc = read_text("tls_cert", cert, &c->tls_cert, err);
        if (rc == 0)
            rc = read_text("tls_key", key, &c->tls_key, err);
    }
    if (rc == 0)
        rc = restore_config_load(o, path, c, err);
    free(listen);
    free(token_file);
    free(cert);
    free(key);
    json_object_put(o);
    if (rc != 0)
        manager_config_free(c);
    return rc;
}

void
manager_config_free(ManagerConfig *c)
{
    free(c->listen_host);
    if (c->token)
        OPENSSL_cleanse(c->token, strlen(c->token));
    free(c->token);
    free(c->meta_conn);
    free(c->pool);
    free(c->tls_cert);
    if (c->tls_key)
        OPENSSL_cleanse(c->tls_key, strlen(c->tls_key));
    free(c->tls_key);
    free(c->restore_root);
    memset(c, 0, sizeof(*c));
}

bool
manager_auth_ok(const ManagerConfig *c, const char *authorization)
{
    static const char scheme[] = "Bearer ";
    if (!authorization || strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return false;
    const char *given = authorization + sizeof(scheme) - 1;
    /* The length is not secret enough to hide (an attacker learns it from
     * the configuration's minimum anyway); the bytes are compared in
     * constant time so timing does not reveal a matching prefix. */
    if (strlen(given) != c->token_len)
        return false;
    return CRYPTO_memcmp(given, c->token, c->token_len) == 0;
}
