/* Messages to the operator, on stderr (and --log-file). Results go to stdout.
 *
 * Every line: "2026-12-01 21:55:00.123+0000 P1234 INFO [tag] message":
 * local time with milliseconds and UTC offset, the process id, the level,
 * and the tag of the thread that logs (the command's name, or "job 7" /
 * "task 3" in the daemons, inherited by the workers a job starts), so the
 * lines of jobs that run at the same time can be told apart. */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef enum LogLevel
{
    LOG_ERROR = 0,
    LOG_WARN,
    LOG_INFO,
    LOG_DETAIL,
    LOG_DEBUG,
} LogLevel;

#define LOG_TAG_MAX 64

extern bool log_quiet;       /* --quiet: informational messages off */

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --log-level: "error", "warn", "info" (default), "detail", "debug". */
int log_parse_level(const char *name, LogLevel *out, Error *err);
void log_set_level(LogLevel level);
bool log_enabled(LogLevel level);
/* --log-file: every line is also appended to PATH (opened once, O_APPEND). */
int log_open_file(const char *path, Error *err);
/* The tag of the calling thread's lines ("backup", "job 7"); NULL: none. */
void log_set_tag(const char *tag);
/* The calling thread's tag into buf (empty when none): a thread that starts
 * workers hands it to them. */
void log_get_tag(char *buf, size_t size);
/* pthread_create (default attributes) whose thread starts with the
 * caller's tag: a job's threads' lines carry the job's tag. */
#include <pthread.h>
int log_thread_create(pthread_t *thread, void *(*start)(void *), void *arg);
/* The last error logged (log_error or a usage error), "" when none: the
 * JSON error document of --output json carries it. */
void log_last_error(char *buf, size_t size);
void log_record_error(const char *msg);
/* A copy of every line logged by a thread whose tag is `tag` (a job's
 * threads and the workers they start) goes to sink, called under the log
 * lock (a job's log kept for the API). One capture at a time; NULL ends it. */
typedef void (*LogSink)(void *ctx, const char *line);
void log_capture(const char *tag, LogSink sink, void *ctx);

#endif
