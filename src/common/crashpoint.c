#include "common/crashpoint.h"

#ifdef STRATA_CRASH_POINTS

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char armed_point[64];
static long armed_n;
static atomic_long passes;

static void
arm(void)
{
    const char *spec = getenv("STRATA_CRASH_AT");
    if (!spec)
        return;
    const char *colon = strrchr(spec, ':');
    char *end;
    long n = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == spec || (size_t) (colon - spec) >= sizeof(armed_point) || *end || n < 1)
    {
        fprintf(stderr, "strata: STRATA_CRASH_AT='%s' is not POINT:N (N >= 1); ignored\n", spec);
        return;
    }
    memcpy(armed_point, spec, (size_t) (colon - spec));
    armed_point[colon - spec] = '\0';
    armed_n = n;
}

void
crash_point(const char *point)
{
    pthread_once(&once, arm);
    if (!armed_n || strcmp(point, armed_point) != 0)
        return;
    if (atomic_fetch_add(&passes, 1) + 1 != armed_n)
        return;
    char line[128];
    int len = snprintf(line, sizeof(line), "strata: crash point %s:%ld reached: SIGKILL\n", point, armed_n);
    if (write(STDERR_FILENO, line, (size_t) len) < 0)
        len = 0;
    kill(getpid(), SIGKILL);
    pause();
}

#else
/* ISO C forbids an empty translation unit. */
typedef int crashpoint_not_compiled_in;
#endif
