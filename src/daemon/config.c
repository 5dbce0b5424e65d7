/* The daemons' configuration files and their tokens. */
#include <arpa/inet.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/config_file.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "crypto/kek.h"

int
config_file_load(const char *path, json_object **out, Error *err)
{
    *out = NULL;
    Buffer b = {0};
    if (read_small_file(path, &b, err) != 0)
        return error_prefix(err, "configuration: ");
    if (b.len > CONFIG_FILE_MAX)
    {
        buffer_free(&b);
        return error_set(err, "configuration %s: larger than %d bytes", path, CONFIG_FILE_MAX);
    }
    /* strata.conf (INI) or the JSON file of old. */
    if (!config_text_is_json(b.data, b.len))
    {
        int rc = config_ini_to_json(path, b.data, b.len, cli_command_name(), out, err);
        buffer_free(&b);
        return rc;
    }
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
    *out = o;
    return 0;
}

int
config_get_string(json_object *o, const char *key, const char *path, bool required, char **out, Error *err)
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

int
config_tls(json_object *o, const char *path, char **cert_pem, char **key_pem, Error *err)
{
    *cert_pem = *key_pem = NULL;
    char *cert = NULL, *key = NULL;
    int rc = config_get_string(o, "tls_cert", path, false, &cert, err);
    if (rc == 0)
        rc = config_get_string(o, "tls_key", path, false, &key, err);
    if (rc == 0 && (!cert) != (!key))
        rc = error_set(err, "%s: TLS needs both \"tls_cert\" and \"tls_key\"", path);
    if (rc == 0 && cert)
    {
        rc = config_read_text("tls_cert", cert, cert_pem, err);
        if (rc == 0)
            rc = config_read_text("tls_key", key, key_pem, err);
    }
    free(cert);
    free(key);
    return rc;
}

int
config_pem_file(json_object *o, const char *key, const char *path, char **pem, Error *err)
{
    char *file = NULL;
    *pem = NULL;
    int rc = config_get_string(o, key, path, false, &file, err);
    if (rc == 0 && file)
        rc = config_read_text(key, file, pem, err);
    free(file);
    return rc;
}

int
config_read_text(const char *what, const char *file, char **out, Error *err)
{
    Buffer b = {0};
    if (read_small_file(file, &b, err) != 0)
        return error_prefix(err, "%s: ", what);
    buffer_append(&b, "", 1);
    *out = b.data;
    return 0;
}

int
config_listen(json_object *o, const char *path, char **host_out, int *port_out, Error *err)
{
    char *text;
    if (config_get_string(o, "listen", path, true, &text, err) != 0)
        return -1;
    int rc = 0;
    const char *colon = strrchr(text, ':');
    char *host = NULL;
    long port = 0;
    struct in_addr a;
    if (!colon || colon == text)
        rc = error_set(err, "%s: \"listen\" must be HOST:PORT (e.g. 127.0.0.1:8080), not '%s'", path, text);
    if (rc == 0)
    {
        host = xprintf("%.*s", (int) (colon - text), text);
        if (inet_pton(AF_INET, host, &a) != 1)
            rc = error_set(err, "%s: \"listen\": '%s' is not a numeric IPv4 address", path, host);
    }
    if (rc == 0 && parse_int_range(colon + 1, 1, 65535, &port, err) != 0)
        rc = error_prefix(err, "%s: \"listen\" port: ", path);
    free(text);
    if (rc != 0)
    {
        free(host);
        return -1;
    }
    *host_out = host;
    *port_out = (int) port;
    return 0;
}

void
secret_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int
config_token(json_object *o, const char *path, const char *inline_key, const char *file_key, const char *what,
             char **token_out, size_t *len_out, Error *err)
{
    char *token = NULL, *file = NULL;
    *token_out = NULL;
    *len_out = 0;
    int rc = inline_key ? config_get_string(o, inline_key, path, false, &token, err) : 0;
    if (rc == 0)
        rc = config_get_string(o, file_key, path, false, &file, err);
    if (rc == 0 && token && file)
        rc = error_set(err, "%s: give \"%s\" or \"%s\", not both", path, inline_key, file_key);
    if (rc == 0 && !token && !file)
        rc = inline_key ? error_set(err, "%s: %s is required: \"%s\" (or \"%s\")", path, what, file_key, inline_key)
                        : error_set(err, "%s: %s is required: \"%s\"", path, what, file_key);
    if (rc == 0 && file)
    {
        struct stat st;
        if (stat(file, &st) == 0 && (st.st_mode & 077))
            log_warn("token file %s is readable by other users (mode %03o): chmod 600 it", file,
                     (unsigned) (st.st_mode & 0777));
        rc = config_read_text("token file", file, &token, err);
        /* A file written with echo ends in a newline that is not the token's. */
        if (rc == 0)
            token[strcspn(token, "\r\n")] = '\0';
    }
    if (rc == 0 && strlen(token) < DAEMON_TOKEN_MIN)
        rc = error_set(err, "%s: %s must have at least %d characters", path, what, DAEMON_TOKEN_MIN);
    free(file);
    if (rc != 0)
    {
        secret_free(token);
        return -1;
    }
    *token_out = token;
    *len_out = strlen(token);
    return 0;
}

bool
bearer_auth_ok(const char *token, size_t token_len, const char *authorization)
{
    static const char scheme[] = "Bearer ";
    if (!token || !authorization || strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return false;
    const char *given = authorization + sizeof(scheme) - 1;
    /* The length is not secret enough to hide (an attacker learns it from
     * the configuration's minimum anyway); the bytes are compared in
     * constant time so timing does not reveal a matching prefix. */
    if (strlen(given) != token_len)
        return false;
    return CRYPTO_memcmp(given, token, token_len) == 0;
}

enum { OPT_CONFIG = OPT_FIRST_COMMAND_OPTION };

int
daemon_command_line(int argc, char **argv, const char *cmd, const char *usage, const char *why, const char **config)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    *config = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        switch (c)
        {
            case OPT_CONFIG: *config = optarg; break;
            case OPT_HELP: fputs(usage, stdout); return 0;
            default: return cli_bad_option(cmd, argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!*config)
        return cli_usage_error(cmd, "--config FILE is required (%s)", why);
    return CLI_CONTINUE;
}

int
config_pool_key(json_object *o, const char *path, Error *err)
{
    /* Kept for the life of the process: the key source points at them. */
    static char *key_file, *passphrase_file;
    char *k = NULL, *pf = NULL;
    if (config_get_string(o, "key_file", path, false, &k, err) != 0 ||
        config_get_string(o, "passphrase_file", path, false, &pf, err) != 0)
    {
        free(k);
        return -1;
    }
    if (k && pf)
    {
        free(k);
        free(pf);
        return error_set(err, "%s: \"key_file\" and \"passphrase_file\" are two ways to give one key: set one", path);
    }
    if (k)
    {
        free(key_file);
        key_source_set_key_file(key_file = k);
    }
    else if (pf)
    {
        free(passphrase_file);
        key_source_set_passphrase_file(passphrase_file = pf);
    }
    return 0;
}
