/* Step 1 of a cluster restore (cluster_restore.c): the consistency point
 * a target names (--cp, --time: the latest at or before, --gtxid: the
 * first after its decision, --latest) and the newest cluster backup that
 * ends before it, chosen from the pool alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/cluster_backup.h"
#include "consistency/cp_choose.h"
#include "consistency/cp_store.h"
#include "restore/cluster_restore_internal.h"
#include "restore/exact_plan.h"

static double
jdouble(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

const char *
jstring(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static double
backup_end_time(json_object *b)
{
    json_object *cp;
    return json_object_object_get_ex(b, "end_cp", &cp) ? jdouble(cp, "epoch") : 0;
}

static bool
backup_covers(json_object *b, const char *shard)
{
    const char *scope = jstring(b, "scope");
    if (!shard)
        return scope && !strcmp(scope, "cluster");
    json_object *nodes;
    if (!json_object_object_get_ex(b, "nodes", &nodes))
        return false;
    for (size_t i = 0; i < json_object_array_length(nodes); i++)
    {
        const char *set = jstring(json_object_array_get_idx(nodes, i), "set");
        if (set && !strcmp(set, shard))
            return true;
    }
    return false;
}

static int
window_error(const RestoreOptions *o, const Plan *p, const char *what, Error *err)
{
    json_object *first = NULL;
    for (size_t i = 0; i < p->nbackups && !first; i++)
        if (backup_covers(p->backups[i], o->shard))
            first = p->backups[i];
    if (!first && o->shard && p->nbackups > 0)
        return error_set(err, "cluster %s has no shard %s: none of its %zu backup(s) in pool %s holds it", o->cluster,
                         o->shard, p->nbackups, o->co.pool);
    if (!first || p->ncps == 0)
        return error_set(err, "cluster %s has no complete %s backup in pool %s", o->cluster, o->shard ? "shard" : "cluster",
                         o->co.pool);
    json_object *end;
    json_object_object_get_ex(first, "end_cp", &end);
    return error_set(err, "%s is outside the recoverable window of cluster %s: from CP %s (%s) to CP %s (%s)", what,
                     o->cluster, jstring(end, "name"), jstring(end, "time"), p->cps[p->ncps - 1].name,
                     p->cps[p->ncps - 1].time_text);
}

int
cluster_plan_choose(Pool *pool, RestoreOptions *o, Plan *p, Error *err)
{
    memset(p, 0, sizeof(*p));
    if (cp_list_pool(pool, o->cluster, &p->cps, &p->ncps, err) != 0)
        return -1;
    if (cluster_backups_list(pool, o->cluster, &p->backups, &p->nbackups, err) != 0)
        return -1;
    char what[256];
    if (o->cp)
    {
        p->cp = cp_named(p->cps, p->ncps, o->cp);
        snprintf(what, sizeof(what), "consistency point %s", o->cp);
        if (!p->cp)
            return error_set(err, "cluster %s has no consistency point %s in pool %s (strata cp list)", o->cluster,
                             o->cp, o->co.pool);
    }
    else if (o->gtxid)
    {
        double decided = 0;
        if (exact_plan_gtxid_decision(o, &decided, NULL, err) != 0)
            return -1;
        p->cp = cp_first_after(p->cps, p->ncps, decided);
        snprintf(what, sizeof(what), "global transaction %s", o->gtxid);
        if (!p->cp)
            return error_set(err, "no consistency point after the decision of %s yet: take one (strata cp create)",
                             o->gtxid);
    }
    else if (o->target.kind == TARGET_TIME)
    {
        p->cp = cp_at_or_before(p->cps, p->ncps, o->target.time);
        snprintf(what, sizeof(what), "time %s", o->target.text);
        if (!p->cp)
            return window_error(o, p, what, err);
    }
    else
    {
        snprintf(what, sizeof(what), "the latest consistency point");
        p->cp = cp_latest(p->cps, p->ncps);
        if (!p->cp)
            return window_error(o, p, what, err);
    }
    for (size_t i = 0; i < p->nbackups; i++)
        if (backup_covers(p->backups[i], o->shard) && backup_end_time(p->backups[i]) <= p->cp->time)
            p->backup = p->backups[i];
    if (!p->backup)
        return window_error(o, p, what, err);
    return 0;
}

void
cluster_plan_free(Plan *p)
{
    cp_list_free(p->cps, p->ncps);
    for (size_t i = 0; i < p->nbackups; i++)
        json_object_put(p->backups[i]);
    free(p->backups);
}
