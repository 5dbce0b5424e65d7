/* The worker pool: every item done once, the first failure reported, and
 * workers_run_niced's threads really at the raised nice value while the
 * caller's stays as it was. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/workers.h"
#include "unit.h"

#define ITEMS 64

typedef struct
{
    _Atomic int done[ITEMS];
    _Atomic int min_nice, max_nice;
    size_t fail_at;
} Ctx;

static int
thread_nice(void)
{
    errno = 0;
    return getpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid));
}

static int
task(void *arg, size_t item, int worker, Error *err)
{
    Ctx *c = arg;
    atomic_fetch_add(&c->done[item], 1);
    int n = thread_nice();
    int cur = atomic_load(&c->min_nice);
    while (n < cur && !atomic_compare_exchange_weak(&c->min_nice, &cur, n))
        ;
    cur = atomic_load(&c->max_nice);
    while (n > cur && !atomic_compare_exchange_weak(&c->max_nice, &cur, n))
        ;
    if (c->fail_at && item == c->fail_at)
        return error_set(err, "item %zu failed on purpose", item);
    return 0;
}

static void
ctx_init(Ctx *c, size_t fail_at)
{
    memset(c, 0, sizeof(*c));
    atomic_store(&c->min_nice, 100);
    atomic_store(&c->max_nice, -100);
    c->fail_at = fail_at;
}

int
main(void)
{
    Ctx c;
    Error err;
    int before = thread_nice();

    ctx_init(&c, 0);
    CHECK(workers_run(3, ITEMS, task, &c, &err) == 0, "workers_run succeeds");
    int once = 1;
    for (int i = 0; i < ITEMS; i++)
        once &= atomic_load(&c.done[i]) == 1;
    CHECK(once, "every item done exactly once");
    CHECK(atomic_load(&c.min_nice) == before && atomic_load(&c.max_nice) == before, "workers_run: caller's nice value");

    ctx_init(&c, 0);
    CHECK(workers_run_niced(2, 5, ITEMS, task, &c, &err) == 0, "workers_run_niced succeeds");
    once = 1;
    for (int i = 0; i < ITEMS; i++)
        once &= atomic_load(&c.done[i]) == 1;
    CHECK(once, "niced: every item done exactly once");
    int want = before + 5 > 19 ? 19 : before + 5;
    CHECK(atomic_load(&c.min_nice) == want && atomic_load(&c.max_nice) == want, "niced: every item ran at nice + 5");
    CHECK(thread_nice() == before, "niced: the caller's own nice value is unchanged");

    ctx_init(&c, 0);
    CHECK(workers_run_niced(1, 30, 4, task, &c, &err) == 0 && atomic_load(&c.max_nice) == 19,
          "niced: the value is capped at 19");

    ctx_init(&c, 7);
    CHECK(workers_run_niced(2, 3, ITEMS, task, &c, &err) != 0 && strstr(err.msg, "item 7 failed"),
          "niced: the failure is reported with its message");
    UNIT_DONE();
}
