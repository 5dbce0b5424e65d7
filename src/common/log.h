/* Messages to the operator, on stderr. Results go to stdout. */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

#include <stdbool.h>

extern bool log_quiet;       /* --quiet: informational messages off */

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
