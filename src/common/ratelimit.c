#include "common/ratelimit.h"

#include <time.h>

#include "common/util.h"

/* Up to this much credit may accumulate while idle: short bursts pass,
 * but an idle minute does not buy a minute at full speed. */
#define BURST_SECONDS 0.2

void
ratelimit_init(RateLimit *rl, uint64_t bytes_per_sec)
{
    rl->bytes_per_sec = bytes_per_sec;
    pthread_mutex_init(&rl->lock, NULL);
    rl->next_free = now_seconds();
}

void
ratelimit_take(RateLimit *rl, uint64_t bytes)
{
    if (rl->bytes_per_sec == 0)
        return;
    pthread_mutex_lock(&rl->lock);
    double now = now_seconds();
    if (rl->next_free < now - BURST_SECONDS)
        rl->next_free = now - BURST_SECONDS;
    rl->next_free += (double) bytes / (double) rl->bytes_per_sec;
    double wait = rl->next_free - now;
    pthread_mutex_unlock(&rl->lock);
    if (wait > 0)
    {
        struct timespec ts = {(time_t) wait, (long) ((wait - (double) (time_t) wait) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}

void
ratelimit_destroy(RateLimit *rl)
{
    pthread_mutex_destroy(&rl->lock);
}
