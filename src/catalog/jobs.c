/* strata.jobs and strata.job_logs: see jobs.h. */
#include "catalog/jobs.h"

#include <stdio.h>
#include <stdlib.h>

#include "catalog/catalog.h"
#include "catalog/sql.h"

static const char jobs_ddl[] =
    "SET client_min_messages = warning;\n"
    "CREATE TABLE IF NOT EXISTS strata.jobs (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    cluster text NOT NULL,\n"
    "    kind text NOT NULL,\n"
    "    state text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_state_check\n"
    "        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),\n"
    "    reason text,\n"
    "    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    started_at timestamptz,\n"
    "    finished_at timestamptz,\n"
    "    params jsonb NOT NULL DEFAULT '{}',\n"
    "    result jsonb\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS jobs_state ON strata.jobs (state);\n"
    /* A running job's progress (job_progress_update); added to tables of
     * older versions too. */
    "ALTER TABLE strata.jobs ADD COLUMN IF NOT EXISTS progress jsonb;\n"
    /* 'cancelled' (job_cancel), in tables of older versions too. */
    "DO $$ BEGIN\n"
    "    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'strata.jobs'::regclass\n"
    "                   AND conname = 'jobs_state_check' AND pg_get_constraintdef(oid) LIKE '%cancelled%') THEN\n"
    "        ALTER TABLE strata.jobs DROP CONSTRAINT IF EXISTS jobs_state_check;\n"
    "        ALTER TABLE strata.jobs ADD CONSTRAINT jobs_state_check\n"
    "            CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));\n"
    "    END IF;\n"
    "END $$;\n";

#define JOB_COLUMNS                                                                                  \
    "id, cluster, kind, state, reason, created_at::text, started_at::text, finished_at::text, params::text, " \
    "result::text, progress::text"

static const char job_logs_ddl[] = "CREATE TABLE IF NOT EXISTS strata.job_logs (job bigint PRIMARY KEY, log text NOT NULL)";

int
catalog_jobs_ensure(PGconn *meta, Error *err)
{
    if (catalog_ensure(meta, err) != 0)
        return -1;
    if (catalog_run(meta, "creating strata.jobs", PGRES_COMMAND_OK, jobs_ddl, 0, NULL, err) != 0)
        return -1;
    return catalog_run(meta, "creating strata.job_logs", PGRES_COMMAND_OK, job_logs_ddl, 0, NULL, err);
}

