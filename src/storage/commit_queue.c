/* A bounded FIFO of writers and a few threads committing them
 * (storage/commit_queue.h). */
#include "storage/commit_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/crashpoint.h"
#include "common/util.h"

typedef struct Pending
{
    StorageWriter *w;
    char *what;
} Pending;

struct CommitQueue
{
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* an item queued or done, or stopping */
    Pending *ring;
    size_t cap, head, count;
    size_t busy;              /* popped, being committed */
    bool stopping;
    bool failed;
    Error first;              /* the first failure */
    const char *crash_point;
    pthread_t *threads;
    int nthreads;
};

static void
finish_one(CommitQueue *q, Pending p)
{
    pthread_mutex_lock(&q->lock);
    bool failed = q->failed;
    pthread_mutex_unlock(&q->lock);
    Error err;
    int rc = 0;
    if (failed)
        storage_abort(p.w);
    else if ((rc = storage_commit(p.w, &err)) == 0 && q->crash_point)
        crash_point(q->crash_point);
    pthread_mutex_lock(&q->lock);
    if (rc != 0 && !q->failed)
    {
        q->failed = true;
        q->first = err;
        error_prefix(&q->first, "committing %s: ", p.what);
    }
    q->busy--;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    free(p.what);
}

static void *
committer_main(void *arg)
{
    CommitQueue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;)
    {
        while (q->count == 0 && !q->stopping)
            pthread_cond_wait(&q->changed, &q->lock);
        if (q->count == 0)
            break;   /* stopping, and nothing left */
        Pending p = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->busy++;
        pthread_cond_broadcast(&q->changed);   /* a slot is free */
        pthread_mutex_unlock(&q->lock);
        finish_one(q, p);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

CommitQueue *
commit_queue_new(int threads, size_t max_pending, const char *crash_point_name)
{
    CommitQueue *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->changed, NULL);
    q->cap = max_pending > 0 ? max_pending : 1;
    q->ring = xcalloc(q->cap, sizeof(Pending));
    q->crash_point = crash_point_name;
    q->threads = xcalloc((size_t) (threads > 0 ? threads : 1), sizeof(pthread_t));
    for (int i = 0; i < (threads > 0 ? threads : 1); i++)
    {
        if (pthread_create(&q->threads[q->nthreads], NULL, committer_main, q) != 0)
            break;
        q->nthreads++;
    }
    return q;
}

void
commit_queue_push(CommitQueue *q, StorageWriter *w, const char *what)
{
    if (q->nthreads == 0)
    {
        /* No thread could be started: commit here, as without a queue. */
        pthread_mutex_lock(&q->lock);
        q->busy++;
        pthread_mutex_unlock(&q->lock);
        finish_one(q, (Pending){w, xstrdup(what)});
        return;
    }
    pthread_mutex_lock(&q->lock);
    while (q->count == q->cap)
        pthread_cond_wait(&q->changed, &q->lock);
    q->ring[(q->head + q->count) % q->cap] = (Pending){w, xstrdup(what)};
    q->count++;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

bool
commit_queue_failed(CommitQueue *q)
{
    pthread_mutex_lock(&q->lock);
    bool failed = q->failed;
    pthread_mutex_unlock(&q->lock);
    return failed;
}

int
commit_queue_drain(CommitQueue *q, Error *err)
{
    pthread_mutex_lock(&q->lock);
    while (q->count > 0 || q->busy > 0)
        pthread_cond_wait(&q->changed, &q->lock);
    int rc = 0;
    if (q->failed)
    {
        *err = q->first;
        rc = -1;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

void
commit_queue_free(CommitQueue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->lock);
    free(q->threads);
    free(q->ring);
    free(q);
}

int
commit_queue_close(CommitQueue *q, int rc, Error *err)
{
    Error commit_err;
    if (commit_queue_drain(q, &commit_err) != 0 && rc == 0)
    {
        *err = commit_err;
        rc = -1;
    }
    commit_queue_free(q);
    return rc;
}
