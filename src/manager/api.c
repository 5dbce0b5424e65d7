/* The cluster manager's API handlers (docs/manager.md). Every failure is a
 * status with a JSON body {"error": "..."} that names the thing and the
 * cause: bad input is a 4xx, never a crash. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/cluster_backup.h"
#include "cluster/check_consistency.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/util.h"
#include "consistency/cp_store.h"
#include "manager/manager.h"
#include "restore/target.h"

#define CP_TIMEOUT_MS 2000
#define JOBS_LIST_MAX 200




/* An optional string member; 400 if present and not a string. */
static int
body_string(json_object *o, const char *key, const char **val, ApiResponse *out)
{
    json_object *v;
    *val = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
    {
        http_error(out, 400, "\"%s\" must be a string", key);
        return -1;
    }
    *val = json_object_get_string(v);
    return 0;
}

PGconn *
api_meta_conn(Manager *m, ApiResponse *out)
{
    if (PQstatus(m->meta) != CONNECTION_OK)
        PQreset(m->meta);
    if (PQstatus(m->meta) != CONNECTION_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(m->meta));
        msg[strcspn(msg, "\n")] = '\0';
        http_error(out, 503, "the metadata database is unavailable: %s", msg);
        return NULL;
    }
    return m->meta;
}

void
api_db_error(ApiResponse *out, PGconn *c, const char *what)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    http_error(out, 500, "%s: %s", what, msg);
}

/* 0 if registered; otherwise the response is set (400 bad name, 404 unknown). */
static int
cluster_check(Manager *m, const char *name, ApiResponse *out)
{
    Error err;
    if (topology_name_check("cluster name", name, &err) != 0)
    {
        http_error(out, 400, "%s", err.msg);
        return -1;
    }
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return -1;
    const char *p[1] = {name};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM strata.clusters WHERE name = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = -1, api_db_error(out, c, "looking up the cluster");
    else if (PQntuples(r) == 0)
        rc = -1, http_error(out, 404, "cluster %s is not registered (strata cluster register)", name);
    PQclear(r);
    return rc;
}

static void
get_clusters(Manager *m, ApiResponse *out)
{
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    PGresult *r = PQexec(c, "SELECT name, created_at::text, origin, "
                            "(SELECT count(*) FROM strata.shards s WHERE s.cluster = c.name) "
                            "FROM strata.clusters c ORDER BY name");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        api_db_error(out, c, "listing clusters");
        PQclear(r);
        return;
    }
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(r); i++)
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(PQgetvalue(r, i, 0)));
        json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(r, i, 1)));
        json_object_object_add(o, "origin", PQgetisnull(r, i, 2) ? NULL : json_object_new_string(PQgetvalue(r, i, 2)));
        json_object_object_add(o, "shards", json_object_new_int(atoi(PQgetvalue(r, i, 3))));
        json_object_array_add(a, o);
    }
    PQclear(r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "clusters", a);
    http_reply(out, 200, o);
}

