/* One S3 request over libcurl: the URL and headers for path- or
 * virtual-hosted style, SigV4 on every attempt, bounded answer bodies,
 * retries with exponential back-off. CURL handles are kept per client and
 * lent to one thread at a time, so worker threads share connections. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "storage/s3_client.h"

#define BACKOFF_BASE_MS 250
#define BACKOFF_MAX_MS 8000
#define MAX_HEADERS 16

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
s3_client_init(S3Client *c, const char *location, Error *err)
{
    memset(c, 0, sizeof(*c));
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return error_set(err, "pool %s: libcurl: %s", location, curl_easy_strerror(curl_init_rc));
    if (s3_config_load(location, &c->cfg, err) != 0)
        return -1;
    c->location = xprintf("s3://%s/%s", c->cfg.bucket, c->cfg.prefix);
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

void
s3_client_destroy(S3Client *c)
{
    for (size_t i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    pthread_mutex_destroy(&c->lock);
    s3_config_free(&c->cfg);
    free(c->location);
}

static CURL *
handle_take(S3Client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->nidle > 0)
        h = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_reset(h);   /* keeps its live connections */
    else
        h = curl_easy_init();
    return h;
}

static void
handle_give(S3Client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->nidle == c->capidle)
    {
        c->capidle = c->capidle ? c->capidle * 2 : 8;
        c->idle = xrealloc(c->idle, c->capidle * sizeof(void *));
    }
    c->idle[c->nidle++] = h;
    pthread_mutex_unlock(&c->lock);
}

void
s3_response_free(S3Response *resp)
{
    buffer_free(&resp->body);
    free(resp->etag);
    free(resp->content_range);
    memset(resp, 0, sizeof(*resp));
}

char *
s3_error_text(const S3Response *resp)
{
    char *code = NULL, *message = NULL;
    if (resp->body.len)
        s3_xml_parse_error(resp->body.data, resp->body.len, &code, &message);
    bool has_msg = message && *message;
    char *t = xprintf("HTTP %ld%s%.100s%s%.300s", resp->status, code ? " " : "", code ? code : "",
                      has_msg ? ": " : "", has_msg ? message : "");
    free(code);
    free(message);
    return t;
}

int
s3_fail(const S3Response *resp, const char *what, const char *op, Error *err)
{
    char *t = s3_error_text(resp);
    error_set(err, "%s: %s: %s", what, op, t);
    free(t);
    return -1;
}

typedef struct Transfer
{
    CURL *h;
    S3Response *resp;
    size_t max_body;
    bool too_large;
} Transfer;

static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
    Transfer *t = ctx;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
    size_t cap = (status >= 200 && status < 300) ? t->max_body : S3_MAX_ERROR_BODY;
    if (t->resp->body.len + len > cap)
    {
        t->too_large = true;
        return 0;   /* stops the transfer */
    }
    buffer_append(&t->resp->body, data, len);
    return len;
}

static char *
header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return xprintf("%.*s", (int) (end - v), v);
}

static size_t
on_header(char *line, size_t size, size_t n, void *ctx)
{
    Transfer *t = ctx;
    size_t len = size * n;
    char *v;
    if ((v = header_value(line, len, "ETag")))
    {
        free(t->resp->etag);
        t->resp->etag = v;
    }
    else if ((v = header_value(line, len, "Content-Range")))
    {
        free(t->resp->content_range);
        t->resp->content_range = v;
    }
    else if ((v = header_value(line, len, "Content-Length")))
    {
        char *end;
        long long cl = strtoll(v, &end, 10);
        t->resp->content_length = (*v && !*end && cl >= 0) ? cl : -2;   /* -2: unreadable */
        free(v);
    }
    return len;
}

/* "/bucket/key" (path style) or "/key" (virtual-hosted), unencoded. */
static char *
request_path(const S3Client *c, const char *key)
{
    if (c->cfg.virtual_host)
        return xprintf("/%s", key ? key : "");
    return key ? xprintf("/%s/%s", c->cfg.bucket, key) : xprintf("/%s", c->cfg.bucket);
}

static void
amz_now(char out[17])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static struct curl_slist *
signed_headers(const S3Client *c, const S3Request *req, const char *host, const char *path,
               const char *payload_sha, Error *err)
{
    char date[17];
    amz_now(date);
    S3Pair h[MAX_HEADERS + 4];
    size_t n = 0;
    h[n++] = (S3Pair){"Host", host};
    h[n++] = (S3Pair){"x-amz-date", date};
    h[n++] = (S3Pair){"x-amz-content-sha256", payload_sha};
    if (c->cfg.session_token)
        h[n++] = (S3Pair){"x-amz-security-token", c->cfg.session_token};
    for (size_t i = 0; i < req->nheaders && i < MAX_HEADERS; i++)
        h[n++] = req->headers[i];
    S3SignRequest sr = {req->method, path, req->query, req->nquery, h, n, payload_sha, date,
                        c->cfg.region, "s3", c->cfg.access_key, c->cfg.secret_key};
    S3Signature sig;
    if (s3_sign(&sr, &sig) != 0)
    {
        s3_signature_free(&sig);
        error_set(err, "S3 request header holds a line break");
        return NULL;
    }
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < n; i++)
    {
        char *line = xprintf("%s: %s", h[i].name, h[i].value);
        list = curl_slist_append(list, line);
        free(line);
    }
    char *auth = xprintf("Authorization: %s", sig.authorization);
    list = curl_slist_append(list, auth);
    free(auth);
    /* neither a 100-continue round trip nor a form content type */
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Content-Type:");
    s3_signature_free(&sig);
    return list;
}

