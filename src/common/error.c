#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* err->msg = a + b + c, cut to fit: a long path must not lose the cause. */
static void
join_message(Error *err, const char *a, const char *b, const char *c)
{
    size_t cap = sizeof(err->msg) - 1, len = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
    {
        size_t n = strlen(parts[i]);
        if (n > cap - len)
            n = cap - len;
        memmove(err->msg + len, parts[i], n);
        len += n;
    }
    err->msg[len] = '\0';
}

int
error_set(Error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int
error_errno(Error *err, const char *fmt, ...)
{
    int saved = errno;
    char head[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    join_message(err, head, ": ", strerror(saved));
    errno = saved;
    return -1;
}

int
error_prefix(Error *err, const char *fmt, ...)
{
    char head[ERROR_MSG_MAX];
    char tail[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(tail, err->msg, sizeof(tail));
    join_message(err, head, "", tail);
    return -1;
}

void
error_clear(Error *err)
{
    err->msg[0] = '\0';
}