static int
load_topology(Manager *m, const char *name, Topology *t, ApiResponse *out)
{
    Error err;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return -1;
    if (topology_load(c, name, t, &err) != 0)
    {
        http_error(out, 500, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* A short-lived connection for the topology's live state: a node that is
 * down must not hold the request for long. NULL if it does not answer. */
static PGconn *
node_connect(const TopoNode *n)
{
    char *ci = topology_conninfo(n, "postgres");
    char *full = xprintf("%s connect_timeout=2", ci);
    PGconn *c = PQconnectdb(full);
    free(ci);
    free(full);
    if (PQstatus(c) != CONNECTION_OK)
    {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* The node's JSON object in a list of nodes, by name. */
static json_object *
node_json(json_object *list, const char *name)
{
    for (size_t i = 0; list && i < json_object_array_length(list); i++)
    {
        json_object *n = json_object_array_get_idx(list, i);
        const char *nm = json_member_string(n, "name");
        if (nm && !strcmp(nm, name))
            return n;
    }
    return NULL;
}

/* Adds each node's live state to a replica set's nodes: "state" (primary:
 * "up" with "standbys_streaming" from pg_stat_replication; standby: the
 * WAL receiver's status, e.g. "streaming"; "down" when it does not answer)
 * and, on standbys, "lag_bytes": the primary's current WAL position minus
 * what the standby replayed. Measured from both ends because the builder's
 * standbys connect without an application_name that would tie a
 * pg_stat_replication row to a node. */
static void
add_set_state(const ReplicaSet *set, json_object *list)
{
    const TopoNode *primary = topology_primary(set);
    char lsn[64] = "";
    if (primary)
    {
        json_object *pj = node_json(list, primary->name);
        PGconn *c = node_connect(primary);
        PGresult *r = c ? PQexec(c, "SELECT pg_current_wal_lsn()::text, "
                                    "(SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')")
                        : NULL;
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        {
            snprintf(lsn, sizeof(lsn), "%s", PQgetvalue(r, 0, 0));
            json_object_object_add(pj, "state", json_object_new_string("up"));
            json_object_object_add(pj, "standbys_streaming", json_object_new_int(atoi(PQgetvalue(r, 0, 1))));
        }
        else
            json_object_object_add(pj, "state", json_object_new_string("down"));
        PQclear(r);
        PQfinish(c);
    }
    for (size_t i = 0; i < set->nnodes; i++)
    {
        const TopoNode *n = &set->nodes[i];
        if (n->role != NODE_STANDBY)
            continue;
        json_object *nj = node_json(list, n->name);
        PGconn *c = node_connect(n);
        const char *p[1] = {lsn[0] ? lsn : NULL};
        PGresult *r = c ? PQexecParams(c, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'not streaming'), "
                                          "pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint",
                                       1, NULL, p, NULL, NULL, 0)
                        : NULL;
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        {
            json_object_object_add(nj, "state", json_object_new_string(PQgetvalue(r, 0, 0)));
            /* Replay can be ahead of the primary's position read a moment earlier. */
            long long lag = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
            json_object_object_add(nj, "lag_bytes", lag < 0 ? NULL : json_object_new_int64(lag));
        }
        else
            json_object_object_add(nj, "state", json_object_new_string("down"));
        PQclear(r);
        PQfinish(c);
    }
}

static void
get_cluster(Manager *m, const char *name, ApiResponse *out)
{
    Topology t;
    if (load_topology(m, name, &t, out) != 0)
        return;
    json_object *o = topology_to_json(&t), *list;
    if (json_object_object_get_ex(o, "meta", &list))
        add_set_state(&t.meta, list);
    json_object *shards;
    for (size_t i = 0; json_object_object_get_ex(o, "shards", &shards) && i < t.nshards; i++)
        if (json_object_object_get_ex(json_object_array_get_idx(shards, i), "nodes", &list))
            add_set_state(&t.shards[i], list);
    if (json_object_object_get_ex(o, "compute", &list))
        for (size_t i = 0; i < t.ncompute; i++)
        {
            PGconn *c = node_connect(&t.compute[i]);
            json_object_object_add(node_json(list, t.compute[i].name), "state",
                                   json_object_new_string(c ? "up" : "down"));
            PQfinish(c);
        }
    http_reply(out, 200, o);
    topology_free(&t);
}

static double
jdouble_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static json_object *
end_cp_of(json_object *backup)
{
    json_object *cp;
    return json_object_object_get_ex(backup, "end_cp", &cp) ? cp : NULL;
}

static bool
is_cluster_scope(json_object *backup)
{
    const char *scope = json_member_string(backup, "scope");
    return scope && !strcmp(scope, "cluster");
}

/* Backups and CPs of a cluster from the pool; the caller frees both. */
typedef struct PoolView
{
    json_object **backups;
    size_t nbackups;
    ConsistencyPoint *cps;
    size_t ncps;
} PoolView;

static void
pool_view_free(PoolView *v)
{
    for (size_t i = 0; i < v->nbackups; i++)
        json_object_put(v->backups[i]);
    free(v->backups);
    cp_list_free(v->cps, v->ncps);
    memset(v, 0, sizeof(*v));
}

static int
pool_view(Manager *m, const char *cluster, PoolView *v, ApiResponse *out)
{
    Error err;
    memset(v, 0, sizeof(*v));
    if (cluster_backups_list(m->pool, cluster, &v->backups, &v->nbackups, &err) != 0 ||
        cp_list_pool(m->pool, cluster, &v->cps, &v->ncps, &err) != 0)
    {
        pool_view_free(v);
        http_error(out, 500, "reading pool %s: %s", m->cfg.pool, err.msg);
        return -1;
    }
    return 0;
}

static void
get_backups(Manager *m, const char *name, ApiResponse *out)
{
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < v.nbackups; i++)
    {
        /* The topology at backup time is in the pool; the listing stays short. */
        json_object_object_del(v.backups[i], "topology");
        json_object_array_add(a, json_object_get(v.backups[i]));
    }
    pool_view_free(&v);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(name));
    json_object_object_add(o, "backups", a);
    http_reply(out, 200, o);
}

static void
get_cps(Manager *m, const char *name, ApiResponse *out)
{
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < v.ncps; i++)
        json_object_array_add(a, cp_to_json(&v.cps[i]));
    pool_view_free(&v);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(name));
    json_object_object_add(o, "cps", a);
    http_reply(out, 200, o);
}

