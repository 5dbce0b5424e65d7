#include "pool/lease.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "pool/fields.h"

struct Lease
{
    Storage *storage;
    char *dir;               /* the backup's directory */
    char *path;              /* dir/lease.json */
    char *what;
    LeaseInfo info;
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool stopping;
    bool lost;               /* the object vanished or changed hands */
    char lost_why[ERROR_MSG_MAX];
};

static int
lease_write(Lease *l, Error *err)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "host", json_object_new_string(l->info.host));
    json_object_object_add(o, "pid", json_object_new_int64(l->info.pid));
    json_object_object_add(o, "token", json_object_new_string(l->info.token));
    json_object_object_add(o, "started", json_object_new_int64(l->info.started));
    json_object_object_add(o, "renewed", json_object_new_int64(l->info.renewed));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int rc = storage_put(l->storage, l->path, text, strlen(text), err);
    json_object_put(o);
    return rc;
}

int
lease_parse(const char *path, const Buffer *b, LeaseInfo *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    char *text = xprintf("%.*s", (int) b->len, b->data ? (const char *) b->data : "");
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    free(text);
    if (!o)
        return error_set(err, "%s: not a lease (not JSON: %s)", path, json_tokener_error_desc(jerr));
    FieldReader r;
    field_reader_init(&r, path, err);
    char *host = field_text(&r, o, "host", sizeof(out->host) - 1);
    out->pid = (long) field_int(&r, o, "pid", 0, INT32_MAX);
    char *token = field_name(&r, o, "token", false);
    if (!r.failed && strlen(token) >= sizeof(out->token))
        field_fail(&r, "field 'token' is longer than %zu characters", sizeof(out->token) - 1);
    out->started = field_int(&r, o, "started", 0, INT64_C(253402300799));
    out->renewed = field_int(&r, o, "renewed", 0, INT64_C(253402300799));
    if (!r.failed)
    {
        snprintf(out->host, sizeof(out->host), "%s", host);
        snprintf(out->token, sizeof(out->token), "%s", token);
    }
    free(host);
    free(token);
    json_object_put(o);
    return r.failed ? error_prefix(err, "not a lease: ") : 0;
}

int
lease_read(Storage *s, const char *dir, LeaseInfo *out, bool *missing, Error *err)
{
    char *path = xprintf("%s/%s", dir, LEASE_NAME);
    Buffer b = {0};
    int rc = storage_get_limited(s, path, LEASE_MAX_BYTES, &b, missing, err);
    if (rc == 0 && !*missing)
        rc = lease_parse(path, &b, out, err);
    buffer_free(&b);
    free(path);
    return rc;
}

/* Is the object still the one this owner wrote? */
static bool
still_ours(Lease *l, char *why, size_t wlen)
{
    LeaseInfo cur;
    bool missing;
    Error err;
    int rc = lease_read(l->storage, l->dir, &cur, &missing, &err);
    if (rc != 0)
    {
        snprintf(why, wlen, "%s", err.msg);
        return false;
    }
    if (missing)
    {
        snprintf(why, wlen, "its lease %s is gone: expire judged it interrupted and removed it", l->path);
        return false;
    }
    if (strcmp(cur.token, l->info.token) != 0)
    {
        snprintf(why, wlen, "its lease %s now belongs to %s pid %ld", l->path, cur.host, cur.pid);
        return false;
    }
    return true;
}

static void *
renew_main(void *arg)
{
    Lease *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping && !l->lost)
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += LEASE_RENEW_SECONDS;
        while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->lock, &ts) != ETIMEDOUT)
            ;
        if (l->stopping)
            break;
        pthread_mutex_unlock(&l->lock);
        /* Never recreate a lease that expire took: the backup is dead. */
        char why[ERROR_MSG_MAX];
        bool ours = still_ours(l, why, sizeof(why));
        Error err;
        int rc = 0;
        if (ours)
        {
            l->info.renewed = (int64_t) time(NULL);
            rc = lease_write(l, &err);
        }
        pthread_mutex_lock(&l->lock);
        if (!ours)
        {
            l->lost = true;
            snprintf(l->lost_why, sizeof(l->lost_why), "%s", why);
        }
        else if (rc != 0)
            /* Transient (a full or flaky pool): the next turn tries again;
             * a lease left stale long enough is caught by lease_check. */
            log_warn("%s: renewing the lease failed: %s", l->what, err.msg);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int
