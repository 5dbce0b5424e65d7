/* Where an S3 pool is and how to reach it: the location
 * s3://bucket[/prefix][?endpoint=..&region=..&style=..&ca_file=..], the
 * STRATA_S3_* environment, and the credentials (environment or a
 * credentials file; never the command line, never a log line). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/s3_client.h"

#define DEFAULT_PART_SIZE (16u << 20)
#define MIN_PART_SIZE (5u << 20)      /* S3's minimum for every part but the last */
#define MAX_PART_SIZE (5ull << 30)
#define DEFAULT_ATTEMPTS 6
#define MAX_CREDENTIALS_FILE 65536

static const char *
env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void
set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? xstrdup(v) : NULL;
}

static int
check_bucket(const char *b, const char *location, Error *err)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return error_set(err, "pool %s: bucket name must be 3 to 63 characters", location);
    for (const char *p = b; *p; p++)
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '.' && *p != '-' && *p != '_')
            return error_set(err, "pool %s: bucket name may hold only a-z, 0-9, '.', '-' and '_'", location);
    return 0;
}

/* "a/b" -> "a/b/"; empty segments, "." and "..", control characters refused. */
static int
set_prefix(S3Config *cfg, const char *p, size_t len, const char *location, Error *err)
{
    while (len > 0 && p[len - 1] == '/')
        len--;
    char *pre = xprintf("%.*s", (int) len, p);
    int rc = 0;
    char *save = NULL, *copy = xstrdup(pre);
    if (len > 0)
        for (char *seg = strtok_r(copy, "/", &save); seg && rc == 0; seg = strtok_r(NULL, "/", &save))
            if (!strcmp(seg, ".") || !strcmp(seg, ".."))
                rc = error_set(err, "pool %s: prefix segment '%s' is not allowed", location, seg);
    for (size_t i = 0; i < len && rc == 0; i++)
        if ((unsigned char) pre[i] < 0x20 || pre[i] == 0x7f || pre[i] == '\\' || pre[i] == '#')
            rc = error_set(err, "pool %s: the prefix holds a control character, '\\' or '#'", location);
        else if (pre[i] == '/' && (i == 0 || pre[i - 1] == '/'))
            rc = error_set(err, "pool %s: the prefix has an empty path segment", location);
    if (rc == 0 && len > 512)
        rc = error_set(err, "pool %s: the prefix is longer than 512 bytes", location);
    free(copy);
    if (rc == 0)
        cfg->prefix = len ? xprintf("%s/", pre) : xstrdup("");
    free(pre);
    return rc;
}

/* http(s)://host[:port][/] */
static int
set_endpoint(S3Config *cfg, const char *url, Error *err)
{
    const char *rest;
    if (str_starts_with(url, "https://"))
    {
        set_str(&cfg->scheme, "https");
        rest = url + 8;
    }
    else if (str_starts_with(url, "http://"))
    {
        set_str(&cfg->scheme, "http");
        rest = url + 7;
    }
    else
        return error_set(err, "S3 endpoint '%s': must start with http:// or https://", url);
    size_t n = strlen(rest);
    if (n > 0 && rest[n - 1] == '/')
        n--;
    if (n == 0 || n > 255)
        return error_set(err, "S3 endpoint '%s': no host, or a host longer than 255 bytes", url);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char) rest[i]) && !strchr(".-:[]", rest[i]))
            return error_set(err, "S3 endpoint '%s': only host[:port] may follow the scheme (no path, no user)", url);
    free(cfg->host);
    cfg->host = xprintf("%.*s", (int) n, rest);
    return 0;
}

static int
set_style(S3Config *cfg, const char *v, Error *err)
{
    if (!strcmp(v, "path"))
        cfg->virtual_host = false;
    else if (!strcmp(v, "virtual"))
        cfg->virtual_host = true;
    else
        return error_set(err, "S3 URI style '%s': use 'path' or 'virtual'", v);
    return 0;
}

static int
set_region(S3Config *cfg, const char *v, Error *err)
{
    if (!*v || strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(v))
        return error_set(err, "S3 region '%s': expected something like us-east-1", v);
    set_str(&cfg->region, v);
    return 0;
}

