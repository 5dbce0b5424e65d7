#include "common/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static void
progress_print(Progress *p, bool final)
{
    uint64_t done = atomic_load(&p->done);
    double elapsed = now_seconds() - p->started;
    double rate = elapsed > 0 ? (double) done / elapsed : 0;
    char sdone[32], stotal[32], srate[32], eta[32] = "--";
    format_bytes(done, sdone, sizeof(sdone));
    format_bytes(p->total, stotal, sizeof(stotal));
    format_bytes((uint64_t) rate, srate, sizeof(srate));
    if (rate > 0 && p->total > done)
    {
        long secs = (long) ((double) (p->total - done) / rate);
        snprintf(eta, sizeof(eta), "%ld:%02ld", secs / 60, secs % 60);
    }
    else if (p->total <= done)
        snprintf(eta, sizeof(eta), "0:00");
    double pct = p->total ? 100.0 * (double) done / (double) p->total : 100.0;
    fprintf(stderr, "\r%s: %s / %s (%5.1f%%)  %s/s  ETA %s   %s", p->what, sdone, stotal,
            pct > 100 ? 100.0 : pct, srate, eta, final ? "\n" : "");
    fflush(stderr);
}

static void *
progress_thread(void *arg)
{
    Progress *p = arg;
    while (!atomic_load(&p->stop))
    {
        for (int i = 0; i < 2 && !atomic_load(&p->stop); i++)
            sleep_ms(250);
        if (!atomic_load(&p->stop))
            progress_print(p, false);
    }
    return NULL;
}

void
progress_start(Progress *p, const char *what, uint64_t total, bool quiet)
{
    p->what = what;
    p->total = total;
    atomic_store(&p->done, 0);
    atomic_store(&p->stop, false);
    p->started = now_seconds();
    p->enabled = !quiet && isatty(STDERR_FILENO);
    if (p->enabled && pthread_create(&p->thread, NULL, progress_thread, p) != 0)
        p->enabled = false;
}

void
progress_finish(Progress *p)
{
    if (!p->enabled)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    progress_print(p, true);
    p->enabled = false;
}