static void
set_method(CURL *h, const S3Request *req)
{
    if (!strcmp(req->method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (!strcmp(req->method, "GET"))
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else
    {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        if (strcmp(req->method, "DELETE") != 0 || req->body_len > 0)
        {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? (const char *) req->body : "");
        }
    }
}

/* One attempt. Returns the CURLcode; the answer is in resp. */
static CURLcode
attempt(S3Client *c, CURL *h, const S3Request *req, const char *url, const char *host, const char *path,
        const char *payload_sha, S3Response *resp, bool *too_large, Error *err)
{
    s3_response_free(resp);
    resp->content_length = -1;
    struct curl_slist *hdrs = signed_headers(c, req, host, path, payload_sha, err);
    if (!hdrs)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    Transfer t = {h, resp, req->max_body, false};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->cfg.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
    set_method(h, req);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hdrs);
    *too_large = t.too_large;
    return rc;
}

static bool
retryable_status(long s)
{
    return s >= 500 || s == 408 || s == 429;
}

/* A transfer failure another attempt may fix (a connection refused, reset
 * or timed out), not a configuration one (a certificate, a URL). */
static bool
retryable_transfer(CURLcode cc)
{
    switch (cc)
    {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OUT_OF_MEMORY:
            return false;
        default:
            return true;
    }
}

static void
backoff(int attempt_no)
{
    long ms = BACKOFF_BASE_MS << (attempt_no - 1);
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    ms = ms / 2 + (long) (((unsigned) rand() ^ (unsigned) time(NULL)) % (unsigned long) (ms / 2 + 1));
    sleep_ms(ms);
}

static char *
request_url(const S3Client *c, const S3Request *req, char **host_out, char **path_out)
{
    *host_out = c->cfg.virtual_host ? xprintf("%s.%s", c->cfg.bucket, c->cfg.host) : xstrdup(c->cfg.host);
    *path_out = request_path(c, req->key);
    char *epath = s3_uri_encode(*path_out, true);
    char *query = s3_canonical_query(req->query, req->nquery);
    char *url = xprintf("%s://%s%s%s%s", c->cfg.scheme, *host_out, epath, *query ? "?" : "", query);
    free(epath);
    free(query);
    return url;
}

int
s3_request(S3Client *c, const S3Request *req, S3Response *resp, const char *what, Error *err)
{
    char payload_sha[S3_SHA256_HEX_LEN + 1];
    s3_sha256_hex(req->body_len ? req->body : "", req->body_len, payload_sha);
    char *host, *path;
    char *url = request_url(c, req, &host, &path);
    CURL *h = handle_take(c);
    int rc = -1;
    memset(resp, 0, sizeof(*resp));
    if (!h)
        error_set(err, "%s: cannot create a libcurl handle", what);
    for (int n = 1; h && n <= c->cfg.max_attempts; n++)
    {
        bool too_large = false;
        CURLcode cc = attempt(c, h, req, url, host, path, payload_sha, resp, &too_large, err);
        if (cc == CURLE_BAD_FUNCTION_ARGUMENT)
            break;
        if (too_large)
        {
            error_set(err, "%s: %s %s: the answer is larger than %zu bytes", what, req->method, c->location,
                      resp->status / 100 == 2 ? req->max_body : (size_t) S3_MAX_ERROR_BODY);
            break;
        }
        if (cc == CURLE_OK && !retryable_status(resp->status))
        {
            rc = 0;
            break;
        }
        if (cc != CURLE_OK)
            error_set(err, "%s: %s failed after %d attempt(s): %s", what, req->method, n, curl_easy_strerror(cc));
        else
        {
            char *t = s3_error_text(resp);
            error_set(err, "%s: %s failed after %d attempt(s): %s", what, req->method, n, t);
            free(t);
        }
        if (cc != CURLE_OK && !retryable_transfer(cc))
            break;
        if (n < c->cfg.max_attempts)
            backoff(n);
    }
    if (h)
        handle_give(c, h);
    if (rc != 0)
        s3_response_free(resp);
    free(url);
    free(host);
    free(path);
    return rc;
}
