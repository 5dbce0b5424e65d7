/* HTTP/JSON client of the cluster manager (manager_client.h). */
#include "client/manager_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"

/* Answers bigger than this are refused: the API's largest (a job list of
 * 200, a pool listing) are far below, and an unbounded read of whatever a
 * wrong URL returns is not useful. */
#define ANSWER_MAX (16 * 1024 * 1024)
/* Polling while following a job, and how long the manager may be away
 * (restarting) before the CLI gives up following. */
#define POLL_INTERVAL_MS 500
#define UNREACHABLE_GIVE_UP_S 30

const char *
client_manager_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--manager"))
            return i + 1 < argc ? argv[i + 1] : "";
        if (str_starts_with(argv[i], "--manager="))
            return argv[i] + strlen("--manager=");
    }
    return NULL;
}

static int
read_token(const char *path, char **out, Error *err)
{
    Buffer b = {0};
    if (read_small_file(path, &b, err) != 0)
        return error_prefix(err, "the API token: ");
    size_t n = 0;
    while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
        n++;
    if (n == 0)
    {
        buffer_free(&b);
        return error_set(err, "the API token file %s: the first line is empty", path);
    }
    for (size_t i = 0; i < n; i++)
    {
        unsigned char ch = (unsigned char) b.data[i];
        if (ch < 0x21 || ch > 0x7e)
        {
            buffer_free(&b);
            return error_set(err, "the API token file %s: the token holds a space or control character", path);
        }
    }
    *out = xprintf("%.*s", (int) n, b.data);
    memset(b.data, 0, b.len);
    buffer_free(&b);
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn("the API token file %s is readable by group or others (chmod 600 it)", path);
    return 0;
}

int
client_open(ManagerClient *c, const ClientOptions *o, Error *err)
{
    memset(c, 0, sizeof(*c));
    if (!o->manager || !*o->manager)
        return error_set(err, "no cluster manager: give --manager URL or set STRATA_MANAGER");
    if (!str_starts_with(o->manager, "http://") && !str_starts_with(o->manager, "https://"))
        return error_set(err, "--manager '%s': not an http:// or https:// URL", o->manager);
    if (!o->token_file || !*o->token_file)
        return error_set(err, "the cluster manager at %s needs the API token: give --token-file FILE or set "
                              "STRATA_TOKEN_FILE (never the token itself on the command line)", o->manager);
    if (read_token(o->token_file, &c->token, err) != 0)
        return -1;
    size_t len = strlen(o->manager);
    while (len > 0 && o->manager[len - 1] == '/')
        len--;
    c->url = xprintf("%.*s", (int) len, o->manager);
    c->cacert = o->cacert && *o->cacert ? xstrdup(o->cacert) : NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init()))
    {
        client_close(c);
        return error_set(err, "cannot initialise libcurl");
    }
    return 0;
}

void
client_close(ManagerClient *c)
{
    if (c->curl)
    {
        curl_easy_cleanup(c->curl);
        curl_global_cleanup();
    }
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->url);
    free(c->cacert);
    memset(c, 0, sizeof(*c));
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
    Buffer *b = arg;
    if (b->len + size * n > ANSWER_MAX)
        return 0;   /* curl fails the transfer: CURLE_WRITE_ERROR */
    buffer_append(b, data, size * n);
    return size * n;
}

int
client_request(ManagerClient *c, const char *method, const char *path, json_object *body, int *status,
               json_object **out, Error *err)
{
    CURL *h = c->curl;
    *status = 0;
    *out = NULL;
    char *url = xprintf("%s%s", c->url, path);
    char *auth = xprintf("Authorization: Bearer %s", c->token);
    char errbuf[CURL_ERROR_SIZE] = "";
    Buffer answer = {0};
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    const char *payload = NULL;
    if (body)
    {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        payload = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    /* Every API call answers quickly (jobs run off the request thread);
     * the slowest, a CP or /metrics with a node down, take seconds. */
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    if (payload)
    {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(payload));
    }
    else if (!strcmp(method, "POST"))
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    /* https://: TLS 1.2 at least, the manager's certificate verified. */
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);

    int rc = 0;
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    if (cc != CURLE_OK)
        rc = error_set(err, "cannot reach the cluster manager at %s (%s %s): %s", c->url, method, path,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
    else
    {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        *status = (int) code;
        buffer_append(&answer, "", 1);   /* NUL-terminated for the tokener */
        json_tokener *tok = json_tokener_new();
        json_object *j = json_tokener_parse_ex(tok, answer.data, (int) answer.len);
        bool whole = j && json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        json_object *msg;
        if (code >= 200 && code < 300 && whole)
        {
            *out = j;
            j = NULL;
        }
        else if (code >= 200 && code < 300)
            rc = error_set(err, "the cluster manager at %s answered %s %s with something that is not JSON", c->url,
                           method, path);
        else if (whole && json_object_object_get_ex(j, "error", &msg) && json_object_is_type(msg, json_type_string))
            rc = error_set(err, "the cluster manager at %s refused %s %s (HTTP %ld): %s%s", c->url, method, path, code,
                           json_object_get_string(msg),
                           code == 401 ? " (check --token-file / STRATA_TOKEN_FILE)" : "");
        else
            rc = error_set(err, "the cluster manager at %s answered %s %s with HTTP %ld", c->url, method, path, code);
        json_object_put(j);
    }
    curl_slist_free_all(headers);
    memset(auth, 0, strlen(auth));
    free(auth);
    free(url);
    buffer_free(&answer);
    return rc;
}

