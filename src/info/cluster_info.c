/* strata info --pool: the cluster half of the pool (clusters/<name>/),
 * read from the pool alone, so that an operator who lost the metadata
 * cluster still sees what can be restored (DESIGN §2: the pool is
 * self-describing). Per cluster: its complete cluster backups with their
 * end consistency points, the CPs, and the recoverable window: from the
 * oldest complete backup's end CP to the newest CP after it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/cluster_backup.h"
#include "pool/fields.h"
#include "consistency/cp_store.h"
#include "info/cluster_info.h"

static json_object *
jstr(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get(v) : NULL;
}

/* One complete cluster backup as info shows it. */
static json_object *
cluster_backup_entry(json_object *m)
{
    json_object *o = json_object_new_object();
    static const char *keys[] = {"id", "scope", "shard", "started_epoch", "duration", "size", "stored_size"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    {
        json_object *v = jstr(m, keys[i]);
        if (v)
            json_object_object_add(o, keys[i], v);
    }
    json_object *cp, *nodes;
    if (json_object_object_get_ex(m, "end_cp", &cp))
    {
        json_object_object_add(o, "end_cp", jstr(cp, "name"));
        json_object_object_add(o, "end_cp_time", jstr(cp, "time"));
    }
    if (json_object_object_get_ex(m, "nodes", &nodes))
        json_object_object_add(o, "node_backups", json_object_new_int((int) json_object_array_length(nodes)));
    return o;
}

void
cluster_window(const ConsistencyPoint *cps, size_t ncps, double oldest_backup_cp_time, ClusterWindow *w)
{
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < ncps; i++)
    {
        if (cps[i].time < oldest_backup_cp_time)
            continue;
        if (w->count == 0 || cps[i].time < cps[w->first].time)
            w->first = i;
        if (w->count == 0 || cps[i].time > cps[w->last].time)
            w->last = i;
        w->count++;
    }
}

static double
end_cp_time(json_object *m)
{
    json_object *cp, *t;
    if (!json_object_object_get_ex(m, "end_cp", &cp) || !json_object_object_get_ex(cp, "epoch", &t))
        return -1;
    return json_object_get_double(t);
}

static int
one_cluster(Pool *p, const char *cluster, json_object **out, Error *err)
{
    json_object **backups = NULL;
    size_t nb = 0, ncps = 0;
    ConsistencyPoint *cps = NULL;
    if (cluster_backups_list(p, cluster, &backups, &nb, err) != 0)
        return -1;
    if (cp_list_pool(p, cluster, &cps, &ncps, err) != 0)
    {
        for (size_t i = 0; i < nb; i++)
            json_object_put(backups[i]);
        free(backups);
        return -1;
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(cluster));
    double oldest = -1;
    for (size_t i = 0; i < nb; i++)
    {
        json_object_array_add(arr, cluster_backup_entry(backups[i]));
        double t = end_cp_time(backups[i]);
        json_object *scope;
        bool whole = json_object_object_get_ex(backups[i], "scope", &scope) &&
                     !strcmp(json_object_get_string(scope), "cluster");
        if (whole && t >= 0 && (oldest < 0 || t < oldest))
            oldest = t;
        json_object_put(backups[i]);
    }
    free(backups);
    json_object_object_add(o, "backups", arr);
    json_object_object_add(o, "cps", json_object_new_int64((int64_t) ncps));
    json_object *win = json_object_new_object();
    ClusterWindow w;
    cluster_window(cps, ncps, oldest < 0 ? 1e300 : oldest, &w);
    if (w.count)
    {
        json_object_object_add(win, "from_cp", json_object_new_string(cps[w.first].name));
        json_object_object_add(win, "from", json_object_new_string(cps[w.first].time_text));
        json_object_object_add(win, "to_cp", json_object_new_string(cps[w.last].name));
        json_object_object_add(win, "to", json_object_new_string(cps[w.last].time_text));
        json_object_object_add(win, "cps", json_object_new_int64((int64_t) w.count));
    }
    json_object_object_add(o, "recoverable", win);
    cp_list_free(cps, ncps);
    *out = o;
    return 0;
}

int
cluster_info_json(Pool *p, json_object **out, Error *err)
{
    StorageList l;
    if (storage_list(p->storage, "clusters", &l, err) != 0)
        return -1;
    json_object *arr = json_object_new_array();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.count; i++)
    {
        Error e;
        if (!l.entries[i].is_dir)
            continue;
        if (name_check("cluster", l.entries[i].name, false, &e) != 0)
            continue;   /* not a directory strata writes: never read */
        json_object *c = NULL;
        rc = one_cluster(p, l.entries[i].name, &c, err);
        if (rc == 0)
            json_object_array_add(arr, c);
    }
    storage_list_free(&l);
    if (rc != 0)
    {
        json_object_put(arr);
        return -1;
    }
    *out = arr;
    return 0;
}

void
cluster_info_print(json_object *clusters)
{
    for (size_t i = 0; i < json_object_array_length(clusters); i++)
    {
        json_object *c = json_object_array_get_idx(clusters, i), *v, *win, *backups;
        json_object_object_get_ex(c, "name", &v);
        printf("cluster %s\n", json_object_get_string(v));
        json_object_object_get_ex(c, "backups", &backups);
        for (size_t j = 0; j < json_object_array_length(backups); j++)
        {
            json_object *b = json_object_array_get_idx(backups, j), *id, *scope, *cp, *cpt;
            json_object_object_get_ex(b, "id", &id);
            json_object_object_get_ex(b, "scope", &scope);
            bool has_cp = json_object_object_get_ex(b, "end_cp", &cp);
            json_object_object_get_ex(b, "end_cp_time", &cpt);
            printf("  backup %s (%s), consistent at CP %s (%s)\n", json_object_get_string(id),
                   json_object_get_string(scope), has_cp ? json_object_get_string(cp) : "?",
                   has_cp ? json_object_get_string(cpt) : "?");
        }
        if (json_object_array_length(backups) == 0)
            printf("  no complete cluster backup\n");
        json_object_object_get_ex(c, "cps", &v);
        json_object_object_get_ex(c, "recoverable", &win);
        json_object *from, *to;
        if (json_object_object_get_ex(win, "from", &from) && json_object_object_get_ex(win, "to", &to))
            printf("  %" PRId64 " consistency point(s); recoverable from %s to %s\n", json_object_get_int64(v),
                   json_object_get_string(from), json_object_get_string(to));
        else
            printf("  %" PRId64 " consistency point(s); nothing recoverable yet\n", json_object_get_int64(v));
    }
}