int
catalog_jobs_fail_running(PGconn *meta, const char *reason, long *n, Error *err)
{
    const char *p[1] = {reason};
    PGresult *r = catalog_exec(meta, "failing interrupted jobs", PGRES_COMMAND_OK,
                               "UPDATE strata.jobs SET state = 'failed', finished_at = clock_timestamp(), "
                               "reason = $1 WHERE state = 'running'", 1, p, err);
    if (!r)
        return -1;
    *n = atol(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

int
catalog_job_insert(PGconn *meta, const char *cluster, const char *kind, json_object *params, int64_t *id,
                   Error *err)
{
    const char *p[3] = {cluster, kind, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN)};
    PGresult *r = catalog_exec(meta, "recording the job", PGRES_TUPLES_OK,
                               "INSERT INTO strata.jobs (cluster, kind, params) VALUES ($1, $2, $3) RETURNING id", 3, p,
                               err);
    if (!r)
        return -1;
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static json_object *
text_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

static json_object *
job_row(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
    json_object_object_add(o, "cluster", text_or_null(r, i, 1));
    json_object_object_add(o, "kind", text_or_null(r, i, 2));
    json_object_object_add(o, "state", text_or_null(r, i, 3));
    json_object_object_add(o, "reason", text_or_null(r, i, 4));
    json_object_object_add(o, "created_at", text_or_null(r, i, 5));
    json_object_object_add(o, "started_at", text_or_null(r, i, 6));
    json_object_object_add(o, "finished_at", text_or_null(r, i, 7));
    json_object_object_add(o, "params", PQgetisnull(r, i, 8) ? NULL : json_tokener_parse(PQgetvalue(r, i, 8)));
    json_object_object_add(o, "result", PQgetisnull(r, i, 9) ? NULL : json_tokener_parse(PQgetvalue(r, i, 9)));
    json_object_object_add(o, "progress", PQgetisnull(r, i, 10) ? NULL : json_tokener_parse(PQgetvalue(r, i, 10)));
    return o;
}

static void
id_text(int64_t id, char out[32])
{
    snprintf(out, 32, "%lld", (long long) id);
}

int
catalog_job_get(PGconn *meta, int64_t id, json_object **out, Error *err)
{
    char ids[32];
    id_text(id, ids);
    const char *p[1] = {ids};
    *out = NULL;
    PGresult *r = catalog_exec(meta, "reading the job", PGRES_TUPLES_OK,
                               "SELECT " JOB_COLUMNS " FROM strata.jobs WHERE id = $1", 1, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        *out = job_row(r, 0);
    PQclear(r);
    return 0;
}

json_object *
catalog_jobs_list(PGconn *meta, int limit, Error *err)
{
    char lim[32];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[1] = {lim};
    PGresult *r = catalog_exec(meta, "listing jobs", PGRES_TUPLES_OK,
                               "SELECT " JOB_COLUMNS " FROM strata.jobs ORDER BY id DESC LIMIT $1", 1, p, err);
    if (!r)
        return NULL;
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(a, job_row(r, i));
    PQclear(r);
    return a;
}

json_object *
catalog_jobs_count_by_state(PGconn *meta, Error *err)
{
    PGresult *r = catalog_exec(meta, "counting jobs", PGRES_TUPLES_OK,
                               "SELECT s, count(j.id) FROM unnest(ARRAY['queued','running','succeeded','failed']) s "
                               "LEFT JOIN strata.jobs j ON j.state = s GROUP BY s ORDER BY s",
                               0, NULL, err);
    if (!r)
        return NULL;
    json_object *o = json_object_new_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_object_add(o, PQgetvalue(r, i, 0), json_object_new_int64(strtoll(PQgetvalue(r, i, 1), NULL, 10)));
    PQclear(r);
    return o;
}

int
catalog_job_cancel_queued(PGconn *meta, int64_t id, bool *was_queued, Error *err)
{
    char ids[32];
    id_text(id, ids);
    const char *p[1] = {ids};
    PGresult *r = catalog_exec(meta, "cancelling a queued job", PGRES_TUPLES_OK,
                               "UPDATE strata.jobs SET state = 'cancelled', finished_at = clock_timestamp(), "
                               "reason = 'cancelled before it started' WHERE id = $1 AND state = 'queued' "
                               "RETURNING id", 1, p, err);
    if (!r)
        return -1;
    *was_queued = PQntuples(r) == 1;
    PQclear(r);
    return 0;
}

PGresult *
catalog_job_claim_next(PGconn *meta, Error *err)
{
    return catalog_exec(meta, "taking a queued job", PGRES_TUPLES_OK,
                        "UPDATE strata.jobs SET state = 'running', started_at = clock_timestamp() WHERE id = "
                        "(SELECT id FROM strata.jobs WHERE state = 'queued' ORDER BY id LIMIT 1 "
                        "FOR UPDATE SKIP LOCKED) RETURNING id, cluster, kind, params::text", 0, NULL, err);
}

int
catalog_job_finish(PGconn *meta, const char *id, const char *state, const char *reason, json_object *result,
                   Error *err)
{
    const char *p[4] = {id, state, reason,
                        result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : NULL};
    return catalog_run(meta, "recording its end", PGRES_COMMAND_OK,
                       "UPDATE strata.jobs SET state = $2, reason = $3, result = $4::jsonb, "
                       "finished_at = clock_timestamp() WHERE id = $1", 4, p, err);
}

int
catalog_job_progress(PGconn *meta, const char *id, json_object *progress, Error *err)
{
    const char *p[2] = {id, json_object_to_json_string_ext(progress, JSON_C_TO_STRING_PLAIN)};
    return catalog_run(meta, "recording its progress", PGRES_COMMAND_OK,
                       "UPDATE strata.jobs SET progress = $2::jsonb WHERE id = $1", 2, p, err);
}

int
catalog_job_log_store(PGconn *meta, long long id, const char *log, Error *err)
{
    char ids[32];
    id_text(id, ids);
    const char *p[2] = {ids, log};
    return catalog_run(meta, "storing its log", PGRES_COMMAND_OK,
                       "INSERT INTO strata.job_logs (job, log) VALUES ($1, $2) "
                       "ON CONFLICT (job) DO UPDATE SET log = excluded.log", 2, p, err);
}

PGresult *
catalog_job_log_read(PGconn *meta, long long id, Error *err)
{
    char ids[32];
    id_text(id, ids);
    const char *p[1] = {ids};
    return catalog_exec(meta, "reading the job's log", PGRES_TUPLES_OK,
                        "SELECT j.state, l.log FROM strata.jobs j LEFT JOIN strata.job_logs l ON l.job = j.id "
                        "WHERE j.id = $1", 1, p, err);
}