/* A non-negative number member, or -1. */
static double
jnum(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return -1;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return -1;
    double d = json_object_get_double(v);
    return d >= 0 ? d : -1;
}

/* The state of a job being followed, for the progress line. */
typedef struct Follow
{
    bool shown;           /* a line is on the terminal */
    double started;
    double rate_t0;       /* first sample with bytes, for the rate */
    double rate_done0;
} Follow;

static void
show_progress(Follow *f, long long id, json_object *job)
{
    const char *state = json_member_string(job, "state");
    const char *kind = json_member_string(job, "kind");
    const char *cluster = json_member_string(job, "cluster");
    json_object *p = NULL;
    json_object_object_get_ex(job, "progress", &p);
    double done = jnum(p, "bytes_done"), total = jnum(p, "bytes_total");
    double now = now_seconds();
    char line[256];
    int n = snprintf(line, sizeof(line), "job %lld (%s %s): %s", id, kind ? kind : "?", cluster ? cluster : "?",
                     state ? state : "?");
    const char *phase = p ? json_member_string(p, "phase") : NULL;
    if (phase && n < (int) sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t) n, ", %s", phase);
    if (done >= 0 && total > 0 && n < (int) sizeof(line))
    {
        if (f->rate_t0 == 0)
        {
            f->rate_t0 = now;
            f->rate_done0 = done;
        }
        double rate = now > f->rate_t0 ? (done - f->rate_done0) / (now - f->rate_t0) : 0;
        char sdone[32], stotal[32], srate[32], eta[32] = "--";
        format_bytes((uint64_t) done, sdone, sizeof(sdone));
        format_bytes((uint64_t) total, stotal, sizeof(stotal));
        format_bytes(rate > 0 ? (uint64_t) rate : 0, srate, sizeof(srate));
        if (rate > 0 && total > done)
        {
            long secs = (long) ((total - done) / rate);
            snprintf(eta, sizeof(eta), "%ld:%02ld", secs / 60, secs % 60);
        }
        double pct = 100.0 * done / total;
        snprintf(line + n, sizeof(line) - (size_t) n, "  %s / %s (%5.1f%%)  %s/s  ETA %s", sdone, stotal,
                 pct > 100 ? 100.0 : pct, srate, eta);
    }
    else if (n < (int) sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t) n, "  %lds", (long) (now - f->started));
    /* \033[K clears what a longer previous line left. */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    f->shown = true;
}

int
client_follow_job(ManagerClient *c, long long id, bool quiet, json_object **job, Error *err)
{
    Follow f = {.started = now_seconds()};
    bool tty = !quiet && isatty(STDERR_FILENO);
    char *path = xprintf("/api/v1/jobs/%lld", id);
    double unreachable_since = 0;
    int rc = 0;
    *job = NULL;
    for (;;)
    {
        json_object *j;
        int status;
        Error e;
        if (client_request(c, "GET", path, NULL, &status, &j, &e) != 0)
        {
            /* The manager restarting: keep asking for a while; it fails
             * the job with a reason when it comes back. An answer (4xx)
             * is final. */
            double now = now_seconds();
            if (status == 0 && (unreachable_since == 0 || now - unreachable_since < UNREACHABLE_GIVE_UP_S))
            {
                if (unreachable_since == 0)
                    unreachable_since = now;
                sleep_ms(1000);
                continue;
            }
            rc = error_set(err, "following job %lld: %s (the job may still be running: strata jobs --id %lld)", id,
                           e.msg, id);
            break;
        }
        unreachable_since = 0;
        const char *state = json_member_string(j, "state");
        if (tty)
            show_progress(&f, id, j);
        if (state && (!strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled")))
        {
            *job = j;
            break;
        }
        json_object_put(j);
        sleep_ms(POLL_INTERVAL_MS);
    }
    if (f.shown)
        fputc('\n', stderr);
    free(path);
    return rc;
}

static void
print_member(json_object *job, const char *key, const char *label)
{
    json_object *v;
    if (!json_object_object_get_ex(job, key, &v) || !v)
        return;
    if (json_object_is_type(v, json_type_string))
        printf("  %-9s %s\n", label, json_object_get_string(v));
    else
        printf("  %-9s %s\n", label, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

void
client_print_job(json_object *job)
{
    json_object *id;
    json_object_object_get_ex(job, "id", &id);
    const char *kind = json_member_string(job, "kind"), *cluster = json_member_string(job, "cluster"), *state = json_member_string(job, "state");
    printf("job %s: %s of %s, %s\n", id ? json_object_to_json_string(id) : "?", kind ? kind : "?",
           cluster ? cluster : "?", state ? state : "?");
    print_member(job, "created_at", "created");
    print_member(job, "started_at", "started");
    print_member(job, "finished_at", "finished");
    print_member(job, "params", "params");
    print_member(job, "progress", "progress");
    print_member(job, "result", "result");
    print_member(job, "reason", "reason");
}
