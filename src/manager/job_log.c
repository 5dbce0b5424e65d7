/* A job's log: every line the job's threads log (tag "job N", inherited by
 * the workers they start) is kept in memory while it runs and stored in
 * strata.job_logs when it ends, for GET /api/v1/jobs/{id}/log. Jobs run one
 * at a time (jobs.c), so one capture is enough. Bounded: past
 * JOB_LOG_MAX bytes lines are counted, not kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/jobs.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

#define JOB_LOG_MAX (1024 * 1024)

static pthread_mutex_t job_log_lock = PTHREAD_MUTEX_INITIALIZER;
static Buffer job_log_text;
static long long job_log_id;
static size_t job_log_dropped;

static void
keep_line(void *ctx, const char *line)
{
    (void) ctx;
    size_t n = strlen(line);
    pthread_mutex_lock(&job_log_lock);
    if (job_log_text.len + n + 1 > JOB_LOG_MAX)
        job_log_dropped++;
    else
    {
        buffer_append(&job_log_text, line, n);
        buffer_append(&job_log_text, "\n", 1);
    }
    pthread_mutex_unlock(&job_log_lock);
}

void
job_log_begin(long long id)
{
    char tag[LOG_TAG_MAX];
    snprintf(tag, sizeof(tag), "job %lld", id);
    pthread_mutex_lock(&job_log_lock);
    buffer_free(&job_log_text);
    memset(&job_log_text, 0, sizeof(job_log_text));
    job_log_id = id;
    job_log_dropped = 0;
    pthread_mutex_unlock(&job_log_lock);
    log_set_tag(tag);
    log_capture(tag, keep_line, NULL);
}

/* The kept text, with the count of dropped lines; malloc'd. Under the lock. */
static char *
kept_text(void)
{
    char *text = job_log_dropped
                     ? xprintf("%.*s(%zu more line(s) not kept: the log is limited to %d bytes)\n",
                               (int) job_log_text.len, job_log_text.data ? job_log_text.data : "", job_log_dropped,
                               JOB_LOG_MAX)
                     : xprintf("%.*s", (int) job_log_text.len, job_log_text.data ? job_log_text.data : "");
    return text;
}

void
job_log_end(PGconn *c, long long id)
{
    log_capture(NULL, NULL, NULL);
    log_set_tag("cluster-manager");
    pthread_mutex_lock(&job_log_lock);
    char *text = kept_text();
    job_log_id = 0;
    pthread_mutex_unlock(&job_log_lock);
    Error err;
    if (catalog_job_log_store(c, id, text, &err) != 0)
        log_error("job %lld: %s", id, err.msg);
    free(text);
}

static void
reply_lines(ApiResponse *out, long long id, const char *text, bool running)
{
    json_object *lines = json_object_new_array();
    const char *p = text;
    while (*p)
    {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen(p);
        json_object_array_add(lines, json_object_new_string_len(p, (int) n));
        p += n + (nl ? 1 : 0);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "job", json_object_new_int64(id));
    json_object_object_add(o, "running", json_object_new_boolean(running));
    json_object_object_add(o, "lines", lines);
    http_reply(out, 200, o);
}

void
job_log_get(Manager *m, long long id, ApiResponse *out)
{
    pthread_mutex_lock(&job_log_lock);
    if (job_log_id == id)
    {
        char *text = kept_text();
        pthread_mutex_unlock(&job_log_lock);
        reply_lines(out, id, text, true);
        free(text);
        return;
    }
    pthread_mutex_unlock(&job_log_lock);
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    Error err;
    PGresult *r = catalog_job_log_read(c, id, &err);
    if (!r)
        http_error(out, 500, "%s", err.msg);
    else if (PQntuples(r) == 0)
        http_error(out, 404, "no job %lld", id);
    else if (PQgetisnull(r, 0, 1))
        reply_lines(out, id, "", !strcmp(PQgetvalue(r, 0, 0), "running") || !strcmp(PQgetvalue(r, 0, 0), "queued"));
    else
        reply_lines(out, id, PQgetvalue(r, 0, 1), false);
    PQclear(r);
}
