#include "common/workers.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

typedef struct WorkerPool
{
    WorkerTask task;
    void *ctx;
    size_t count;
    _Atomic size_t next;
    _Atomic bool failed;
    pthread_mutex_t lock;
    Error first_error;
} WorkerPool;

typedef struct WorkerArg
{
    WorkerPool *pool;
    int id;
    int nice;
    char log_tag[LOG_TAG_MAX];   /* the starting thread's, so its workers' lines carry it */
} WorkerArg;

static void *
worker_main(void *arg)
{
    WorkerArg *wa = arg;
    WorkerPool *pool = wa->pool;
    log_set_tag(wa->log_tag);
    if (wa->nice > 0)
    {
        /* Linux keeps a nice value per thread; a failure only costs the
         * politeness, not the backup. */
        pid_t tid = (pid_t) syscall(SYS_gettid);
        errno = 0;
        int cur = getpriority(PRIO_PROCESS, (id_t) tid);
        if (errno == 0)
        {
            int want = cur + wa->nice > 19 ? 19 : cur + wa->nice;
            (void) setpriority(PRIO_PROCESS, (id_t) tid, want);
        }
    }
    Error err;
    error_clear(&err);
    while (!atomic_load(&pool->failed))
    {
        size_t item = atomic_fetch_add(&pool->next, 1);
        if (item >= pool->count)
            break;
        if (pool->task(pool->ctx, item, wa->id, &err) != 0)
        {
            pthread_mutex_lock(&pool->lock);
            if (!atomic_load(&pool->failed))
            {
                memcpy(&pool->first_error, &err, sizeof(err));
                atomic_store(&pool->failed, true);
            }
            pthread_mutex_unlock(&pool->lock);
            break;
        }
    }
    return NULL;
}

int
workers_run(int nworkers, size_t count, WorkerTask task, void *ctx, Error *err)
{
    return workers_run_niced(nworkers, 0, count, task, ctx, err);
}

int
workers_run_niced(int nworkers, int nice, size_t count, WorkerTask task, void *ctx, Error *err)
{
    if (nworkers < 1)
        nworkers = 1;
    if ((size_t) nworkers > count)
        nworkers = count ? (int) count : 1;
    WorkerPool pool = {.task = task, .ctx = ctx, .count = count};
    atomic_store(&pool.next, 0);
    atomic_store(&pool.failed, false);
    pthread_mutex_init(&pool.lock, NULL);
    error_clear(&pool.first_error);

    pthread_t *threads = xcalloc((size_t) nworkers, sizeof(pthread_t));
    bool *running = xcalloc((size_t) nworkers, sizeof(bool));
    WorkerArg *args = xcalloc((size_t) nworkers, sizeof(WorkerArg));
    for (int i = 0; i < nworkers; i++)
    {
        args[i].pool = &pool;
        args[i].id = i;
        args[i].nice = nice;
        log_get_tag(args[i].log_tag, sizeof(args[i].log_tag));
        /* A thread that cannot start leaves its share to the others. */
        if (i > 0 || nice > 0)
            running[i] = pthread_create(&threads[i], NULL, worker_main, &args[i]) == 0;
    }
    /* Without a nice value, the calling thread is worker 0: one fewer
     * thread, and a single-job run has no threads at all. With one, it is
     * worker 0 only if its thread could not start (at normal priority
     * rather than not at all). */
    if (nice == 0 || !running[0])
    {
        args[0].nice = 0;
        worker_main(&args[0]);
    }
    for (int i = 0; i < nworkers; i++)
        if (running[i])
            pthread_join(threads[i], NULL);
    free(running);
    free(threads);
    free(args);
    pthread_mutex_destroy(&pool.lock);
    if (atomic_load(&pool.failed))
    {
        memcpy(err, &pool.first_error, sizeof(*err));
        return -1;
    }
    return 0;
}