lease_take(Storage *s, const char *dir, const char *what, Lease **out, Error *err)
{
    Lease *l = xcalloc(1, sizeof(*l));
    l->storage = s;
    l->dir = xstrdup(dir);
    l->path = xprintf("%s/%s", dir, LEASE_NAME);
    l->what = xstrdup(what);
    if (gethostname(l->info.host, sizeof(l->info.host) - 1) != 0)
        snprintf(l->info.host, sizeof(l->info.host), "unknown-host");
    l->info.pid = (long) getpid();
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
    {
        free(l->dir);
        free(l->path);
        free(l->what);
        free(l);
        return error_set(err, "%s: no random bytes for the lease token (OpenSSL RAND_bytes failed)", what);
    }
    hex_encode(rnd, sizeof(rnd), l->info.token);
    l->info.started = l->info.renewed = (int64_t) time(NULL);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (lease_write(l, err) != 0)
    {
        error_prefix(err, "%s: cannot write its lease: ", what);
        lease_release(l, false);
        return -1;
    }
    l->thread_running = pthread_create(&l->thread, NULL, renew_main, l) == 0;
    if (!l->thread_running)
    {
        lease_release(l, true);
        return error_set(err, "%s: cannot start the thread that renews its lease", what);
    }
    *out = l;
    return 0;
}

int
lease_check(Lease *l, Error *err)
{
    pthread_mutex_lock(&l->lock);
    bool lost = l->lost;
    char why[ERROR_MSG_MAX];
    snprintf(why, sizeof(why), "%s", l->lost_why);
    pthread_mutex_unlock(&l->lock);
    if (!lost && !still_ours(l, why, sizeof(why)))
        lost = true;
    if (lost)
        return error_set(err, "%s cannot be completed: %s", l->what, why);
    return 0;
}

void
lease_release(Lease *l, bool remove)
{
    if (!l)
        return;
    if (l->thread_running)
    {
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
    }
    if (remove)
    {
        Error err;
        if (storage_remove(l->storage, l->path, &err) != 0)
            log_warn("%s: %s (harmless: the backup is complete)", l->what, err.msg);
    }
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->lock);
    free(l->dir);
    free(l->path);
    free(l->what);
    free(l);
}

LeaseState
lease_state(Storage *s, const char *dir, int64_t now, int64_t threshold, char *describe, size_t dlen)
{
    LeaseState state;
    LeaseInfo li;
    bool missing;
    char buf[ERROR_MSG_MAX + 64];
    Error rerr;
    if (lease_read(s, dir, &li, &missing, &rerr) != 0)
    {
        state = LEASE_UNREADABLE;
        snprintf(buf, sizeof(buf), "state unknown, left alone: %s", rerr.msg);
    }
    else if (missing)
    {
        state = LEASE_MISSING;
        snprintf(buf, sizeof(buf), "interrupted: no manifest and no lease");
    }
    else
    {
        int64_t age = now - li.renewed;
        state = age > threshold ? LEASE_STALE : LEASE_LIVE;
        if (state == LEASE_LIVE)
            snprintf(buf, sizeof(buf), "in progress: %s pid %ld, started %" PRId64 " s ago, lease renewed %" PRId64
                                       " s ago", li.host, li.pid, now - li.started, age < 0 ? 0 : age);
        else
            snprintf(buf, sizeof(buf), "interrupted: %s pid %ld last renewed its lease %" PRId64 " s ago (more than "
                                       "%" PRId64 " s)", li.host, li.pid, age, threshold);
    }
    if (describe)
        snprintf(describe, dlen, "%s", buf);
    return state;
}
