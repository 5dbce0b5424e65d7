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

#include "catalog/policies.h"
#include "cluster/topology.h"
#include "request/backup_request.h"
#include "common/log.h"
#include "common/util.h"
#include "expire/expire.h"
#include "manager/manager.h"

#define PERIOD_MAX (366 * 86400)

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

void
policy_api_list(Manager *m, const char *cluster, ApiResponse *out)
{
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    Error err;
    json_object *a = catalog_policies_list(c, cluster, &err);
    if (!a)
    {
        http_error(out, 500, "%s", err.msg);
        return;
    }
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
    BackupType btype;
    if (kind && strcmp(kind, "backup"))
        http_error(out, 400, "\"kind\": '%s' is not a policy kind (backup is the only one)", kind);
    else if (type && backup_type_parse(type, &btype, &err) != 0)
        http_error(out, 400, "\"type\": '%s' is not a backup type (full, incr or diff)", type);
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
    CatalogPolicyNew row = {.cluster = cluster, .shard = shard, .period_seconds = has_period ? ps : NULL,
                            .daily_window = window, .keep_last = has_last ? kl : NULL,
                            .keep_days = has_days ? kd : NULL, .type = type ? backup_type_name(btype) : NULL,
                            .enabled = enabled};
    json_object *o;
    if (catalog_policy_insert(c, &row, &o, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else
    {
        log_info("policy %lld of cluster %s created", (long long) json_object_get_int64(json_object_object_get(o, "id")),
                 cluster);
        http_reply(out, 201, o);
    }
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
 * its backups that already succeeded is still applied). The schedule
 * (period_seconds or window, which replaces the other) and the retention
 * (keep_last or keep_days, which replaces the other; null for both: keep
 * everything) can be changed too; a member not given stays as it is. */
void
policy_api_patch(Manager *m, const char *id, json_object *body, ApiResponse *out)
{
    long n;
    if (policy_id(id, &n, out) != 0)
        return;
    static const char *const known[] = {"enabled", "type", "period_seconds", "window", "keep_last", "keep_days", NULL};
    bool any = false;
    json_object_object_foreach(body, key, val)
    {
        (void) val;
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || !strcmp(known[i], key);
        if (!ok)
        {
            http_error(out, 400, "unknown member \"%s\" (a policy's enabled, type, period_seconds or window, "
                                "keep_last or keep_days can be changed)", key);
            return;
        }
        any = true;
    }
    json_object *ev = NULL;
    if (json_object_object_get_ex(body, "enabled", &ev) && !json_object_is_type(ev, json_type_boolean))
    {
        http_error(out, 400, "\"enabled\" must be true or false");
        return;
    }
    const char *window, *type;
    long period = 0, keep_last = 0, keep_days = 0;
    bool has_period, has_last, has_days;
    if (body_str(body, "window", &window, out) || body_str(body, "type", &type, out) ||
        body_int(body, "period_seconds", 1, PERIOD_MAX, &period, &has_period, out) ||
        body_int(body, "keep_last", 1, 100000, &keep_last, &has_last, out) ||
        body_int(body, "keep_days", 1, 36500, &keep_days, &has_days, out))
        return;
    Error err;
    int ws, we;
    BackupType btype;
    bool retention = json_object_object_get_ex(body, "keep_last", NULL) ||
                     json_object_object_get_ex(body, "keep_days", NULL);
    if (!any)
        http_error(out, 400, "nothing to change: give enabled, type, period_seconds or window, keep_last or keep_days");
    else if (type && backup_type_parse(type, &btype, &err) != 0)
        http_error(out, 400, "\"type\": '%s' is not a backup type (full, incr or diff)", type);
    else if (has_period && window)
        http_error(out, 400, "the schedule: give \"period_seconds\" or \"window\", not both");
    else if (window && policy_window_parse(window, &ws, &we, &err) != 0)
        http_error(out, 400, "\"window\": %s", err.msg);
    else if (has_last && has_days)
        http_error(out, 400, "the retention: give \"keep_last\" or \"keep_days\", not both");
    if (out->status)
        return;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    char ids[32], ps[32], kl[32], kd[32];
    snprintf(ids, sizeof(ids), "%ld", n);
    snprintf(ps, sizeof(ps), "%ld", period);
    snprintf(kl, sizeof(kl), "%ld", keep_last);
    snprintf(kd, sizeof(kd), "%ld", keep_days);
    bool schedule = has_period || window;
    CatalogPolicyChange ch = {.enabled = ev ? (json_object_get_boolean(ev) ? "true" : "false") : NULL,
                              .type = type ? backup_type_name(btype) : NULL,
                              .set_schedule = schedule, .period_seconds = has_period ? ps : NULL,
                              .daily_window = window, .set_retention = retention,
                              .keep_last = has_last ? kl : NULL, .keep_days = has_days ? kd : NULL};
    json_object *row;
    if (catalog_policy_update(c, ids, &ch, &row, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else if (!row)
        http_error(out, 404, "there is no policy %s", ids);
    else
    {
        log_info("policy %s changed", ids);
        http_reply(out, 200, row);
    }
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
    Error err;
    char *of_cluster;
    if (catalog_policy_delete(c, ids, &of_cluster, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else if (!of_cluster)
        http_error(out, 404, "there is no policy %s", ids);
    else
    {
        log_info("policy %s of cluster %s deleted", ids, of_cluster);
        free(of_cluster);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "deleted", json_object_new_int64(n));
        http_reply(out, 200, o);
    }
}

/* ---- the "expire" job ---- */

int
run_expire(const ManagerConfig *cfg, const char *cluster, json_object *params, json_object **result, Error *err)
{
    /* params: {"policy", "after_job", "request": an expire request}
     * (scheduler.c); the request goes through the codec strict, as
     * `strata expire`'s flags do. */
    json_object *body = NULL;
    if (params)
        json_object_object_get_ex(params, "request", &body);
    ExpireRequest req;
    expire_request_init(&req);
    *result = NULL;
    if (expire_request_from_json(body, &req, err) != 0 || expire_request_set_flag(&req, "cluster", cluster, err) != 0 ||
        expire_request_validate(&req, EXPIRE_AT_MANAGER, err) != 0)
    {
        expire_request_free(&req);
        return error_prefix(err, "expire job of cluster %s: ", cluster);
    }
    ExpireOptions o;
    expire_options_from_request(&o, &req, cfg->pool);
    o.meta_conn = cfg->meta_conn;
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
    expire_request_free(&req);
    return rc;
}
