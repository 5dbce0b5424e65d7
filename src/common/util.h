/* Small helpers: memory, strings, number and size parsing, file system, time. */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);

/* Growable byte buffer. */
typedef struct Buffer
{
    char *data;
    size_t len;
    size_t cap;
} Buffer;
void buffer_append(Buffer *b, const void *data, size_t len);
void buffer_appendf(Buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buffer_free(Buffer *b);

/* "5M", "100k", "1G", "12345": bytes (powers of 1024). */
int parse_size(const char *text, uint64_t *out, Error *err);
/* Decimal digits only (no sign, no blanks); overflow refused. */
int parse_u64(const char *text, uint64_t *out, Error *err);
int parse_int_range(const char *text, long min, long max, long *out, Error *err);
/* Can a listener bind `port` on 127.0.0.1? As PostgreSQL binds (with
 * SO_REUSEADDR), a socket in TIME_WAIT does not make the port busy. */
bool loopback_port_free(int port);
/* "90", "90s", "30min", "2h", "1d": seconds, within [min, max]. */
int parse_duration(const char *text, long min, long max, long *out, Error *err);

void hex_encode(const unsigned char *in, size_t len, char *out /* 2*len+1 */);

/* File system. */
int mkdir_p(const char *path, mode_t mode, Error *err);
int dir_is_empty(const char *path, bool *empty, Error *err); /* absent counts as empty */
int fsync_path(const char *path, bool is_dir, Error *err);
int remove_tree_contents(const char *path, Error *err);   /* keeps `path` itself */
/* Whole file into `out`, refused (with an error naming the file and the
 * limit) past `max` bytes: nothing strata reads may exhaust memory. */
int read_file_limited(const char *path, size_t max, Buffer *out, Error *err);
/* Configuration files, topologies, tokens, postgresql.auto.conf. */
#define SMALL_FILE_MAX ((size_t) 16 << 20)
int read_small_file(const char *path, Buffer *out, Error *err);   /* at most SMALL_FILE_MAX */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, Error *err);

/* Wall clock. */
double now_seconds(void);                       /* monotonic */
void sleep_ms(long ms);                         /* the whole time, signals or not */
void format_utc(time_t t, char *out, size_t n); /* 2026-11-24 15:50:37+00 */
void format_bytes(uint64_t bytes, char *out, size_t n);

#endif
