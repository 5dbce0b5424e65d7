#include "common/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
out_of_memory(size_t n)
{
    fprintf(stderr, "strata: error: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *
xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = xmalloc((size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

bool
str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

void
buffer_append(Buffer *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap)
    {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void
buffer_appendf(Buffer *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *tmp = xmalloc((size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t) n + 1, fmt, ap);
    va_end(ap);
    buffer_append(b, tmp, (size_t) n);
    free(tmp);
}

void
buffer_free(Buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int
parse_u64(const char *text, uint64_t *out, Error *err)
{
    if (!text || !*text)
        return error_set(err, "'' is not a whole number");
    uint64_t v = 0;
    for (const char *c = text; *c; c++)
    {
        if (!isdigit((unsigned char) *c))
            return error_set(err, "'%.80s' is not a whole number (digits only)", text);
        unsigned d = (unsigned) (*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return error_set(err, "'%.80s' is out of range (larger than %" PRIu64 ")", text, UINT64_MAX);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
parse_size(const char *text, uint64_t *out, Error *err)
{
    static const char *const what = "is not a size (expected a number with optional K, M or G)";
    if (!text || !isdigit((unsigned char) text[0]))
        return error_set(err, "'%s' %s", text ? text : "", what);
    size_t digits = strspn(text, "0123456789");
    char *number = xprintf("%.*s", (int) digits, text);
    uint64_t v;
    int rc = parse_u64(number, &v, err);
    free(number);
    if (rc != 0)
        return error_set(err, "'%s' is out of range", text);
    const char *end = text + digits;
    uint64_t mult = 1;
    switch (toupper((unsigned char) *end))
    {
        case '\0': break;
        case 'K': mult = 1024ULL; end++; break;
        case 'M': mult = 1024ULL * 1024; end++; break;
        case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
        default: return error_set(err, "'%s' %s", text, what);
    }
    if (toupper((unsigned char) *end) == 'B')
        end++;
    if (*end != '\0')
        return error_set(err, "'%s' %s", text, what);
    if (v > UINT64_MAX / mult)
        return error_set(err, "'%s' is out of range", text);
    *out = v * mult;
    return 0;
}

int
parse_int_range(const char *text, long min, long max, long *out, Error *err)
{
    char *end;
    errno = 0;
    /* Digits with an optional '-': no blanks, no '+', no "0x". */
    if (!text || !(isdigit((unsigned char) text[0]) || (text[0] == '-' && isdigit((unsigned char) text[1]))))
        return error_set(err, "'%.80s' is not a whole number", text ? text : "");
    long v = strtol(text, &end, 10);
    if (errno == ERANGE)
        return error_set(err, "'%.80s' is out of range (%ld to %ld)", text, min, max);
    if (errno || end == text || *end != '\0')
        return error_set(err, "'%.80s' is not a whole number", text);
    if (v < min || v > max)
        return error_set(err, "%ld is out of range (%ld to %ld)", v, min, max);
    *out = v;
    return 0;
}

bool
loopback_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

int
parse_duration(const char *text, long min, long max, long *out, Error *err)
{
    static const struct
    {
        const char *unit;
        long seconds;
    } units[] = {{"", 1}, {"s", 1}, {"min", 60}, {"m", 60}, {"h", 3600}, {"d", 86400}};
    char *end;
    errno = 0;
    long v = isdigit((unsigned char) text[0]) ? strtol(text, &end, 10) : -1;
    if (errno || v < 0)
        return error_set(err, "'%s' is not a duration (a whole number with s, min, h or d)", text);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (v > max / units[i].seconds || v * units[i].seconds < min || v * units[i].seconds > max)
            return error_set(err, "%s is out of range (%ld s to %ld s)", text, min, max);
        *out = v * units[i].seconds;
        return 0;
    }
    return error_set(err, "'%s' is not a duration: unknown unit '%s' (s, min, h or d)", text, end);
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++)
    {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int
mkdir_p(const char *path, mode_t mode, Error *err)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++)
    {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST)
        {
            error_errno(err, "cannot create directory %s", p);
            free(p);
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, mode) != 0 && errno != EEXIST)
    {
        error_errno(err, "cannot create directory %s", p);
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

int
dir_is_empty(const char *path, bool *empty, Error *err)
{
    DIR *d = opendir(path);
    if (!d)
    {
        if (errno == ENOENT)
        {
            *empty = true;
            return 0;
        }
        return error_errno(err, "cannot open directory %s", path);
    }
    struct dirent *e;
    *empty = true;
    while ((e = readdir(d)) != NULL)
    {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
        {
            *empty = false;
            break;
        }
    }
    closedir(d);
    return 0;
}

int
fsync_path(const char *path, bool is_dir, Error *err)
{
    int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0)
        return error_errno(err, "cannot open %s to sync it", path);
    if (fsync(fd) != 0)
    {
        error_errno(err, "cannot sync %s", path);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int
remove_tree_contents(const char *path, Error *err)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : error_errno(err, "cannot open directory %s", path);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL)
    {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *child = xprintf("%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
        {
            rc = remove_tree_contents(child, err);
            if (rc == 0 && rmdir(child) != 0)
                rc = error_errno(err, "cannot remove directory %s", child);
        }
        else if (unlink(child) != 0 && errno != ENOENT)
            rc = error_errno(err, "cannot remove %s", child);
        free(child);
    }
    closedir(d);
    return rc;
}

int
read_file_limited(const char *path, size_t max, Buffer *out, Error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return error_errno(err, "cannot open %s", path);
    char buf[65536];
    ssize_t n;
    size_t total = 0;
    /* Read at most one byte past the limit: enough to know it is exceeded,
     * whatever the file is (/dev/zero, a pipe, a huge file). */
    while ((n = read(fd, buf, total + sizeof(buf) > max + 1 ? max + 1 - total : sizeof(buf))) > 0)
    {
        total += (size_t) n;
        if (total > max)
        {
            close(fd);
            buffer_free(out);
            return error_set(err, "%s is larger than %zu bytes: refusing to read it", path, max);
        }
        buffer_append(out, buf, (size_t) n);
    }
    int saved = errno;
    close(fd);
    if (n < 0)
    {
        errno = saved;
        return error_errno(err, "cannot read %s", path);
    }
    if (!out->data)
        buffer_append(out, "", 0);
    return 0;
}

int
read_small_file(const char *path, Buffer *out, Error *err)
{
    return read_file_limited(path, SMALL_FILE_MAX, out, err);
}

int
write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, Error *err)
{
    char *tmp = xprintf("%s.strata-tmp.%d", path, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
    {
        error_errno(err, "cannot create %s", tmp);
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0)
    {
        ssize_t n = write(fd, p, left);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            error_errno(err, "cannot write %s", tmp);
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        p += n;
        left -= (size_t) n;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
    {
        error_errno(err, "cannot sync %s", tmp);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0)
    {
        error_errno(err, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void
format_utc(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S+00", &tm);
}

void
format_bytes(uint64_t bytes, char *out, size_t n)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double) bytes;
    int u = 0;
    while (v >= 1024 && u < 4)
    {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%llu B", (unsigned long long) bytes);
    else
        snprintf(out, n, "%.1f %s", v, units[u]);
}