/* The recoverable window of a whole-cluster restore: from the end CP of the
 * first complete cluster backup to the latest CP. */
static void
get_window(Manager *m, const char *name, ApiResponse *out)
{
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    json_object *first = NULL;
    for (size_t i = 0; i < v.nbackups && !first; i++)
        if (is_cluster_scope(v.backups[i]) && end_cp_of(v.backups[i]))
            first = v.backups[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(name));
    if (!first || v.ncps == 0)
    {
        json_object_object_add(o, "from", NULL);
        json_object_object_add(o, "to", NULL);
        json_object_object_add(o, "reason", json_object_new_string("no complete cluster backup in the pool yet"));
    }
    else
    {
        json_object *cp = end_cp_of(first);
        const ConsistencyPoint *last = &v.cps[v.ncps - 1];
        json_object_object_add(o, "from", json_object_new_string(json_member_string(cp, "time") ? json_member_string(cp, "time") : ""));
        json_object_object_add(o, "from_epoch", json_object_new_double(jdouble_of(cp, "epoch")));
        json_object_object_add(o, "from_backup", json_object_new_string(json_member_string(first, "id") ? json_member_string(first, "id") : ""));
        json_object_object_add(o, "to", json_object_new_string(last->time_text));
        json_object_object_add(o, "to_epoch", json_object_new_double(last->time));
        json_object_object_add(o, "to_cp", json_object_new_string(last->name));
    }
    pool_view_free(&v);
    http_reply(out, 200, o);
}

static void
post_cp(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    const char *cp_name;
    Error err;
    if (body_string(body, "name", &cp_name, out) != 0)
        return;
    if (cp_name && topology_name_check("consistency point name", cp_name, &err) != 0)
    {
        http_error(out, 400, "%s", err.msg);
        return;
    }
    char nm[CP_NAME_MAX + 1];
    if (cp_name)
        snprintf(nm, sizeof(nm), "%s", cp_name);
    else
        cp_default_name(name, nm);
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    bool taken = false;
    for (size_t i = 0; i < v.ncps; i++)
        taken = taken || !strcmp(v.cps[i].name, nm);
    pool_view_free(&v);
    if (taken)
    {
        http_error(out, 409, "cluster %s already has a consistency point named %s", name, nm);
        return;
    }
    Topology t;
    if (load_topology(m, name, &t, out) != 0)
        return;
    CpMember *members;
    size_t n;
    ConsistencyPoint cp = {0};
    int rc = cp_members_from_topology(&t, &members, &n, &err);
    if (rc == 0)
    {
        rc = cp_create(t.name, nm, members, n, CP_TIMEOUT_MS, &cp, &err);
        cp_members_free(members, n);
    }
    if (rc == 0)
        rc = cp_save_catalog(m->meta, &cp, &err);
    if (rc == 0)
        rc = cp_save_pool(m->pool, &cp, &err);
    if (rc == 0)
        http_reply(out, 201, cp_to_json(&cp));
    else
        http_error(out, 500, "consistency point %s of cluster %s: %s", nm, name, err.msg);
    cp_free(&cp);
    topology_free(&t);
}

