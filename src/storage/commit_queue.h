/* Commits of storage writers, done by background threads: the thread that
 * wrote an object goes on to the next one while the storage makes this one
 * durable and visible (on a directory pool an fsync of the file and of its
 * directory, on S3 the PUT or the upload's completion). Without it a backup
 * worker waits for each of those with its CPU idle.
 *
 * Whoever relies on the objects being there (a backup's manifest) calls
 * commit_queue_drain() first: every object pushed is committed, or the
 * first failure is returned, by then. After a failure the writers pushed
 * later are aborted, not committed. */
#ifndef STRATA_COMMIT_QUEUE_H
#define STRATA_COMMIT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "storage/storage.h"

typedef struct CommitQueue CommitQueue;

/* `threads` committing threads; a push waits while `max_pending` writers
 * (each holding what its storage buffers until commit) are queued.
 * `crash_point` (common/crashpoint.h; NULL: none) is passed after each
 * commit, as a synchronous caller would. */
CommitQueue *commit_queue_new(int threads, size_t max_pending, const char *crash_point);
/* Takes w over; `what` (copied) names the object in an error. */
void commit_queue_push(CommitQueue *q, StorageWriter *w, const char *what);
/* Has a commit failed? Writers may stop early then. */
bool commit_queue_failed(CommitQueue *q);
/* Waits until every pushed writer is committed or aborted: 0, or -1 with
 * the first failure. The queue stays usable. */
int commit_queue_drain(CommitQueue *q, Error *err);
/* Drains, stops the threads and frees; NULL is allowed. */
void commit_queue_free(CommitQueue *q);
/* For the end of the work the queue served, whose result is rc: drains and
 * frees q, and returns rc, or -1 with the first failed commit's error in
 * err when rc was 0 (an earlier error stays the one reported). */
int commit_queue_close(CommitQueue *q, int rc, Error *err);

#endif
