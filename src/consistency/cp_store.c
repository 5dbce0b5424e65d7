#include "consistency/cp_store.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/history.h"
#include "pg/conn.h"
#include "pool/fields.h"
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

/* A CP names at most this many replica sets (the metadata cluster and the
 * shards of one cluster). */
#define CP_MEMBERS_MAX 1024

static void
cp_copy_name(FieldReader *r, json_object *o, const char *key, char *out, size_t size)
{
    char *v = field_name(r, o, key, false);
    if (v && strlen(v) >= size)
        field_fail(r, "field '%s' is longer than %zu characters", key, size - 1);
    else if (v)
        memcpy(out, v, strlen(v) + 1);
    free(v);
}

int
cp_from_json(json_object *o, const char *source, ConsistencyPoint *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    FieldReader r;
    field_reader_init(&r, source, err);
    cp_copy_name(&r, o, "name", out->name, sizeof(out->name));
    cp_copy_name(&r, o, "cluster", out->cluster, sizeof(out->cluster));
    char *time_text = field_text(&r, o, "time", sizeof(out->time_text) - 1);
    if (time_text)
        memcpy(out->time_text, time_text, strlen(time_text) + 1);
    free(time_text);
    out->time = field_double(&r, o, "epoch", 0, 253402300799.0);
    if (field_present(o, "pause_ms"))
        out->pause_ms = field_double(&r, o, "pause_ms", 0, 1e12);
    if (field_present(o, "barrier_tries_ms"))
        out->barrier_tries_ms = field_double(&r, o, "barrier_tries_ms", 0, 1e12);
    json_object *lsns = field_get(&r, o, "lsns", json_type_object);
    if (lsns && json_object_object_length(lsns) > CP_MEMBERS_MAX)
        field_fail(&r, "field 'lsns' names %d replica sets (at most %d)", json_object_object_length(lsns),
                   CP_MEMBERS_MAX);
    if (r.failed)
        return error_prefix(err, "not a consistency point record: ");
    out->nmembers = (size_t) json_object_object_length(lsns);
    out->members = xcalloc(out->nmembers ? out->nmembers : 1, sizeof(CpMember));
    size_t i = 0;
    json_object_object_foreach(lsns, key, val)
    {
        (void) val;
        Error nerr;
        out->members[i].conninfo = xstrdup("");
        if (name_check("replica set", key, false, &nerr) != 0)
            field_fail(&r, "field 'lsns': %s", nerr.msg);
        out->members[i].set = xstrdup(key);
        out->members[i].lsn = field_lsn(&r, lsns, key);
        i++;
        if (r.failed)
            break;
    }
    out->nmembers = i;
    if (r.failed)
    {
        cp_free(out);
        return -1;
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
    int rc = pool_sealed_put(p, path, o, err);
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
    int rc = catalog_cp_insert(meta, "metadata primary", cp->name, cp->cluster, cp->time_text, pause,
                               json_object_to_json_string(lsns), err);
    json_object_put(o);
    return rc;
}

static int
cp_time_cmp(const void *a, const void *b)
{
    const ConsistencyPoint *x = a, *y = b;
    return x->time < y->time ? -1 : x->time > y->time ? 1 : strcmp(x->name, y->name);
}

int
cp_load_pool_object(Pool *p, const char *cluster, const char *object, ConsistencyPoint *out, bool *missing,
                    Error *err)
{
    char *path = xprintf("clusters/%s/cps/%s", cluster, object);
    json_object *o;
    int rc = pool_sealed_get(p, path, &o, missing, err);
    if (rc == 0 && !*missing)
    {
        rc = cp_from_json(o, path, out, err);
        /* A record copied from another cluster or under another name
         * would make a restore stop at the wrong point. */
        size_t stem = strlen(object) - strlen(".json");
        if (rc == 0 &&
            (strcmp(out->cluster, cluster) != 0 || strlen(out->name) != stem || strncmp(out->name, object, stem) != 0))
        {
            rc = error_set(err, "%s: the record is consistency point %s of cluster %s", path, out->name, out->cluster);
            cp_free(out);
        }
        json_object_put(o);
    }
    free(path);
    return rc;
}

bool
cp_object_name(const StorageEntry *e)
{
    return !e->is_dir && str_ends_with(e->name, ".json");
}

void
cp_sort(ConsistencyPoint *cps, size_t n)
{
    if (n)
        qsort(cps, n, sizeof(ConsistencyPoint), cp_time_cmp);
}

int
cp_list_pool(Pool *p, const char *cluster, ConsistencyPoint **out, size_t *n, Error *err)
{
    *out = NULL;
    *n = 0;
    char *dir = xprintf("clusters/%s/cps", cluster);
    StorageList l = {0};
    int rc = storage_list(p->storage, dir, &l, err);
    bool listed = rc == 0;
    free(dir);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
    {
        if (!cp_object_name(&l.entries[i]))
            continue;
        *out = xrealloc(*out, (*n + 1) * sizeof(ConsistencyPoint));
        bool missing;
        rc = cp_load_pool_object(p, cluster, l.entries[i].name, &(*out)[*n], &missing, err);
        if (rc == 0 && !missing)
            (*n)++;
    }
    if (listed)
        storage_list_free(&l);
    if (rc != 0)
    {
        cp_list_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    cp_sort(*out, *n);
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
