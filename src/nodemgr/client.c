/* The cluster manager's HTTP client for node managers (libcurl): one
 * request, a bounded JSON answer. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "nodemgr/nodemgr.h"

/* Answers are small JSON objects (a task); more is an error, not memory. */
#define ANSWER_MAX (1024 * 1024)
#define CONNECT_TIMEOUT_S 5L
#define REQUEST_TIMEOUT_S 30L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
    /* curl_global_init is not thread-safe; once, before any handle. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct
{
    const char *ca_file;
    const char *cert_pem, *key_pem;
} client_tls;

void
nodemgr_client_tls(const char *ca_file, const char *cert_pem, const char *key_pem)
{
    client_tls.ca_file = ca_file;
    client_tls.cert_pem = cert_pem;
    client_tls.key_pem = key_pem;
}

/* https:// only: at least TLS 1.2, the peer verified (libcurl's default,
 * kept explicit) against the configured CA, our certificate presented. */
static void
set_tls(CURL *h)
{
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (client_tls.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, client_tls.ca_file);
    if (client_tls.cert_pem && client_tls.key_pem)
    {
        struct curl_blob cert = {(void *) client_tls.cert_pem, strlen(client_tls.cert_pem), CURL_BLOB_COPY};
        struct curl_blob key = {(void *) client_tls.key_pem, strlen(client_tls.key_pem), CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

typedef struct Answer
{
    Buffer body;
    bool too_large;
} Answer;

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    Answer *a = arg;
    size_t n = size * nmemb;
    if (a->body.len + n > ANSWER_MAX)
    {
        a->too_large = true;
        return 0;   /* aborts the transfer */
    }
    buffer_append(&a->body, data, n);
    return n;
}

int
nodemgr_call(const char *base_url, const char *token, const char *method, const char *path, json_object *request,
             long *status, json_object **answer, Error *err)
{
    pthread_once(&curl_once, curl_init_once);
    *status = 0;
    *answer = NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return error_set(err, "node manager %s: cannot create an HTTP client handle", base_url);
    char *url = xprintf("%s%s", base_url, path);
    char *auth = xprintf("Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (request)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    Answer a = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (request)
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS,
                         json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    /* Threads: no signals for timeouts (no SIGALRM-based resolver). */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    set_tls(h);
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = error_set(err, "node manager %s unreachable (%s %s): %s", base_url, method, path,
                       a.too_large ? "answer larger than 1 MiB" : (*errbuf ? errbuf : curl_easy_strerror(cc)));
    else
    {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (a.body.len)
        {
            buffer_append(&a.body, "", 1);
            *answer = json_tokener_parse(a.body.data);
        }
    }
    buffer_free(&a.body);
    curl_slist_free_all(headers);
    /* The token was in this string: overwrite before freeing. */
    secret_free(auth);
    free(url);
    curl_easy_cleanup(h);
    return rc;
}
