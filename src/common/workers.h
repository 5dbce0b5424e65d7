/* Runs a task over items 0..count-1 on N threads. Items are taken in order,
 * so callers sort the largest first to keep the tail short. The first
 * failure stops the hand-out of new items; its error is the one reported. */
#ifndef STRATA_WORKERS_H
#define STRATA_WORKERS_H

#include <stddef.h>

#include "common/error.h"

typedef int (*WorkerTask)(void *ctx, size_t item, int worker, Error *err);

int workers_run(int nworkers, size_t count, WorkerTask task, void *ctx, Error *err);
/* The same on threads whose nice value is raised by `nice` (0..19): a
 * backup reading and compressing on a database host then takes the CPU the
 * databases leave idle, not theirs. Every worker is a new thread (the
 * caller's priority cannot be lowered and raised back without privilege). */
int workers_run_niced(int nworkers, int nice, size_t count, WorkerTask task, void *ctx, Error *err);

#endif
