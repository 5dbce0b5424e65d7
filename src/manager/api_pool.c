/* The API's view of what the pool holds of a cluster (docs/manager.md):
 * its backups, its consistency points, the recoverable window; and a new
 * consistency point, taken on demand. The pool is the reference: these
 * read it (through the manager's CP cache), not the catalog's copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/cluster_backup.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/util.h"
#include "consistency/cp_choose.h"
#include "consistency/cp_store.h"
#include "manager/api_handlers.h"
#include "request/cp_request.h"
#include "manager/manager.h"


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

void
pool_view_free(PoolView *v)
{
    for (size_t i = 0; i < v->nbackups; i++)
        json_object_put(v->backups[i]);
    free(v->backups);
    cp_list_free(v->cps, v->ncps);
    memset(v, 0, sizeof(*v));
}

int
pool_view(Manager *m, const char *cluster, PoolView *v, ApiResponse *out)
{
    Error err;
    memset(v, 0, sizeof(*v));
    if (cluster_backups_list(m->pool, cluster, &v->backups, &v->nbackups, &err) != 0 ||
        cp_cache_list(&m->cps, m->pool, cluster, &v->cps, &v->ncps, &err) != 0)
    {
        pool_view_free(v);
        http_error(out, 500, "reading pool %s: %s", m->cfg.pool, err.msg);
        return -1;
    }
    return 0;
}

/* The first complete cluster backup: where the recoverable window starts. */
static json_object *
first_cluster_backup(const PoolView *v)
{
    for (size_t i = 0; i < v->nbackups; i++)
        if (is_cluster_scope(v->backups[i]) && end_cp_of(v->backups[i]))
            return v->backups[i];
    return NULL;
}

json_object *
pool_view_backup_for(const PoolView *v, const ConsistencyPoint *cp)
{
    json_object *backup = NULL;
    for (size_t i = 0; cp && i < v->nbackups; i++)
        if (is_cluster_scope(v->backups[i]) && end_cp_of(v->backups[i]) &&
            jdouble_of(end_cp_of(v->backups[i]), "epoch") <= cp->time)
            backup = v->backups[i];
    return backup;
}

char *
pool_view_window_text(const PoolView *v)
{
    json_object *first = first_cluster_backup(v);
    if (!first || v->ncps == 0)
        return xstrdup("empty: no complete cluster backup in the pool yet");
    const char *from = json_member_string(end_cp_of(first), "time");
    return xprintf("from %s (end of backup %s) to %s (CP %s)", from ? from : "?",
                   json_member_string(first, "id") ? json_member_string(first, "id") : "?", v->cps[v->ncps - 1].time_text,
                   v->cps[v->ncps - 1].name);
}

/* 200 with {"cluster": name, key: list}. */
static void
reply_cluster_list(ApiResponse *out, const char *name, const char *key, json_object *list)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "cluster", json_object_new_string(name));
    json_object_object_add(o, key, list);
    http_reply(out, 200, o);
}

void
api_get_backups(Manager *m, const char *name, ApiResponse *out)
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
    reply_cluster_list(out, name, "backups", a);
}

void
api_get_cps(Manager *m, const char *name, ApiResponse *out)
{
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < v.ncps; i++)
        json_object_array_add(a, cp_to_json(&v.cps[i]));
    pool_view_free(&v);
    reply_cluster_list(out, name, "cps", a);
}

/* The recoverable window of a whole-cluster restore: from the end CP of the
 * first complete cluster backup to the latest CP. */
void
api_get_window(Manager *m, const char *name, ApiResponse *out)
{
    PoolView v;
    if (pool_view(m, name, &v, out) != 0)
        return;
    json_object *first = first_cluster_backup(&v);
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

/* The body, a CP request (request/cp_request.h, the codec `strata cp
 * create` uses): name and timeout_ms; the cluster is the path's. */
static int
cp_request_of_body(const char *cluster, json_object *body, CpRequest *req, ApiResponse *out)
{
    Error err;
    cp_request_init(req);
    int rc = cp_request_from_json(body, req, &err);
    if (rc == 0 && req->cluster && strcmp(req->cluster, cluster) != 0)
        rc = error_set(&err, "the body's cluster %.64s is not the path's %s", req->cluster, cluster);
    if (rc == 0)
        rc = cp_request_set_flag(req, "cluster", cluster, &err);
    if (rc == 0)
        rc = cp_request_validate(req, CP_CREATE_AT_MANAGER, &err);
    if (rc != 0)
    {
        http_error(out, 400, "%s", err.msg);
        cp_request_free(req);
    }
    return rc;
}

void
api_post_cp(Manager *m, const char *name, json_object *body, ApiResponse *out)
{
    Error err;
    CpRequest req;
    if (cp_request_of_body(name, body, &req, out) != 0)
        return;
    char nm[CP_NAME_MAX + 1];
    if (req.name)
        snprintf(nm, sizeof(nm), "%s", req.name);
    else
        cp_default_name(name, nm);
    int timeout_ms = req.timeout_ms;
    cp_request_free(&req);
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
    if (api_load_topology(m, name, &t, out) != 0)
        return;
    CpMember *members;
    size_t n;
    ConsistencyPoint cp = {0};
    int rc = cp_members_from_topology(&t, &members, &n, &err);
    if (rc == 0)
    {
        rc = cp_create(t.name, nm, members, n, timeout_ms, &cp, &err);
        cp_members_free(members, n);
    }
    PGconn *c = rc == 0 ? api_meta_conn(m, out) : NULL;
    if (rc == 0 && !c)
    {
        cp_free(&cp);
        topology_free(&t);
        return;   /* 503 set */
    }
    if (rc == 0)
        rc = cp_save_catalog(c, &cp, &err);
    if (rc == 0)
        rc = cp_save_pool(m->pool, &cp, &err);
    if (rc == 0)
        http_reply(out, 201, cp_to_json(&cp));
    else
        http_error(out, 500, "consistency point %s of cluster %s: %s", nm, name, err.msg);
    cp_free(&cp);
    topology_free(&t);
}