static void
post_backup(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    const char *shard;
    if (body_string(body, "shard", &shard, out) != 0)
        return;
    json_object *params = json_object_new_object();
    if (shard)
    {
        Topology t;
        if (load_topology(m, name, &t, out) != 0)
        {
            json_object_put(params);
            return;
        }
        bool known = topology_shard(&t, shard) != NULL;
        topology_free(&t);
        if (!known)
        {
            http_error(out, 404, "cluster %s has no shard %s", name, shard);
            json_object_put(params);
            return;
        }
        json_object_object_add(params, "shard", json_object_new_string(shard));
    }
    int64_t id;
    Error err;
    if (job_create(m->meta, name, "backup", params, &id, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else
    {
        jobs_wake(&m->jobs);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "job", json_object_new_int64(id));
        json_object_object_add(o, "state", json_object_new_string("queued"));
        char *url = xprintf("/api/v1/jobs/%lld", (long long) id);
        json_object_object_add(o, "url", json_object_new_string(url));
        free(url);
        http_reply(out, 202, o);
    }
    json_object_put(params);
}

/* Which CP and backup a whole-cluster restore to `time` would use: the
 * latest CP at or before it, and the latest cluster backup ending at or
 * before that CP (the rule of strata restore --cluster). */
static void
post_restore_plan(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    const char *time_text;
    if (body_string(body, "time", &time_text, out) != 0)
        return;
    if (!time_text)
    {
        http_error(out, 400, "\"time\" is required (e.g. \"2026-11-24 15:50:37+00\")");
        return;
    }
    Target target = {0};
    Error err;
    if (target_parse_time(time_text, &target, &err) != 0)
    {
        http_error(out, 400, "malformed time: %s", err.msg);
        return;
    }
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
    {
        target_free(&target);
        return;
    }
    const ConsistencyPoint *cp = NULL;
    for (size_t i = 0; i < v.ncps; i++)
        if (v.cps[i].time <= target.time)
            cp = &v.cps[i];
    json_object *backup = NULL;
    for (size_t i = 0; cp && i < v.nbackups; i++)
        if (is_cluster_scope(v.backups[i]) && end_cp_of(v.backups[i]) &&
            jdouble_of(end_cp_of(v.backups[i]), "epoch") <= cp->time)
            backup = v.backups[i];
    if (!cp || !backup)
        http_error(out, 422, "time %s is outside the recoverable window of cluster %s (GET .../window): no %s", time_text,
                  name, !cp ? "consistency point at or before it" : "complete cluster backup ending before its CP");
    else
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "cluster", json_object_new_string(name));
        json_object_object_add(o, "time", json_object_new_string(target.text));
        json_object_object_add(o, "cp", cp_to_json(cp));
        json_object_object_add(o, "backup", json_object_new_string(json_member_string(backup, "id") ? json_member_string(backup, "id") : ""));
        http_reply(out, 200, o);
    }
    pool_view_free(&v);
    target_free(&target);
}

/* "from T (backup B) to T2" for error messages about the window. */
static char *
window_text(const PoolView *v)
{
    json_object *first = NULL;
    for (size_t i = 0; i < v->nbackups && !first; i++)
        if (is_cluster_scope(v->backups[i]) && end_cp_of(v->backups[i]))
            first = v->backups[i];
    if (!first || v->ncps == 0)
        return xstrdup("empty: no complete cluster backup in the pool yet");
    const char *from = json_member_string(end_cp_of(first), "time");
    return xprintf("from %s (end of backup %s) to %s (CP %s)", from ? from : "?",
                   json_member_string(first, "id") ? json_member_string(first, "id") : "?", v->cps[v->ncps - 1].time_text,
                   v->cps[v->ncps - 1].name);
}

/* A restore job: body {"to": NEW, one of "cp" | "time" | "latest": true,
 * "base_port"?, "dir"?}. Everything that can be known before the restore is
 * checked here, so that a job is queued only when it can run. */
