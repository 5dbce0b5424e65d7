/* cp_cache_list: see cp_cache.h. */
#include "consistency/cp_cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct CachedCp
{
    char *object;      /* its name in clusters/<c>/cps */
    uint64_t size;     /* as listed: a different size is another object */
    ConsistencyPoint cp;
} CachedCp;

struct CpCacheCluster
{
    char *name;
    CachedCp *cps;
    size_t n;
};

void
cp_cache_init(CpCache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
}

static void
cached_free(CachedCp *e)
{
    free(e->object);
    cp_free(&e->cp);
}

void
cp_cache_free(CpCache *c)
{
    for (size_t i = 0; i < c->nclusters; i++)
    {
        for (size_t k = 0; k < c->clusters[i].n; k++)
            cached_free(&c->clusters[i].cps[k]);
        free(c->clusters[i].cps);
        free(c->clusters[i].name);
    }
    free(c->clusters);
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof(*c));
}

static CpCacheCluster *
cluster_entry(CpCache *c, const char *cluster)
{
    for (size_t i = 0; i < c->nclusters; i++)
        if (!strcmp(c->clusters[i].name, cluster))
            return &c->clusters[i];
    c->clusters = xrealloc(c->clusters, (c->nclusters + 1) * sizeof(CpCacheCluster));
    CpCacheCluster *k = &c->clusters[c->nclusters++];
    memset(k, 0, sizeof(*k));
    k->name = xstrdup(cluster);
    return k;
}

static const CachedCp *
cached(const CpCacheCluster *k, const StorageEntry *e)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->cps[i].size == e->size && !strcmp(k->cps[i].object, e->name))
            return &k->cps[i];
    return NULL;
}

static int
cp_copy(const ConsistencyPoint *from, ConsistencyPoint *to, Error *err)
{
    json_object *o = cp_to_json(from);
    int rc = cp_from_json(o, from->name, to, err);
    json_object_put(o);
    return rc;
}

static int
cached_entry_new(CachedCp *e, const StorageEntry *le, const ConsistencyPoint *cp, Error *err)
{
    e->object = xstrdup(le->name);
    e->size = le->size;
    if (cp_copy(cp, &e->cp, err) != 0)
    {
        free(e->object);
        return -1;
    }
    return 0;
}

/* The listing's CPs (those cached reused, the others read), as the
 * caller's copy in *out and as the cluster's new cache in *fresh. */
static int
refresh(CpCache *c, Pool *p, const char *cluster, const CpCacheCluster *k, const StorageList *l, CachedCp **fresh,
        size_t *nfresh, Error *err)
{
    *fresh = NULL;
    *nfresh = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->count; i++)
    {
        const StorageEntry *le = &l->entries[i];
        if (!cp_object_name(le))
            continue;
        ConsistencyPoint cp;
        const CachedCp *hit = cached(k, le);
        bool missing = false;
        if (hit)
            rc = cp_copy(&hit->cp, &cp, err);
        else
        {
            rc = cp_load_pool_object(p, cluster, le->name, &cp, &missing, err);
            c->reads++;
        }
        if (rc != 0 || missing)
            continue;
        *fresh = xrealloc(*fresh, (*nfresh + 1) * sizeof(CachedCp));
        rc = cached_entry_new(&(*fresh)[*nfresh], le, &cp, err);
        if (rc == 0)
            (*nfresh)++;
        cp_free(&cp);
    }
    return rc;
}

int
cp_cache_list(CpCache *c, Pool *p, const char *cluster, ConsistencyPoint **out, size_t *n, Error *err)
{
    *out = NULL;
    *n = 0;
    char *dir = xprintf("clusters/%s/cps", cluster);
    StorageList l = {0};
    int rc = storage_list(p->storage, dir, &l, err);
    free(dir);
    if (rc != 0)
        return -1;
    pthread_mutex_lock(&c->mu);
    CpCacheCluster *k = cluster_entry(c, cluster);
    CachedCp *fresh;
    size_t nfresh;
    rc = refresh(c, p, cluster, k, &l, &fresh, &nfresh, err);
    if (rc == 0)
    {
        for (size_t i = 0; i < k->n; i++)
            cached_free(&k->cps[i]);
        free(k->cps);
        k->cps = fresh;
        k->n = nfresh;
        *out = nfresh ? xcalloc(nfresh, sizeof(ConsistencyPoint)) : NULL;
        for (size_t i = 0; rc == 0 && i < nfresh; i++)
            if ((rc = cp_copy(&fresh[i].cp, &(*out)[i], err)) == 0)
                (*n)++;
    }
    else
    {
        for (size_t i = 0; i < nfresh; i++)
            cached_free(&fresh[i]);
        free(fresh);
    }
    pthread_mutex_unlock(&c->mu);
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
