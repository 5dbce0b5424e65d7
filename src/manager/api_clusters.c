/* The API's view of registered clusters (docs/manager.md): the list from
 * the catalog, and one cluster's topology with each node's live state,
 * asked of the nodes themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/clusters.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/util.h"
#include "manager/api_handlers.h"
#include "manager/manager.h"

void
api_get_clusters(Manager *m, ApiResponse *out)
{
    PGconn *c = api_meta_conn(m, out);
    if (!c)
        return;
    Error err;
    PGresult *r = catalog_clusters_summary(c, "metadata primary", &err);
    if (!r)
    {
        http_error(out, 500, "listing clusters: %s", err.msg);
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

int
api_load_topology(Manager *m, const char *name, Topology *t, ApiResponse *out)
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
    return json_array_find(list, "name", name);
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

void
api_get_cluster(Manager *m, const char *name, ApiResponse *out)
{
    Topology t;
    if (api_load_topology(m, name, &t, out) != 0)
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