static void
post_restore(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    const char *to, *cp, *time_text, *dir;
    if (body_string(body, "to", &to, out) != 0 || body_string(body, "cp", &cp, out) != 0 ||
        body_string(body, "time", &time_text, out) != 0 || body_string(body, "dir", &dir, out) != 0)
        return;
    json_object *v;
    bool latest = false;
    if (json_object_object_get_ex(body, "latest", &v) && !json_object_is_type(v, json_type_null))
    {
        if (!json_object_is_type(v, json_type_boolean))
        {
            http_error(out, 400, "\"latest\" must be true or false");
            return;
        }
        latest = json_object_get_boolean(v);
    }
    long base_port = 0;
    if (json_object_object_get_ex(body, "base_port", &v) && !json_object_is_type(v, json_type_null))
    {
        base_port = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (base_port < 1024 || base_port > 65000)
        {
            http_error(out, 400, "\"base_port\" must be an integer from 1024 to 65000");
            return;
        }
    }
    Error err;
    if (!to)
    {
        http_error(out, 400, "\"to\" is required: the new cluster's name");
        return;
    }
    if (topology_name_check("\"to\" (the new cluster's name)", to, &err) != 0)
    {
        http_error(out, 400, "%s", err.msg);
        return;
    }
    if (!strcmp(to, name))
    {
        http_error(out, 400, "\"to\" must name a new cluster, not the source %s", name);
        return;
    }
    int ntargets = (cp != NULL) + (time_text != NULL) + latest;
    if (ntargets != 1)
    {
        http_error(out, 400, "%s: one of \"cp\": NAME, \"time\": \"YYYY-MM-DD HH:MM:SS[+TZ]\" or \"latest\": true",
                  ntargets ? "give one restore target only" : "a restore target is required");
        return;
    }
    if (dir && dir[0] != '/')
    {
        http_error(out, 400, "\"dir\" must be an absolute path, not '%s'", dir);
        return;
    }
    if (!dir && !m->cfg.restore_root)
    {
        http_error(out, 400, "\"dir\" is required: the manager has no \"restore_root\" configured");
        return;
    }
    if (!base_port && !m->cfg.restore_port_from)
    {
        http_error(out, 400, "\"base_port\" is required: the manager has no \"restore_ports\" configured");
        return;
    }
    Target target = {0};
    if (time_text && target_parse_time(time_text, &target, &err) != 0)
    {
        http_error(out, 400, "malformed time: %s", err.msg);
        return;
    }
    /* The name is free: no cluster has it and no queued or running restore
     * will give it. */
    PGconn *c = api_meta_conn(m, out);
    if (!c)
    {
        target_free(&target);
        return;
    }
    const char *p[1] = {to};
    PGresult *r = PQexecParams(c, "SELECT (SELECT count(*) FROM strata.clusters WHERE name = $1), "
                                  "(SELECT min(id) FROM strata.jobs WHERE kind = 'restore' "
                                  "AND state IN ('queued', 'running') AND params->>'to' = $1)",
                               1, NULL, p, NULL, NULL, 0);
    bool name_free = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        api_db_error(out, c, "looking up the new cluster's name");
    else if (atoi(PQgetvalue(r, 0, 0)) > 0)
        http_error(out, 409, "cluster %s is already registered: choose a new name", to);
    else if (!PQgetisnull(r, 0, 1))
        http_error(out, 409, "restore job %s already restores into %s", PQgetvalue(r, 0, 1), to);
    else
        name_free = true;
    PQclear(r);
    if (!name_free)
    {
        target_free(&target);
        return;
    }
    /* The same choice cluster_restore makes: a CP, and a cluster backup
     * ending at or before it. */
    PoolView pv;
    if (pool_view(m, name, &pv, out) != 0)
    {
        target_free(&target);
        return;
    }
    const ConsistencyPoint *chosen = NULL;
    for (size_t i = 0; i < pv.ncps; i++)
        if (cp ? !strcmp(pv.cps[i].name, cp) : time_text ? pv.cps[i].time <= target.time : true)
            chosen = &pv.cps[i];
    bool backup = false;
    for (size_t i = 0; chosen && i < pv.nbackups; i++)
        backup = backup || (is_cluster_scope(pv.backups[i]) && end_cp_of(pv.backups[i]) &&
                            jdouble_of(end_cp_of(pv.backups[i]), "epoch") <= chosen->time);
    char *window = window_text(&pv);
    if (cp && !chosen)
        http_error(out, 404, "cluster %s has no consistency point %s in the pool (GET .../cps)", name, cp);
    else if (!chosen || !backup)
        http_error(out, 422, "%s%s is outside the recoverable window of cluster %s, which is %s",
                  cp ? "consistency point " : time_text ? "time " : "the latest consistency point",
                  cp ? cp : time_text ? time_text : "", name, window);
    else
    {
        json_object *params = json_object_new_object();
        json_object_object_add(params, "to", json_object_new_string(to));
        if (cp)
            json_object_object_add(params, "cp", json_object_new_string(cp));
        if (time_text)
            json_object_object_add(params, "time", json_object_new_string(time_text));
        if (latest)
            json_object_object_add(params, "latest", json_object_new_boolean(true));
        if (base_port)
            json_object_object_add(params, "base_port", json_object_new_int((int) base_port));
        if (dir)
            json_object_object_add(params, "dir", json_object_new_string(dir));
        int64_t id;
        if (job_create(c, name, "restore", params, &id, &err) != 0)
            http_error(out, 500, "%s", err.msg);
        else
        {
            jobs_wake(&m->jobs);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "job", json_object_new_int64(id));
            json_object_object_add(o, "state", json_object_new_string("queued"));
            char *url = xprintf("/api/v1/jobs/%lld", (long long) id);
            json_object_object_add(o, "url", json_object_new_string(url));
            free(url);
            json_object_object_add(o, "cp", json_object_new_string(chosen->name));
            http_reply(out, 202, o);
        }
        json_object_put(params);
    }
    free(window);
    pool_view_free(&pv);
    target_free(&target);
}