/* endpoint=, region=, style=, ca_file=; anything else (a key above all) refused. */
static int
apply_options(S3Config *cfg, const char *opts, const char *location, bool *have_style, Error *err)
{
    char *copy = xstrdup(opts), *save = NULL;
    int rc = 0;
    for (char *kv = strtok_r(copy, "&", &save); kv && rc == 0; kv = strtok_r(NULL, "&", &save))
    {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1])
        {
            rc = error_set(err, "pool %s: option '%s' is not name=value", location, kv);
            break;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (!strcmp(kv, "endpoint"))
            rc = set_endpoint(cfg, v, err);
        else if (!strcmp(kv, "region"))
            rc = set_region(cfg, v, err);
        else if (!strcmp(kv, "style"))
        {
            rc = set_style(cfg, v, err);
            *have_style = true;
        }
        else if (!strcmp(kv, "ca_file"))
            set_str(&cfg->ca_file, v);
        else
            rc = error_set(err, "pool %s: unknown option '%s' (known: endpoint, region, style, ca_file; "
                                "credentials come from the environment or STRATA_S3_CREDENTIALS_FILE)",
                           location, kv);
    }
    free(copy);
    return rc;
}

static char *
trim(char *s)
{
    while (isspace((unsigned char) *s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char) s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* The AWS shared-credentials format: [profile] sections of name = value. */
static int
parse_credentials(S3Config *cfg, char *text, const char *path, const char *profile, Error *err)
{
    bool in_profile = false, found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
        char *l = trim(line);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[')
        {
            char *end = strchr(l, ']');
            if (!end)
                return error_set(err, "credentials file %s: unterminated section header", path);
            *end = '\0';
            in_profile = !strcmp(trim(l + 1), profile);
            found |= in_profile;
            continue;
        }
        if (!in_profile)
            continue;
        char *eq = strchr(l, '=');
        if (!eq)
            return error_set(err, "credentials file %s: a line in [%s] is not name = value", path, profile);
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        if (!strcmp(name, "aws_access_key_id"))
            set_str(&cfg->access_key, value);
        else if (!strcmp(name, "aws_secret_access_key"))
            set_str(&cfg->secret_key, value);
        else if (!strcmp(name, "aws_session_token"))
            set_str(&cfg->session_token, value);
    }
    if (!found)
        return error_set(err, "credentials file %s: no [%s] section", path, profile);
    if (!cfg->access_key || !cfg->secret_key)
        return error_set(err, "credentials file %s: [%s] lacks aws_access_key_id or aws_secret_access_key", path,
                         profile);
    return 0;
}

static int
load_credentials_file(S3Config *cfg, const char *path, Error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return error_errno(err, "credentials file %s (STRATA_S3_CREDENTIALS_FILE)", path);
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_CREDENTIALS_FILE)
        return error_set(err, "credentials file %s: not a regular file of at most %d bytes", path,
                         MAX_CREDENTIALS_FILE);
    if (st.st_mode & 077)
        return error_set(err, "credentials file %s is accessible to group or others (mode %03o): chmod 600 it",
                         path, (unsigned) (st.st_mode & 0777));
    Buffer b = {0};
    int rc = read_small_file(path, &b, err);
    if (rc == 0)
    {
        const char *profile = env("STRATA_S3_PROFILE") ? env("STRATA_S3_PROFILE")
                            : env("AWS_PROFILE")       ? env("AWS_PROFILE") : "default";
        rc = parse_credentials(cfg, b.data, path, profile, err);
    }
    if (b.data)
        memset(b.data, 0, b.len);
    buffer_free(&b);
    return rc;
}

static int
load_credentials(S3Config *cfg, Error *err)
{
    const char *file = env("STRATA_S3_CREDENTIALS_FILE");
    if (file)
        return load_credentials_file(cfg, file, err);
    if (!env("AWS_ACCESS_KEY_ID") || !env("AWS_SECRET_ACCESS_KEY"))
        return error_set(err, "no S3 credentials: set STRATA_S3_CREDENTIALS_FILE, or AWS_ACCESS_KEY_ID and "
                              "AWS_SECRET_ACCESS_KEY, in the environment");
    set_str(&cfg->access_key, env("AWS_ACCESS_KEY_ID"));
    set_str(&cfg->secret_key, env("AWS_SECRET_ACCESS_KEY"));
    set_str(&cfg->session_token, env("AWS_SESSION_TOKEN"));
    return 0;
}

static int
check_credentials(const S3Config *cfg, Error *err)
{
    for (const char *p = cfg->access_key; *p; p++)
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
            return error_set(err, "S3 access key id holds a character other than A-Z, a-z, 0-9, '_', '-'");
    const char *vals[] = {cfg->secret_key, cfg->session_token};
    for (int i = 0; i < 2; i++)
        for (const char *p = vals[i]; p && *p; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                return error_set(err, "S3 %s holds a control character", i ? "session token" : "secret key");
    if (!*cfg->access_key || !*cfg->secret_key)
        return error_set(err, "S3 access key id or secret key is empty");
    return 0;
}

static int
load_tunables(S3Config *cfg, Error *err)
{
    cfg->part_size = DEFAULT_PART_SIZE;
    cfg->max_attempts = DEFAULT_ATTEMPTS;
    if (env("STRATA_S3_PART_SIZE"))
    {
        if (parse_size(env("STRATA_S3_PART_SIZE"), &cfg->part_size, err) != 0)
            return error_prefix(err, "STRATA_S3_PART_SIZE: ");
        if (cfg->part_size < MIN_PART_SIZE || cfg->part_size > MAX_PART_SIZE)
            return error_set(err, "STRATA_S3_PART_SIZE: must be between 5M and 5G (S3's part limits)");
    }
    if (env("STRATA_S3_MAX_ATTEMPTS"))
    {
        long n;
        if (parse_int_range(env("STRATA_S3_MAX_ATTEMPTS"), 1, 20, &n, err) != 0)
            return error_prefix(err, "STRATA_S3_MAX_ATTEMPTS: ");
        cfg->max_attempts = (int) n;
    }
    return 0;
}

static int
parse_location(S3Config *cfg, const char *location, const char **opts, Error *err)
{
    const char *p = location + strlen("s3://");
    const char *q = strchr(p, '?');
    *opts = q ? q + 1 : NULL;
    size_t plen = q ? (size_t) (q - p) : strlen(p);
    const char *slash = memchr(p, '/', plen);
    size_t blen = slash ? (size_t) (slash - p) : plen;
    cfg->bucket = xprintf("%.*s", (int) blen, p);
    if (check_bucket(cfg->bucket, location, err) != 0)
        return -1;
    return slash ? set_prefix(cfg, slash + 1, plen - blen - 1, location, err) : set_prefix(cfg, "", 0, location, err);
}

int
s3_config_load(const char *location, S3Config *cfg, Error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *opts;
    bool have_style = false;
    int rc = parse_location(cfg, location, &opts, err);
    const char *region = env("STRATA_S3_REGION") ? env("STRATA_S3_REGION")
                       : env("AWS_REGION")       ? env("AWS_REGION")
                       : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION") : "us-east-1";
    if (rc == 0)
        rc = set_region(cfg, region, err);
    if (rc == 0 && env("STRATA_S3_ENDPOINT"))
        rc = set_endpoint(cfg, env("STRATA_S3_ENDPOINT"), err);
    if (rc == 0 && env("STRATA_S3_URI_STYLE"))
    {
        rc = set_style(cfg, env("STRATA_S3_URI_STYLE"), err);
        have_style = true;
    }
    if (env("STRATA_S3_CA_FILE"))
        set_str(&cfg->ca_file, env("STRATA_S3_CA_FILE"));
    if (rc == 0 && opts)
        rc = apply_options(cfg, opts, location, &have_style, err);
    if (rc == 0 && !cfg->host)
    {
        /* No endpoint: AWS itself, where virtual-hosted style is the default. */
        set_str(&cfg->scheme, "https");
        cfg->host = xprintf("s3.%s.amazonaws.com", cfg->region);
        if (!have_style)
            cfg->virtual_host = true;
    }
    if (rc == 0 && cfg->virtual_host && strchr(cfg->bucket, '_'))
        rc = error_set(err, "pool %s: a bucket name with '_' cannot be a host name; use style=path", location);
    if (rc == 0 && cfg->ca_file && access(cfg->ca_file, R_OK) != 0)
        rc = error_errno(err, "S3 CA file %s", cfg->ca_file);
    if (rc == 0)
        rc = load_tunables(cfg, err);
    if (rc == 0)
        rc = load_credentials(cfg, err);
    if (rc == 0)
        rc = check_credentials(cfg, err);
    if (rc != 0)
        s3_config_free(cfg);
    return rc;
}

void
s3_config_free(S3Config *cfg)
{
    if (cfg->secret_key)
        memset(cfg->secret_key, 0, strlen(cfg->secret_key));
    if (cfg->session_token)
        memset(cfg->session_token, 0, strlen(cfg->session_token));
    free(cfg->bucket);
    free(cfg->prefix);
    free(cfg->scheme);
    free(cfg->host);
    free(cfg->region);
    free(cfg->ca_file);
    free(cfg->access_key);
    free(cfg->secret_key);
    free(cfg->session_token);
    memset(cfg, 0, sizeof(*cfg));
}
