/* The cluster manager's jobs in the catalog: strata.jobs (one row a job:
 * its kind, parameters, state, result, progress) and strata.job_logs (a
 * finished job's log). Every statement on these tables is here. */
#ifndef STRATA_CATALOG_JOBS_H
#define STRATA_CATALOG_JOBS_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* The catalog (catalog_ensure), then the two tables, created or brought up
 * to date (columns and states older versions lacked). */
int catalog_jobs_ensure(PGconn *meta, Error *err);

/* Fails the jobs left 'running' (by a manager that stopped); *n of them. */
int catalog_jobs_fail_running(PGconn *meta, const char *reason, long *n, Error *err);

/* Queues a job; *id is its number. */
int catalog_job_insert(PGconn *meta, const char *cluster, const char *kind, json_object *params, int64_t *id,
                       Error *err);

/* The job as JSON (id, cluster, kind, state, reason, the times, params,
 * result, progress), or *out NULL when there is none. */
int catalog_job_get(PGconn *meta, int64_t id, json_object **out, Error *err);
/* The last `limit` jobs, newest first (an array); NULL on error. */
json_object *catalog_jobs_list(PGconn *meta, int limit, Error *err);
/* {"failed": n, "queued": n, "running": n, "succeeded": n}; NULL on error. */
json_object *catalog_jobs_count_by_state(PGconn *meta, Error *err);

/* Cancels the job if it is still queued: *was_queued says whether it was. */
int catalog_job_cancel_queued(PGconn *meta, int64_t id, bool *was_queued, Error *err);

/* Marks the oldest queued job running and returns its row (id, cluster,
 * kind, params as text), skipping rows another worker holds; a result of
 * no rows when none is queued, NULL on error. Caller PQclears. */
PGresult *catalog_job_claim_next(PGconn *meta, Error *err);
/* Replaces a running job's progress (any JSON object). */
int catalog_job_progress(PGconn *meta, const char *id, json_object *progress, Error *err);
/* Records a job's end: state, reason (NULL when it succeeded), result. */
int catalog_job_finish(PGconn *meta, const char *id, const char *state, const char *reason, json_object *result,
                       Error *err);

/* Stores a finished job's log (replacing any stored before). */
int catalog_job_log_store(PGconn *meta, long long id, const char *log, Error *err);
/* The job's state and stored log (NULL when none): one row, or none when
 * there is no such job. Caller PQclears. */
PGresult *catalog_job_log_read(PGconn *meta, long long id, Error *err);

#endif
