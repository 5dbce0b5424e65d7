/* Running a program (pg_ctl, pg_basebackup, initdb) and waiting for it. */
#ifndef STRATA_SPAWN_H
#define STRATA_SPAWN_H

#include "common/error.h"

/* Runs argv[0] (a path) with argv; its stdout and stderr go to `log_path`
 * (appended) or /dev/null when NULL. Fails naming the program, its exit
 * status and the log. */
int spawn_wait(char *const argv[], const char *log_path, Error *err);

#endif
