/* Backup policies in the catalog (strata.policies): every statement on
 * the table, for the manager's API and its scheduler. Values are text, as
 * the API validated them; a NULL value is SQL NULL. */
#ifndef STRATA_CATALOG_POLICIES_H
#define STRATA_CATALOG_POLICIES_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "common/error.h"

int catalog_policies_ensure(PGconn *meta, Error *err);

/* A new policy: period_seconds or daily_window, keep_last or keep_days. */
typedef struct CatalogPolicyNew
{
    const char *cluster, *shard, *period_seconds, *daily_window, *keep_last, *keep_days;
    const char *type;   /* full (NULL), incr or diff */
    bool enabled;
} CatalogPolicyNew;

/* A change: NULL enabled leaves it; with set_schedule, period_seconds and
 * daily_window both replaced; with set_retention, keep_last and keep_days. */
typedef struct CatalogPolicyChange
{
    const char *enabled; /* "true", "false" or NULL */
    const char *type;    /* "full", "incr", "diff" or NULL (unchanged) */
    bool set_schedule, set_retention;
    const char *period_seconds, *daily_window, *keep_last, *keep_days;
} CatalogPolicyChange;

/* The policy as JSON: id, cluster, shard, kind, type, period_seconds,
 * window, keep_last, keep_days, enabled, created_at, last_run_at. */
/* The cluster's policies (an array, by id); NULL on error. */
json_object *catalog_policies_list(PGconn *meta, const char *cluster, Error *err);
/* *row: the policy recorded. */
int catalog_policy_insert(PGconn *meta, const CatalogPolicyNew *p, json_object **row, Error *err);
/* *row: the policy as changed, NULL when there is no policy `id`. */
int catalog_policy_update(PGconn *meta, const char *id, const CatalogPolicyChange *ch, json_object **row,
                          Error *err);
/* *cluster: the deleted policy's cluster (caller frees), NULL if none. */
int catalog_policy_delete(PGconn *meta, const char *id, char **cluster, Error *err);

/* The scheduler's: every policy's id (one column), by id. Caller PQclears. */
PGresult *catalog_policy_ids(PGconn *meta, Error *err);
/* The scheduler's view of one policy, its row locked (FOR UPDATE: run it in
 * a transaction): cluster, shard, period_seconds, daily_window, keep_last,
 * keep_days, whether it ran, last run and now (epoch seconds), whether a
 * job of it is queued or running, the newest succeeded backup job of it
 * with no expire job after it (or NULL), enabled. No row when there is no
 * such policy; the backup type (full, incr, diff). Caller PQclears. */
PGresult *catalog_policy_lock_for_tick(PGconn *meta, const char *id, Error *err);
/* The policy ran now (its last_run_at). */
int catalog_policy_mark_run(PGconn *meta, const char *id, Error *err);

#endif
