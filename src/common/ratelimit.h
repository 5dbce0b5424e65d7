/* --max-rate: a token bucket shared by all workers of one command, so the
 * whole command, not each worker, stays under the cap. */
#ifndef STRATA_RATELIMIT_H
#define STRATA_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

typedef struct RateLimit
{
    uint64_t bytes_per_sec;     /* 0: unlimited */
    pthread_mutex_t lock;
    double next_free;           /* monotonic time at which the bucket is empty again */
} RateLimit;

void ratelimit_init(RateLimit *rl, uint64_t bytes_per_sec);
/* Blocks until `bytes` may pass. */
void ratelimit_take(RateLimit *rl, uint64_t bytes);
void ratelimit_destroy(RateLimit *rl);

#endif
