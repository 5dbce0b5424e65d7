/* strata.policies: see policies.h. */
#include "catalog/policies.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/sql.h"
#include "common/util.h"

static const char policies_sql[] =
    "SET client_min_messages = warning;\n"
    "CREATE TABLE IF NOT EXISTS strata.policies (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    cluster text NOT NULL,\n"
    "    shard text,\n"   /* NULL: the whole cluster */
    "    kind text NOT NULL DEFAULT 'backup' CHECK (kind = 'backup'),\n"
    "    type text NOT NULL DEFAULT 'full' CHECK (type IN ('full', 'incr', 'diff')),\n"
    "    period_seconds integer CHECK (period_seconds > 0),\n"
    "    daily_window text,\n"   /* 'HH:MM-HH:MM' UTC */
    "    keep_last integer CHECK (keep_last > 0),\n"
    "    keep_days integer CHECK (keep_days > 0),\n"
    "    enabled boolean NOT NULL DEFAULT true,\n"
    "    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    last_run_at timestamptz,\n"
    "    CHECK ((period_seconds IS NULL) <> (daily_window IS NULL)),\n"
    "    CHECK (keep_last IS NULL OR keep_days IS NULL)\n"
    ");\n"
    /* incr and diff (incremental cluster backups), in tables of older
     * versions too, whose check allowed 'full' only. */
    "DO $$ BEGIN\n"
    "    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'strata.policies'::regclass\n"
    "                   AND conname = 'policies_type_check' AND pg_get_constraintdef(oid) LIKE '%incr%') THEN\n"
    "        ALTER TABLE strata.policies DROP CONSTRAINT IF EXISTS policies_type_check;\n"
    "        ALTER TABLE strata.policies ADD CONSTRAINT policies_type_check\n"
    "            CHECK (type IN ('full', 'incr', 'diff'));\n"
    "    END IF;\n"
    "END $$;\n";

#define POLICY_COLUMNS                                                                                  \
    "id, cluster, shard, kind, type, period_seconds, daily_window, keep_last, keep_days, enabled, "      \
    "created_at::text, last_run_at::text, extract(epoch FROM last_run_at)"

static json_object *
policy_row(PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
    json_object_object_add(o, "cluster", json_object_new_string(PQgetvalue(r, i, 1)));
    json_object_object_add(o, "shard", PQgetisnull(r, i, 2) ? NULL : json_object_new_string(PQgetvalue(r, i, 2)));
    json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(r, i, 3)));
    json_object_object_add(o, "type", json_object_new_string(PQgetvalue(r, i, 4)));
    json_object_object_add(o, "period_seconds",
                           PQgetisnull(r, i, 5) ? NULL : json_object_new_int64(atoll(PQgetvalue(r, i, 5))));
    json_object_object_add(o, "window", PQgetisnull(r, i, 6) ? NULL : json_object_new_string(PQgetvalue(r, i, 6)));
    json_object_object_add(o, "keep_last", PQgetisnull(r, i, 7) ? NULL : json_object_new_int(atoi(PQgetvalue(r, i, 7))));
    json_object_object_add(o, "keep_days", PQgetisnull(r, i, 8) ? NULL : json_object_new_int(atoi(PQgetvalue(r, i, 8))));
    json_object_object_add(o, "enabled", json_object_new_boolean(!strcmp(PQgetvalue(r, i, 9), "t")));
    json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 10)));
    json_object_object_add(o, "last_run_at",
                           PQgetisnull(r, i, 11) ? NULL : json_object_new_string(PQgetvalue(r, i, 11)));
    return o;
}

/* ---- API ---- */




int
catalog_policies_ensure(PGconn *meta, Error *err)
{
    return catalog_run(meta, "creating strata.policies", PGRES_COMMAND_OK, policies_sql, 0, NULL, err);
}

json_object *
catalog_policies_list(PGconn *meta, const char *cluster, Error *err)
{
    const char *p[1] = {cluster};
    PGresult *r = catalog_exec(meta, "listing policies", PGRES_TUPLES_OK,
                               "SELECT " POLICY_COLUMNS " FROM strata.policies WHERE cluster = $1 ORDER BY id", 1, p,
                               err);
    if (!r)
        return NULL;
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(a, policy_row(r, i));
    PQclear(r);
    return a;
}

