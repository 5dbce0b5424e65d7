/* Runs a task over items 0..count-1 on N threads. Items are taken in order,
 * so callers sort the largest first to keep the tail short. The first
 * failure stops the hand-out of new items; its error is the one reported. */
#ifndef STRATA_WORKERS_H
#define STRATA_WORKERS_H

#include <stddef.h>

#include "common/error.h"

typedef int (*WorkerTask)(void *ctx, size_t item, int worker, Error *err);

int workers_run(int nworkers, size_t count, WorkerTask task, void *ctx, Error *err);

#endif
