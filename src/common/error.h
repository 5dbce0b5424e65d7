/* Errors carried up the call chain: every failure names the thing and the cause. */
#ifndef STRATA_ERROR_H
#define STRATA_ERROR_H

#include <stddef.h>

#define ERROR_MSG_MAX 2048

typedef struct Error
{
    char msg[ERROR_MSG_MAX];
} Error;

/* Sets the message and returns -1, so callers can `return error_set(...)`. */
int error_set(Error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like error_set, appending strerror(errno). */
int error_errno(Error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends context ("restoring base/1/1234: ") to an existing message; returns -1. */
int error_prefix(Error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_clear(Error *err);

#endif