int
catalog_policy_insert(PGconn *meta, const CatalogPolicyNew *n, json_object **row, Error *err)
{
    const char *p[8] = {n->cluster, n->shard, n->period_seconds, n->daily_window, n->keep_last, n->keep_days,
                        n->enabled ? "true" : "false", n->type ? n->type : "full"};
    PGresult *r = catalog_exec(meta, "recording the policy", PGRES_TUPLES_OK,
                               "INSERT INTO strata.policies (cluster, shard, period_seconds, daily_window, keep_last, "
                               "keep_days, enabled, type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING "
                               POLICY_COLUMNS, 8, p, err);
    if (!r)
        return -1;
    *row = policy_row(r, 0);
    PQclear(r);
    return 0;
}

int
catalog_policy_update(PGconn *meta, const char *id, const CatalogPolicyChange *ch, json_object **row, Error *err)
{
    const char *p[9] = {id, ch->enabled, ch->set_schedule ? "t" : "f", ch->period_seconds, ch->daily_window,
                        ch->set_retention ? "t" : "f", ch->keep_last, ch->keep_days, ch->type};
    PGresult *r = catalog_exec(meta, "changing the policy", PGRES_TUPLES_OK,
                               "UPDATE strata.policies SET enabled = COALESCE($2::boolean, enabled), "
                               "period_seconds = CASE WHEN $3::boolean THEN $4::integer ELSE period_seconds END, "
                               "daily_window = CASE WHEN $3::boolean THEN $5 ELSE daily_window END, "
                               "keep_last = CASE WHEN $6::boolean THEN $7::integer ELSE keep_last END, "
                               "keep_days = CASE WHEN $6::boolean THEN $8::integer ELSE keep_days END, "
                               "type = COALESCE($9, type) "
                               "WHERE id = $1 RETURNING " POLICY_COLUMNS,
                               9, p, err);
    if (!r)
        return -1;
    *row = PQntuples(r) ? policy_row(r, 0) : NULL;
    PQclear(r);
    return 0;
}

int
catalog_policy_delete(PGconn *meta, const char *id, char **cluster, Error *err)
{
    const char *p[1] = {id};
    PGresult *r = catalog_exec(meta, "deleting the policy", PGRES_TUPLES_OK,
                               "DELETE FROM strata.policies WHERE id = $1 RETURNING cluster", 1, p, err);
    if (!r)
        return -1;
    *cluster = PQntuples(r) ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return 0;
}

PGresult *
catalog_policy_ids(PGconn *meta, Error *err)
{
    /* Disabled ones too: the retention of their finished backups applies. */
    return catalog_exec(meta, "listing policies", PGRES_TUPLES_OK, "SELECT id FROM strata.policies ORDER BY id", 0,
                        NULL, err);
}

PGresult *
catalog_policy_lock_for_tick(PGconn *meta, const char *id, Error *err)
{
    const char *p[1] = {id};
    return catalog_exec(meta, "reading a policy", PGRES_TUPLES_OK,
                        "SELECT cluster, shard, period_seconds, daily_window, keep_last, keep_days, "
                        "last_run_at IS NOT NULL, coalesce(extract(epoch FROM last_run_at), 0), "
                        "extract(epoch FROM clock_timestamp()), "
                        "EXISTS (SELECT 1 FROM strata.jobs WHERE params->>'policy' = $1::text "
                        "        AND state IN ('queued', 'running')), "
                        "(SELECT max(j.id) FROM strata.jobs j WHERE j.kind = 'backup' "
                        "        AND j.state = 'succeeded' AND j.params->>'policy' = $1::text "
                        "        AND NOT EXISTS (SELECT 1 FROM strata.jobs e WHERE e.kind = 'expire' "
                        "            AND e.params->>'policy' = $1::text "
                        "            AND (e.params->>'after_job')::bigint >= j.id)), enabled, type "
                        "FROM strata.policies WHERE id = $1::bigint FOR UPDATE",
                        1, p, err);
}

int
catalog_policy_mark_run(PGconn *meta, const char *id, Error *err)
{
    const char *p[1] = {id};
    return catalog_run(meta, "recording the policy's run", PGRES_COMMAND_OK,
                       "UPDATE strata.policies SET last_run_at = clock_timestamp() WHERE id = $1", 1, p, err);
}
