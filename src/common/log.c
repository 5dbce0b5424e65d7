#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

bool log_quiet = false;

static LogLevel log_level = LOG_INFO;
static int log_fd = -1;
static char last_error[ERROR_MSG_MAX];
static _Thread_local char thread_tag[LOG_TAG_MAX];
static char capture_tag[LOG_TAG_MAX];
static LogSink capture_sink;
static void *capture_ctx;

/* Workers log concurrently; one line must never interleave with another. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"error", "warn", "info", "detail", "debug"};
static const char *const level_labels[] = {"ERROR", "WARN", "INFO", "DETAIL", "DEBUG"};

int
log_parse_level(const char *name, LogLevel *out, Error *err)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (!strcmp(name, level_names[i]))
        {
            *out = (LogLevel) i;
            return 0;
        }
    return error_set(err, "--log-level: '%s' is not error, warn, info, detail or debug", name);
}

void
log_set_level(LogLevel level)
{
    log_level = level;
}

bool
log_enabled(LogLevel level)
{
    if (level >= LOG_INFO && log_quiet)
        return false;
    return level <= log_level;
}

int
log_open_file(const char *path, Error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return error_errno(err, "--log-file %s: cannot open", path);
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

typedef struct TaggedStart
{
    void *(*start)(void *);
    void *arg;
    char tag[LOG_TAG_MAX];
} TaggedStart;

static void *
tagged_main(void *p)
{
    TaggedStart s = *(TaggedStart *) p;
    free(p);
    log_set_tag(s.tag);
    return s.start(s.arg);
}

int
log_thread_create(pthread_t *thread, void *(*start)(void *), void *arg)
{
    TaggedStart *s = malloc(sizeof(*s));
    if (!s)
        return -1;
    s->start = start;
    s->arg = arg;
    snprintf(s->tag, sizeof(s->tag), "%s", thread_tag);
    int rc = pthread_create(thread, NULL, tagged_main, s);
    if (rc != 0)
        free(s);
    return rc;
}

void
log_set_tag(const char *tag)
{
    snprintf(thread_tag, sizeof(thread_tag), "%s", tag ? tag : "");
}

void
log_get_tag(char *buf, size_t size)
{
    snprintf(buf, size, "%s", thread_tag);
}

void
log_capture(const char *tag, LogSink sink, void *ctx)
{
    pthread_mutex_lock(&log_lock);
    snprintf(capture_tag, sizeof(capture_tag), "%s", tag && sink ? tag : "");
    capture_sink = tag ? sink : NULL;
    capture_ctx = ctx;
    pthread_mutex_unlock(&log_lock);
}

void
log_record_error(const char *msg)
{
    pthread_mutex_lock(&log_lock);
    snprintf(last_error, sizeof(last_error), "%s", msg);
    pthread_mutex_unlock(&log_lock);
}

void
log_last_error(char *buf, size_t size)
{
    pthread_mutex_lock(&log_lock);
    snprintf(buf, size, "%s", last_error);
    pthread_mutex_unlock(&log_lock);
}

/* "2026-12-01 21:55:00.123+0000 P1234 INFO [tag] " */
static void
line_prefix(char *buf, size_t size, LogLevel level)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char date[32], zone[8];
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    snprintf(buf, size, "%s.%03d%s P%ld %s %s%s%s", date, (int) (tv.tv_usec / 1000), zone, (long) getpid(),
                    level_labels[level], thread_tag[0] ? "[" : "", thread_tag, thread_tag[0] ? "] " : "");
}

static void
log_line(LogLevel level, const char *fmt, va_list ap)
{
    char msg[ERROR_MSG_MAX], prefix[160];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* A message is one line: embedded newlines (PostgreSQL's errors carry
     * them) would start lines without the prefix. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_lock(&log_lock);
    line_prefix(prefix, sizeof(prefix), level);
    if (level == LOG_ERROR)
        snprintf(last_error, sizeof(last_error), "%s", msg);
    if (capture_sink && thread_tag[0] && !strcmp(thread_tag, capture_tag))
    {
        char line[sizeof(prefix) + sizeof(msg)];
        snprintf(line, sizeof(line), "%s%s", prefix, msg);
        capture_sink(capture_ctx, line);
    }
    fprintf(stderr, "%s%s\n", prefix, msg);
    fflush(stderr);
    /* A full log disk must not stop a backup: the result is not checked. */
    if (log_fd >= 0)
        dprintf(log_fd, "%s%s\n", prefix, msg);
    pthread_mutex_unlock(&log_lock);
}

#define LOG_AT(level)                 \
    do                                \
    {                                 \
        if (!log_enabled(level))      \
            return;                   \
        va_list ap;                   \
        va_start(ap, fmt);            \
        log_line(level, fmt, ap);     \
        va_end(ap);                   \
    } while (0)

void
log_info(const char *fmt, ...)
{
    LOG_AT(LOG_INFO);
}

void
log_detail(const char *fmt, ...)
{
    LOG_AT(LOG_DETAIL);
}

void
log_debug(const char *fmt, ...)
{
    LOG_AT(LOG_DEBUG);
}

void
log_warn(const char *fmt, ...)
{
    LOG_AT(LOG_WARN);
}

void
log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(LOG_ERROR, fmt, ap);
    va_end(ap);
}
