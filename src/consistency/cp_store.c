#include "consistency/cp_store.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pool/sealed.h"

int
cp_members_from_topology(const Topology *t, CpMember **out, size_t *n, Error *err)
{
    *n = 1 + t->nshards;
    *out = xcalloc(*n, sizeof(CpMember));
    (*out)[0].set = xstrdup(TOPO_META_SET);
    (*out)[0].conninfo = topology_meta_conninfo(t, err);
    if (!(*out)[0].conninfo)
    {
        cp_members_free(*out, *n);
        return -1;
    }
    for (size_t i = 0; i < t->nshards; i++)
    {
        (*out)[i + 1].set = xstrdup(t->shards[i].name);
        (*out)[i + 1].conninfo = topology_shard_conninfo(t, &t->shards[i], err);
        if (!(*out)[i + 1].conninfo)
        {
            cp_members_free(*out, *n);
            return -1;
        }
    }
    return 0;
}

void
cp_members_free(CpMember *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
    {
        free(m[i].set);
        free(m[i].conninfo);
    }
    free(m);
}

json_object *
cp_to_json(const ConsistencyPoint *cp)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(cp->name));
    json_object_object_add(o, "cluster", json_object_new_string(cp->cluster));
    json_object_object_add(o, "time", json_object_new_string(cp->time_text));
    json_object_object_add(o, "epoch", json_object_new_double(cp->time));
    json_object_object_add(o, "pause_ms", json_object_new_double(cp->pause_ms));
    json_object_object_add(o, "barrier_tries_ms", json_object_new_double(cp->barrier_tries_ms));
    json_object *lsns = json_object_new_object();
    for (size_t i = 0; i < cp->nmembers; i++)
    {
        char buf[32];
        lsn_format(cp->members[i].lsn, buf);
        json_object_object_add(lsns, cp->members[i].set, json_object_new_string(buf));
    }
    json_object_object_add(o, "lsns", lsns);
    return o;
}

int
cp_from_json(json_object *o, const char *source, ConsistencyPoint *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    json_object *name, *cluster, *time, *epoch, *pause, *lsns;
    if (!json_object_object_get_ex(o, "name", &name) || !json_object_object_get_ex(o, "cluster", &cluster) ||
        !json_object_object_get_ex(o, "time", &time) || !json_object_object_get_ex(o, "epoch", &epoch) ||
        !json_object_object_get_ex(o, "lsns", &lsns) || !json_object_is_type(lsns, json_type_object))
        return error_set(err, "%s: not a consistency point record", source);
    snprintf(out->name, sizeof(out->name), "%s", json_object_get_string(name));
    snprintf(out->cluster, sizeof(out->cluster), "%s", json_object_get_string(cluster));
    snprintf(out->time_text, sizeof(out->time_text), "%s", json_object_get_string(time));
    out->time = json_object_get_double(epoch);
    out->pause_ms = json_object_object_get_ex(o, "pause_ms", &pause) ? json_object_get_double(pause) : 0;
    out->barrier_tries_ms =
        json_object_object_get_ex(o, "barrier_tries_ms", &pause) ? json_object_get_double(pause) : 0;
    out->nmembers = (size_t) json_object_object_length(lsns);
    out->members = xcalloc(out->nmembers ? out->nmembers : 1, sizeof(CpMember));
    size_t i = 0;
    json_object_object_foreach(lsns, key, val)
    {
        out->members[i].set = xstrdup(key);
        out->members[i].conninfo = xstrdup("");
        if (lsn_parse(json_object_get_string(val), &out->members[i].lsn, err) != 0)
        {
            out->nmembers = i + 1;
            cp_free(out);
            return error_prefix(err, "%s: ", source);
        }
        i++;
    }
    return 0;
}

static char *
cp_pool_path(const char *cluster, const char *name)
{
    return xprintf("clusters/%s/cps/%s.json", cluster, name);
}

int
cp_save_pool(Pool *p, const ConsistencyPoint *cp, Error *err)
{
    json_object *o = cp_to_json(cp);
    char *path = cp_pool_path(cp->cluster, cp->name);
    int rc = sealed_put(p->storage, path, o, err);
    free(path);
    json_object_put(o);
    return rc;
}

int
cp_save_catalog(PGconn *meta, const ConsistencyPoint *cp, Error *err)
{
    json_object *o = cp_to_json(cp);
    json_object *lsns;
    json_object_object_get_ex(o, "lsns", &lsns);
    char pause[32];
    snprintf(pause, sizeof(pause), "%.3f", cp->pause_ms);
    const char *params[] = {cp->name, cp->cluster, cp->time_text, pause, json_object_to_json_string(lsns)};
    PGresult *r = pg_exec(meta, "metadata primary",
                          "INSERT INTO strata.consistency_points (name, cluster, created_at, pause_ms, lsns) "
                          "VALUES ($1, $2, $3::timestamptz, $4::double precision, $5::jsonb)",
                          5, params, err);
    json_object_put(o);
    PQclear(r);
    return r ? 0 : -1;
}

static int
cp_time_cmp(const void *a, const void *b)
{
    const ConsistencyPoint *x = a, *y = b;
    return x->time < y->time ? -1 : x->time > y->time ? 1 : strcmp(x->name, y->name);
}

int
cp_list_pool(Pool *p, const char *cluster, ConsistencyPoint **out, size_t *n, Error *err)
{
    *out = NULL;
    *n = 0;
    char *dir = xprintf("clusters/%s/cps", cluster);
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
    {
        if (l.entries[i].is_dir || !str_ends_with(l.entries[i].name, ".json"))
            continue;
        char *path = xprintf("%s/%s", dir, l.entries[i].name);
        json_object *o;
        bool missing;
        rc = sealed_get(p->storage, path, &o, &missing, err);
        if (rc == 0 && !missing)
        {
            *out = xrealloc(*out, (*n + 1) * sizeof(ConsistencyPoint));
            rc = cp_from_json(o, path, &(*out)[*n], err);
            if (rc == 0)
                (*n)++;
            json_object_put(o);
        }
        free(path);
    }
    if (rc == 0)
        storage_list_free(&l);
    free(dir);
    if (rc != 0)
    {
        cp_list_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*out, *n, sizeof(ConsistencyPoint), cp_time_cmp);
    return 0;
}

void
cp_list_free(ConsistencyPoint *cps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cp_free(&cps[i]);
    free(cps);
}

Lsn
cp_member_lsn(const ConsistencyPoint *cp, const char *set)
{
    for (size_t i = 0; i < cp->nmembers; i++)
        if (!strcmp(cp->members[i].set, set))
            return cp->members[i].lsn;
    return 0;
}
