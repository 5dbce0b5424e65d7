/* Backup policies (strata.policies) of the cluster manager: the table, the
 * API handlers (GET/POST /api/v1/clusters/{c}/policies, DELETE
 * /api/v1/policies/{id}), when a policy is due, and the "expire" job that
 * applies a policy's retention after its backup (docs/manager.md,
 * "Policies, retention and the CP schedule"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "expire/expire.h"
#include "manager/manager.h"

static const char policies_sql[] =
    "SET client_min_messages = warning;\n"
    "CREATE TABLE IF NOT EXISTS strata.policies (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    cluster text NOT NULL,\n"
    "    shard text,\n"   /* NULL: the whole cluster */
    "    kind text NOT NULL DEFAULT 'backup' CHECK (kind = 'backup'),\n"
    /* 'full' only: there are no incremental backups yet */
    "    type text NOT NULL DEFAULT 'full' CHECK (type = 'full'),\n"
    "    period_seconds integer CHECK (period_seconds > 0),\n"
    "    daily_window text,\n"   /* 'HH:MM-HH:MM' UTC */
    "    keep_last integer CHECK (keep_last > 0),\n"
    "    keep_days integer CHECK (keep_days > 0),\n"
    "    enabled boolean NOT NULL DEFAULT true,\n"
    "    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    last_run_at timestamptz,\n"
    "    CHECK ((period_seconds IS NULL) <> (daily_window IS NULL)),\n"
    "    CHECK (keep_last IS NULL OR keep_days IS NULL)\n"
    ");\n";

#define POLICY_COLUMNS                                                                                  \
    "id, cluster, shard, kind, type, period_seconds, daily_window, keep_last, keep_days, enabled, "      \
    "created_at::text, last_run_at::text, extract(epoch FROM last_run_at)"

#define PERIOD_MAX (366 * 86400)

int
policies_ensure(PGconn *meta, Error *err)
{
    PGresult *r = PQexec(meta, policies_sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(meta));
        msg[strcspn(msg, "\n")] = '\0';
        rc = error_set(err, "creating strata.policies: %s", msg);
    }
    PQclear(r);
    return rc;
}

int
policy_window_parse(const char *text, int *start_min, int *end_min, Error *err)
{
    int h1, m1, h2, m2, used = 0;
    if (strlen(text) != 11 || sscanf(text, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &used) != 4 || used != 11 ||
        text[2] != ':' || text[5] != '-' || text[8] != ':')
        return error_set(err, "window '%s' is not HH:MM-HH:MM (UTC, e.g. 01:00-03:30)", text);
    if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0)
        return error_set(err, "window '%s': hours are 00-23 and minutes 00-59", text);
    *start_min = h1 * 60 + m1;
    *end_min = h2 * 60 + m2;
    if (*start_min == *end_min)
        return error_set(err, "window '%s' is empty: its start and end are the same", text);
    return 0;
}

bool
policy_due(int64_t period, const char *window, bool ran, double last_run, time_t now)
{
    if (period > 0)
        return !ran || last_run + (double) period <= (double) now;
    int s, e;
    Error err;
    if (!window || policy_window_parse(window, &s, &e, &err) != 0)
        return false;
    struct tm tm;
    gmtime_r(&now, &tm);
    int m = tm.tm_hour * 60 + tm.tm_min;
    bool inside = s < e ? (m >= s && m < e) : (m >= s || m < e);
    if (!inside)
        return false;
    /* The start of this occurrence of the window: today, or yesterday for
     * a window past midnight entered before midnight. Once per window. */
    time_t midnight = now - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    time_t opened = midnight + (time_t) s * 60;
    if (opened > now)
        opened -= 86400;
    return !ran || last_run < (double) opened;
}

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




void
policy_api_list(Manager *m, const char *cluster, ApiResponse *out)
{
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    const char *p[1] = {cluster};
    PGresult *r = PQexecParams(c, "SELECT " POLICY_COLUMNS " FROM strata.policies WHERE cluster = $1 ORDER BY id", 1,
                               NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        api_db_error(out, c, "listing policies");
        PQclear(r);
        return;
    }
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_array_add(a, policy_row(r, i));
    PQclear(r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(cluster));
    json_object_object_add(o, "policies", a);
    http_reply(out, 200, o);
}