/* The consistency check (DESIGN §5) against the cluster's own metadata
 * primary, as `strata check-consistency` runs it. It reads every shard:
 * seconds on a small cluster, run on the request thread. */
static void
post_check(Manager *m, const char *name, ApiResponse *out)
{
    Topology t;
    if (load_topology(m, name, &t, out) != 0)
        return;
    Error err;
    char *mc = topology_meta_conninfo(&t, &err);
    json_object *report;
    if (!mc)
        http_error(out, 500, "cluster %s: %s", name, err.msg);
    else if (check_consistency_json(mc, name, 50, &report, &err) != 0)
        http_error(out, 500, "consistency check of cluster %s could not run: %s", name, err.msg);
    else
        http_reply(out, 200, report);
    free(mc);
    topology_free(&t);
}

static void
get_jobs(Manager *m, ApiResponse *out)
{
    Error err;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    json_object *a = jobs_list(c, JOBS_LIST_MAX, &err);
    if (!a)
    {
        http_error(out, 500, "%s", err.msg);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jobs", a);
    http_reply(out, 200, o);
}

/* The {id} of /api/v1/jobs/{id}...: false with a 400 in *out if malformed. */
static bool
job_id_arg(const char *id_text, long *id, ApiResponse *out)
{
    Error err;
    if (parse_int_range(id_text, 1, 999999999999L, id, &err) == 0)
        return true;
    http_error(out, 400, "job id '%s': %s", id_text, err.msg);
    return false;
}

static void
get_job(Manager *m, const char *id_text, ApiResponse *out)
{
    long id;
    Error err;
    if (!job_id_arg(id_text, &id, out))
        return;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    json_object *o;
    if (job_get(c, id, &o, &err) != 0)
        http_error(out, 500, "%s", err.msg);
    else if (!o)
        http_error(out, 404, "no job %ld", id);
    else
        http_reply(out, 200, o);
}

static void
post_job_cancel(Manager *m, const char *id_text, ApiResponse *out)
{
    long id;
    Error err;
    if (!job_id_arg(id_text, &id, out))
        return;
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    int status;
    json_object *answer;
    if (job_cancel(&m->jobs, c, id, &status, &answer, &err) != 0)
        http_error(out, status, "%s", err.msg);
    else
        http_reply(out, status, answer);
}

/* ---- routing ---- */

#define MAX_SEGMENTS 8

static bool
method_is(const char *method, const char *want, const char *allow, ApiResponse *out)
{
    if (!strcmp(method, want))
        return true;
    out->allow = allow;
    http_error(out, 405, "method %s is not allowed here (allowed: %s)", method, allow);
    return false;
}

void
api_handle(Manager *m, const char *method, const char *url, const char *body, size_t body_len, ApiResponse *out)
{
    memset(out, 0, sizeof(*out));
    /* Split the path; empty segments (a trailing slash) are ignored. */
    char *path = xstrdup(url);
    char *seg[MAX_SEGMENTS];
    int n = 0;
    bool too_deep = false;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save))
    {
        if (n == MAX_SEGMENTS)
        {
            too_deep = true;
            break;
        }
        seg[n++] = s;
    }
    bool post = !strcmp(method, "POST");
    json_object *json = NULL;
    pthread_mutex_lock(&m->meta_lock);
    if (too_deep)
        http_error(out, 404, "no such endpoint: %s", url);
    else if (n == 1 && !strcmp(seg[0], "metrics"))
    {
        if (method_is(method, "GET", "GET", out))
        {
            out->status = 200;
            out->body = metrics_render(m);
            out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        }
    }
    else if (n < 3 || strcmp(seg[0], "api") || strcmp(seg[1], "v1"))
        http_error(out, 404, "no such endpoint: %s (the API is under /api/v1)", url);
    else if (!strcmp(seg[2], "jobs") && n == 5 && !strcmp(seg[4], "cancel"))
    {
        if (method_is(method, "POST", "POST", out))
            post_job_cancel(m, seg[3], out);
    }
    else if (!strcmp(seg[2], "jobs") && n <= 4)
    {
        if (method_is(method, "GET", "GET", out))
        {
            if (n == 3)
                get_jobs(m, out);
            else
                get_job(m, seg[3], out);
        }
    }
    else if (!strcmp(seg[2], "clusters") && n == 3)
    {
        if (method_is(method, "GET", "GET", out))
            get_clusters(m, out);
    }
    else if (!strcmp(seg[2], "clusters") && n <= 5)
    {
        const char *name = seg[3], *what = n == 5 ? seg[4] : "";
        const char *allow = !*what || !strcmp(what, "window") ? "GET"
                            : !strcmp(what, "backups") || !strcmp(what, "cps") || !strcmp(what, "policies")
                                ? "GET, POST"
                            : !strcmp(what, "restore-plan") || !strcmp(what, "restores") || !strcmp(what, "check")
                                ? "POST" : NULL;
        if (!allow)
            http_error(out, 404, "no such endpoint: %s", url);
        else if (strcmp(method, "GET") && !(post && strstr(allow, "POST")))
            method_is(method, "", allow, out);
        else if (post && !(json = http_json_object(body, body_len, true, out)))
            ;   /* 400 set */
        else if (cluster_check(m, name, out) != 0)
            ;   /* 400/404 set */
        else if (!*what)
            get_cluster(m, name, out);
        else if (!strcmp(what, "window"))
            get_window(m, name, out);
        else if (!strcmp(what, "backups"))
            post ? post_backup(m, name, json, out) : get_backups(m, name, out);
        else if (!strcmp(what, "cps"))
            post ? post_cp(m, name, json, out) : get_cps(m, name, out);
        else if (!strcmp(what, "policies"))
            post ? policy_api_create(m, name, json, out) : policy_api_list(m, name, out);
        else if (!strcmp(what, "restores"))
            post_restore(m, name, json, out);
        else if (!strcmp(what, "check"))
            post_check(m, name, out);
        else
            post_restore_plan(m, name, json, out);
    }
    else if (!strcmp(seg[2], "policies") && n == 4)
    {
        if (!strcmp(method, "DELETE"))
            policy_api_delete(m, seg[3], out);
        else if (strcmp(method, "PATCH"))
            method_is(method, "", "PATCH, DELETE", out);
        else if ((json = http_json_object(body, body_len, true, out)))
            policy_api_patch(m, seg[3], json, out);
    }
    else
        http_error(out, 404, "no such endpoint: %s", url);
    pthread_mutex_unlock(&m->meta_lock);
    json_object_put(json);
    free(path);
}
