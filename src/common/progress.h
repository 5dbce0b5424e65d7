/* Progress of long work on a terminal: bytes done/total, rate, ETA.
 * Silent when stderr is not a TTY or with --quiet. */
#ifndef STRATA_PROGRESS_H
#define STRATA_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct Progress
{
    const char *what;            /* "backup", "restore" */
    uint64_t total;
    _Atomic uint64_t done;
    double started;
    bool enabled;
    _Atomic bool stop;
    pthread_t thread;
} Progress;

void progress_start(Progress *p, const char *what, uint64_t total, bool quiet);
static inline void progress_add(Progress *p, uint64_t n) { atomic_fetch_add(&p->done, n); }
void progress_finish(Progress *p);

#endif