/* An optional integer member in [min, max]; 400 otherwise. *present. */
static int
body_int(json_object *body, const char *key, long min, long max, long *val, bool *present, ApiResponse *out)
{
    json_object *v;
    *present = false;
    if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_int))
    {
        http_error(out, 400, "\"%s\" must be a whole number (%ld to %ld)", key, min, max);
        return -1;
    }
    int64_t x = json_object_get_int64(v);
    if (x < min || x > max)
    {
        http_error(out, 400, "\"%s\": %lld is out of range (%ld to %ld)", key, (long long) x, min, max);
        return -1;
    }
    *val = (long) x;
    *present = true;
    return 0;
}

static int
body_str(json_object *body, const char *key, const char **val, ApiResponse *out)
{
    json_object *v;
    *val = NULL;
    if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
    {
        http_error(out, 400, "\"%s\" must be a string", key);
        return -1;
    }
    *val = json_object_get_string(v);
    return 0;
}

void
policy_api_create(Manager *m, const char *cluster, json_object *body, ApiResponse *out)
{
    static const char *const known[] = {"shard", "kind", "type", "period_seconds", "window", "keep_last",
                                        "keep_days", "enabled", NULL};
    json_object_object_foreach(body, key, val)
    {
        (void) val;
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || !strcmp(known[i], key);
        if (!ok)
        {
            http_error(out, 400, "unknown member \"%s\" (a policy has: shard, kind, type, period_seconds or window, "
                                "keep_last or keep_days, enabled)", key);
            return;
        }
    }
    const char *shard, *kind, *type, *window;
    long period = 0, keep_last = 0, keep_days = 0;
    bool has_period, has_last, has_days;
    if (body_str(body, "shard", &shard, out) || body_str(body, "kind", &kind, out) ||
        body_str(body, "type", &type, out) || body_str(body, "window", &window, out) ||
        body_int(body, "period_seconds", 1, PERIOD_MAX, &period, &has_period, out) ||
        body_int(body, "keep_last", 1, 100000, &keep_last, &has_last, out) ||
        body_int(body, "keep_days", 1, 36500, &keep_days, &has_days, out))
        return;
    json_object *ev;
    bool enabled = true;
    if (json_object_object_get_ex(body, "enabled", &ev) && !json_object_is_type(ev, json_type_null))
    {
        if (!json_object_is_type(ev, json_type_boolean))
        {
            http_error(out, 400, "\"enabled\" must be true or false");
            return;
        }
        enabled = json_object_get_boolean(ev);
    }
    Error err;
    int ws, we;
    if (kind && strcmp(kind, "backup"))
        http_error(out, 400, "\"kind\": '%s' is not a policy kind (backup is the only one)", kind);
    else if (type && !strcmp(type, "incremental"))
        http_error(out, 400, "\"type\": incremental backups do not exist yet; type must be full");
    else if (type && strcmp(type, "full"))
        http_error(out, 400, "\"type\": '%s' is not a backup type (full)", type);
    else if (has_period == (window != NULL))
        http_error(out, 400, "the schedule: give \"period_seconds\" (a period) or \"window\" (\"HH:MM-HH:MM\" UTC, "
                            "daily), one of them");
    else if (window && policy_window_parse(window, &ws, &we, &err) != 0)
        http_error(out, 400, "\"window\": %s", err.msg);
    else if (has_last && has_days)
        http_error(out, 400, "the retention: give \"keep_last\" or \"keep_days\", not both");
    else if (shard && topology_name_check("shard name", shard, &err) != 0)
        http_error(out, 400, "%s", err.msg);
    if (out->status)
        return;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    if (shard)
    {
        Topology t;
        if (topology_load(c, cluster, &t, &err) != 0)
        {
            http_error(out, 500, "%s", err.msg);
            return;
        }
        bool found = topology_shard(&t, shard) != NULL;
        topology_free(&t);
        if (!found)
        {
            http_error(out, 404, "cluster %s has no shard %s", cluster, shard);
            return;
        }
    }
    char ps[32], kl[32], kd[32];
    snprintf(ps, sizeof(ps), "%ld", period);
    snprintf(kl, sizeof(kl), "%ld", keep_last);
    snprintf(kd, sizeof(kd), "%ld", keep_days);
    const char *p[7] = {cluster, shard, has_period ? ps : NULL, window, has_last ? kl : NULL, has_days ? kd : NULL,
                        enabled ? "true" : "false"};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO strata.policies (cluster, shard, period_seconds, daily_window, keep_last, "
                               "keep_days, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " POLICY_COLUMNS,
                               7, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        api_db_error(out, c, "recording the policy");
    else
    {
        json_object *o = policy_row(r, 0);
        log_info("policy %s of cluster %s created", PQgetvalue(r, 0, 0), cluster);
        http_reply(out, 201, o);
    }
    PQclear(r);
}

static int
policy_id(const char *id, long *n, ApiResponse *out)
{
    Error err;
    if (parse_int_range(id, 1, LONG_MAX, n, &err) != 0)
    {
        http_error(out, 400, "policy id '%s' is not a positive whole number", id);
        return -1;
    }
    return 0;
}

/* {"enabled": false} pauses a policy (no new backups; the retention of
 * its backups that already succeeded is still applied). */
void
policy_api_patch(Manager *m, const char *id, json_object *body, ApiResponse *out)
{
    long n;
    if (policy_id(id, &n, out) != 0)
        return;
    json_object *ev = NULL;
    json_object_object_foreach(body, key, val)
    {
        if (strcmp(key, "enabled"))
        {
            http_error(out, 400, "unknown member \"%s\" (only \"enabled\" can be changed)", key);
            return;
        }
        ev = val;
    }
    if (!ev || !json_object_is_type(ev, json_type_boolean))
    {
        http_error(out, 400, "\"enabled\" (true or false) is required");
        return;
    }
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    char ids[32];
    snprintf(ids, sizeof(ids), "%ld", n);
    const char *p[2] = {ids, json_object_get_boolean(ev) ? "true" : "false"};
    PGresult *r = PQexecParams(c, "UPDATE strata.policies SET enabled = $2 WHERE id = $1 RETURNING " POLICY_COLUMNS, 2,
                               NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        api_db_error(out, c, "changing the policy");
    else if (PQntuples(r) == 0)
        http_error(out, 404, "there is no policy %s", ids);
    else
        http_reply(out, 200, policy_row(r, 0));
    PQclear(r);
}

void
policy_api_delete(Manager *m, const char *id, ApiResponse *out)
{
    long n;
    if (policy_id(id, &n, out) != 0)
        return;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    char ids[32];
    snprintf(ids, sizeof(ids), "%ld", n);
    const char *p[1] = {ids};
    PGresult *r = PQexecParams(c, "DELETE FROM strata.policies WHERE id = $1 RETURNING cluster", 1, NULL, p, NULL,
                               NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        api_db_error(out, c, "deleting the policy");
    else if (PQntuples(r) == 0)
        http_error(out, 404, "there is no policy %s", ids);
    else
    {
        log_info("policy %s of cluster %s deleted", ids, PQgetvalue(r, 0, 0));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "deleted", json_object_new_int64(n));
        http_reply(out, 200, o);
    }
    PQclear(r);
}

/* ---- the "expire" job ---- */

int
run_expire(const ManagerConfig *cfg, const char *cluster, json_object *params, json_object **result, Error *err)
{
    ExpireOptions o = {0};
    o.pool = cfg->pool;
    o.cluster = cluster;
    o.meta_conn = cfg->meta_conn;
    json_object *v;
    if (params && json_object_object_get_ex(params, "shard", &v) && json_object_is_type(v, json_type_string))
        o.shard = json_object_get_string(v);
    if (params && json_object_object_get_ex(params, "keep_last", &v))
        o.keep = json_object_get_int(v);
    if (params && json_object_object_get_ex(params, "keep_days", &v))
        o.keep_days = json_object_get_int(v);
    json_object *report;
    int rc = expire_run(&o, &report, err);
    if (rc == 0)
    {
        json_object *a;
        size_t nb = json_object_object_get_ex(report, "removed_backups", &a) ? json_object_array_length(a) : 0;
        size_t nc = json_object_object_get_ex(report, "removed_cps", &a) ? json_object_array_length(a) : 0;
        log_info("expire of cluster %s: %zu backup(s) and %zu consistency point(s) removed", cluster, nb, nc);
    }
    *result = report;
    return rc;
}
