#include "cluster/topology.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/clusters.h"
#include "common/quote.h"
#include "common/util.h"
#include "pool/fields.h"
#include "pg/conn.h"

const char *
node_role_name(NodeRole role)
{
    switch (role)
    {
        case NODE_PRIMARY: return "primary";
        case NODE_STANDBY: return "standby";
        case NODE_COMPUTE: return "compute";
    }
    return "?";
}

static int
role_parse(const char *s, NodeRole *out)
{
    if (!strcmp(s, "primary"))
        *out = NODE_PRIMARY;
    else if (!strcmp(s, "standby"))
        *out = NODE_STANDBY;
    else if (!strcmp(s, "compute"))
        *out = NODE_COMPUTE;
    else
        return -1;
    return 0;
}

int
topology_name_check(const char *what, const char *name, Error *err)
{
    if (!name || !*name)
        return error_set(err, "%s: the name is empty", what);
    if (strlen(name) > TOPO_NAME_MAX)
        return error_set(err, "%s '%s': longer than %d characters", what, name, TOPO_NAME_MAX);
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char) *c) || *c == '_' || *c == '-' || *c == '.'))
            return error_set(err, "%s '%s': '%c' is not allowed (letters, digits, _ - and .)", what, name, *c);
    if (name[0] == '.' || name[0] == '-')
        return error_set(err, "%s '%s': must not start with '%c'", what, name, name[0]);
    return 0;
}

static void
node_free(TopoNode *n)
{
    free(n->name);
    free(n->host);
    free(n->data_dir);
}

static void
set_free(ReplicaSet *s)
{
    for (size_t i = 0; i < s->nnodes; i++)
        node_free(&s->nodes[i]);
    free(s->nodes);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

void
topology_free(Topology *t)
{
    set_free(&t->meta);
    for (size_t i = 0; i < t->nshards; i++)
        set_free(&t->shards[i]);
    free(t->shards);
    for (size_t i = 0; i < t->ncompute; i++)
        node_free(&t->compute[i]);
    free(t->compute);
    free(t->name);
    free(t->database);
    free(t->meta_database);
    free(t->origin);
    free(t->created_at);
    memset(t, 0, sizeof(*t));
}

/* ---- JSON ------------------------------------------------------------- */

/* A string member: NULL if absent; error if present but not a string. */
static int
json_str(json_object *o, const char *key, const char *where, const char **out, Error *err)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return error_set(err, "%s: \"%s\" must be a string", where, key);
    *out = json_object_get_string(v);
    return 0;
}

static int
parse_node(json_object *o, const char *where, bool compute, TopoNode *n, Error *err)
{
    if (!json_object_is_type(o, json_type_object))
        return error_set(err, "%s: a node must be an object", where);
    const char *name, *host, *role, *dir;
    if (json_str(o, "name", where, &name, err) || json_str(o, "host", where, &host, err) ||
        json_str(o, "role", where, &role, err) || json_str(o, "data_dir", where, &dir, err))
        return -1;
    if (!name)
        return error_set(err, "%s: a node has no \"name\"", where);
    if (topology_name_check("node", name, err) != 0)
        return error_prefix(err, "%s: ", where);
    if (!host || !*host)
        return error_set(err, "%s: node %s has no \"host\"", where, name);
    for (const char *c = host; *c; c++)
        if (!(isalnum((unsigned char) *c) || strchr(".-_:/[]%", *c)) || c - host > 255)
            return error_set(err, "%s: node %s: \"host\" is not a host name, address or socket directory", where,
                             name);
    if (dir && *dir && (dir[0] != '/' || relative_path_check("\"data_dir\"", dir + 1, err) != 0))
        return error_set(err, "%s: node %s: \"data_dir\" must be an absolute path without '.', '..' or empty parts",
                         where, name);
    json_object *pv;
    if (!json_object_object_get_ex(o, "port", &pv))
        return error_set(err, "%s: node %s has no \"port\"", where, name);
    int64_t port = 0;
    if (json_object_is_type(pv, json_type_int))
        port = json_object_get_int64(pv);
    else if (json_object_is_type(pv, json_type_string))
    {
        long v;
        if (parse_int_range(json_object_get_string(pv), 1, 65535, &v, err) != 0)
            return error_prefix(err, "%s: node %s: \"port\": ", where, name);
        port = v;
    }
    if (port < 1 || port > 65535)
        return error_set(err, "%s: node %s: \"port\" must be a number from 1 to 65535", where, name);
    NodeRole r = compute ? NODE_COMPUTE : NODE_STANDBY;
    if (role && role_parse(role, &r) != 0)
        return error_set(err, "%s: node %s: role '%s' is not primary, standby or compute", where, name, role);
    if (!role && !compute)
        return error_set(err, "%s: node %s has no \"role\" (primary or standby)", where, name);
    if (compute && r != NODE_COMPUTE)
        return error_set(err, "%s: node %s: a compute node's role must be compute, not %s", where, name, role);
    if (!compute && r == NODE_COMPUTE)
        return error_set(err, "%s: node %s: role compute belongs in \"compute\", not in a replica set", where, name);
    n->name = xstrdup(name);
    n->host = xstrdup(host);
    n->port = (int) port;
    n->role = r;
    n->data_dir = dir && *dir ? xstrdup(dir) : NULL;
    return 0;
}

static int
parse_nodes(json_object *arr, const char *where, bool compute, TopoNode **out, size_t *count, Error *err)
{
    if (!json_object_is_type(arr, json_type_array))
        return error_set(err, "%s must be an array of nodes", where);
    size_t n = json_object_array_length(arr);
    *out = n ? xcalloc(n, sizeof(TopoNode)) : NULL;
    *count = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (parse_node(json_object_array_get_idx(arr, i), where, compute, &(*out)[i], err) != 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static int
check_set(const ReplicaSet *s, const char *source, Error *err)
{
    if (s->nnodes == 0)
        return error_set(err, "%s: replica set %s has no nodes", source, s->name);
    size_t primaries = 0;
    for (size_t i = 0; i < s->nnodes; i++)
        primaries += s->nodes[i].role == NODE_PRIMARY;
    if (primaries != 1)
        return error_set(err, "%s: replica set %s has %zu primaries; it needs exactly one", source, s->name,
                         primaries);
    return 0;
}

/* Node names are unique in the cluster: they key strata.nodes. */
static int
check_unique_names(const Topology *t, const char *source, Error *err)
{
    size_t total = t->meta.nnodes + t->ncompute;
    for (size_t i = 0; i < t->nshards; i++)
        total += t->shards[i].nnodes;
    const TopoNode **all = xcalloc(total ? total : 1, sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < t->meta.nnodes; i++)
        all[k++] = &t->meta.nodes[i];
    for (size_t s = 0; s < t->nshards; s++)
        for (size_t i = 0; i < t->shards[s].nnodes; i++)
            all[k++] = &t->shards[s].nodes[i];
    for (size_t i = 0; i < t->ncompute; i++)
        all[k++] = &t->compute[i];
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0; i++)
        for (size_t j = i + 1; j < total && rc == 0; j++)
        {
            if (!strcmp(all[i]->name, all[j]->name))
                rc = error_set(err, "%s: node name %s is used twice", source, all[i]->name);
            else if (!strcmp(all[i]->host, all[j]->host) && all[i]->port == all[j]->port)
                rc = error_set(err, "%s: nodes %s and %s are both at %s:%d", source, all[i]->name, all[j]->name,
                               all[i]->host, all[i]->port);
        }
    for (size_t s = 0; s < t->nshards && rc == 0; s++)
        for (size_t j = s + 1; j < t->nshards && rc == 0; j++)
            if (!strcmp(t->shards[s].name, t->shards[j].name))
                rc = error_set(err, "%s: shard name %s is used twice", source, t->shards[s].name);
    free(all);
    return rc;
}

static int
topology_from_object(json_object *root, const char *source, Topology *t, Error *err)
{
    if (!json_object_is_type(root, json_type_object))
        return error_set(err, "%s: the topology must be a JSON object", source);
    const char *name, *db, *mdb, *origin;
    if (json_str(root, "name", source, &name, err) || json_str(root, "database", source, &db, err) ||
        json_str(root, "meta_database", source, &mdb, err) || json_str(root, "origin", source, &origin, err))
        return -1;
    if (!name)
        return error_set(err, "%s: no cluster \"name\"", source);
    /* The databases' names reach SQL (CREATE DATABASE) unquoted. */
    if (topology_name_check("cluster", name, err) != 0 ||
        (origin && topology_name_check("origin cluster", origin, err) != 0) ||
        (db && *db && topology_name_check("database", db, err) != 0) ||
        (mdb && *mdb && topology_name_check("meta_database", mdb, err) != 0))
        return error_prefix(err, "%s: ", source);
    t->name = xstrdup(name);
    t->database = xstrdup(db && *db ? db : "bank");
    t->meta_database = xstrdup(mdb && *mdb ? mdb : "strata");
    t->origin = origin && *origin ? xstrdup(origin) : NULL;

    json_object *v;
    if (!json_object_object_get_ex(root, "meta", &v))
        return error_set(err, "%s: no \"meta\" (the metadata cluster's nodes)", source);
    char where[256];
    snprintf(where, sizeof(where), "%s: \"meta\"", source);
    t->meta.name = xstrdup(TOPO_META_SET);
    if (parse_nodes(v, where, false, &t->meta.nodes, &t->meta.nnodes, err) != 0 || check_set(&t->meta, source, err))
        return -1;

    if (!json_object_object_get_ex(root, "shards", &v) || !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) == 0)
        return error_set(err, "%s: \"shards\" must be a non-empty array", source);
    size_t ns = json_object_array_length(v);
    t->shards = xcalloc(ns, sizeof(ReplicaSet));
    for (size_t i = 0; i < ns; i++)
    {
        json_object *so = json_object_array_get_idx(v, i), *nodes;
        const char *sname;
        snprintf(where, sizeof(where), "%s: shard #%zu", source, i + 1);
        if (!json_object_is_type(so, json_type_object))
            return error_set(err, "%s must be an object", where);
        if (json_str(so, "name", where, &sname, err) != 0)
            return -1;
        if (!sname)
            return error_set(err, "%s has no \"name\"", where);
        if (topology_name_check("shard", sname, err) != 0)
            return error_prefix(err, "%s: ", source);
        if (!strcmp(sname, TOPO_META_SET))
            return error_set(err, "%s: a shard cannot be called '%s' (the metadata cluster's name)", source,
                             TOPO_META_SET);
        t->shards[i].name = xstrdup(sname);
        t->nshards++;
        snprintf(where, sizeof(where), "%s: shard %s: \"nodes\"", source, sname);
        if (!json_object_object_get_ex(so, "nodes", &nodes))
            return error_set(err, "%s: shard %s has no \"nodes\"", source, sname);
        if (parse_nodes(nodes, where, false, &t->shards[i].nodes, &t->shards[i].nnodes, err) != 0 ||
            check_set(&t->shards[i], source, err) != 0)
            return -1;
    }
    if (json_object_object_get_ex(root, "compute", &v) && !json_object_is_type(v, json_type_null))
    {
        snprintf(where, sizeof(where), "%s: \"compute\"", source);
        if (parse_nodes(v, where, true, &t->compute, &t->ncompute, err) != 0)
            return -1;
    }
    return check_unique_names(t, source, err);
}

int
topology_from_json(const char *text, const char *source, Topology *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    enum json_tokener_error jerr = json_tokener_success;
    json_object *root = json_tokener_parse_verbose(text, &jerr);
    if (!root)
        return error_set(err, "%s is not valid JSON: %s", source, json_tokener_error_desc(jerr));
    int rc = topology_from_object(root, source, out, err);
    json_object_put(root);
    if (rc != 0)
        topology_free(out);
    return rc;
}

int
topology_load_file(const char *path, Topology *out, Error *err)
{
    Buffer b = {0};
    memset(out, 0, sizeof(*out));
    if (read_small_file(path, &b, err) != 0)
        return -1;
    buffer_append(&b, "", 1);
    int rc = topology_from_json(b.data, path, out, err);
    buffer_free(&b);
    return rc;
}

static json_object *
node_to_json(const TopoNode *n)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(n->name));
    json_object_object_add(o, "host", json_object_new_string(n->host));
    json_object_object_add(o, "port", json_object_new_int(n->port));
    json_object_object_add(o, "role", json_object_new_string(node_role_name(n->role)));
    if (n->data_dir)
        json_object_object_add(o, "data_dir", json_object_new_string(n->data_dir));
    return o;
}

static json_object *
nodes_to_json(const TopoNode *nodes, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, node_to_json(&nodes[i]));
    return a;
}

json_object *
topology_to_json(const Topology *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(t->name));
    json_object_object_add(o, "database", json_object_new_string(t->database));
    json_object_object_add(o, "meta_database", json_object_new_string(t->meta_database));
    if (t->origin)
        json_object_object_add(o, "origin", json_object_new_string(t->origin));
    if (t->created_at)
        json_object_object_add(o, "created_at", json_object_new_string(t->created_at));
    json_object_object_add(o, "meta", nodes_to_json(t->meta.nodes, t->meta.nnodes));
    json_object *sh = json_object_new_array();
    for (size_t i = 0; i < t->nshards; i++)
    {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "name", json_object_new_string(t->shards[i].name));
        json_object_object_add(s, "nodes", nodes_to_json(t->shards[i].nodes, t->shards[i].nnodes));
        json_object_array_add(sh, s);
    }
    json_object_object_add(o, "shards", sh);
    json_object_object_add(o, "compute", nodes_to_json(t->compute, t->ncompute));
    return o;
}

/* ---- catalog ---------------------------------------------------------- */

static void
node_from_row(PGresult *r, int row, TopoNode *n)
{
    n->name = xstrdup(PQgetvalue(r, row, 1));
    n->host = xstrdup(PQgetvalue(r, row, 2));
    n->port = atoi(PQgetvalue(r, row, 3));
    if (role_parse(PQgetvalue(r, row, 4), &n->role) != 0)
        n->role = NODE_STANDBY; /* the catalog's CHECK makes this unreachable */
    n->data_dir = PQgetisnull(r, row, 5) ? NULL : xstrdup(PQgetvalue(r, row, 5));
}

int
topology_load(PGconn *meta, const char *cluster, Topology *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    PGresult *c = catalog_cluster_row(meta, "metadata primary", cluster, err);
    if (!c)
        return error_prefix(err, "reading cluster %s from the catalog: ", cluster);
    if (PQntuples(c) == 0)
    {
        PQclear(c);
        return error_set(err, "cluster %s is not registered in the metadata database (strata cluster register)",
                         cluster);
    }
    out->name = xstrdup(PQgetvalue(c, 0, 0));
    out->database = xstrdup(PQgetvalue(c, 0, 1));
    out->meta_database = xstrdup(PQgetvalue(c, 0, 2));
    out->origin = PQgetisnull(c, 0, 3) ? NULL : xstrdup(PQgetvalue(c, 0, 3));
    out->created_at = xstrdup(PQgetvalue(c, 0, 4));
    PQclear(c);

    PGresult *s = catalog_cluster_shards(meta, "metadata primary", cluster, err);
    if (!s)
    {
        topology_free(out);
        return error_prefix(err, "reading cluster %s from the catalog: ", cluster);
    }
    out->nshards = (size_t) PQntuples(s);
    out->shards = out->nshards ? xcalloc(out->nshards, sizeof(ReplicaSet)) : NULL;
    for (size_t i = 0; i < out->nshards; i++)
        out->shards[i].name = xstrdup(PQgetvalue(s, (int) i, 0));
    PQclear(s);
    out->meta.name = xstrdup(TOPO_META_SET);

    PGresult *n = catalog_cluster_nodes(meta, "metadata primary", cluster, err);
    if (!n)
    {
        topology_free(out);
        return error_prefix(err, "reading cluster %s from the catalog: ", cluster);
    }
    int rows = PQntuples(n);
    /* Each node goes to its set; the arrays are sized for the worst case. */
    out->meta.nodes = xcalloc((size_t) rows + 1, sizeof(TopoNode));
    out->compute = xcalloc((size_t) rows + 1, sizeof(TopoNode));
    for (size_t i = 0; i < out->nshards; i++)
        out->shards[i].nodes = xcalloc((size_t) rows + 1, sizeof(TopoNode));
    for (int row = 0; row < rows; row++)
    {
        const char *set = PQgetvalue(n, row, 0);
        ReplicaSet *rs = NULL;
        if (!*set)
        {
            node_from_row(n, row, &out->compute[out->ncompute++]);
            continue;
        }
        if (!strcmp(set, TOPO_META_SET))
            rs = &out->meta;
        else
            for (size_t i = 0; i < out->nshards; i++)
                if (!strcmp(out->shards[i].name, set))
                    rs = &out->shards[i];
        if (!rs)
        {
            error_set(err, "catalog: node %s of cluster %s belongs to shard %s, which is not registered",
                      PQgetvalue(n, row, 1), cluster, set);
            PQclear(n);
            topology_free(out);
            return -1;
        }
        node_from_row(n, row, &rs->nodes[rs->nnodes++]);
    }
    PQclear(n);
    return 0;
}

static int
save_nodes(PGconn *meta, const char *cluster, const char *set, const TopoNode *nodes, size_t n, int *ordinal,
           Error *err)
{
    for (size_t i = 0; i < n; i++)
    {
        char port[16], ord[24];
        snprintf(port, sizeof(port), "%d", nodes[i].port);
        snprintf(ord, sizeof(ord), "%d", (*ordinal)++);
        CatalogNodeRow row = {cluster, set, nodes[i].name, nodes[i].host, port, node_role_name(nodes[i].role),
                              nodes[i].data_dir, ord};
        if (catalog_node_insert(meta, "metadata primary", &row, err) != 0)
            return -1;
    }
    return 0;
}

int
topology_save(PGconn *meta, const Topology *t, Error *err)
{
    PGresult *r = pg_exec(meta, "metadata primary", "BEGIN", 0, NULL, err);
    if (!r)
        return error_prefix(err, "registering cluster %s: ", t->name);
    PQclear(r);
    /* The upsert locks the cluster's row: a concurrent registration of the
     * same name waits for this one instead of interleaving node rows. */
    int rc = catalog_cluster_upsert(meta, "metadata primary", t->name, t->database, t->meta_database, t->origin, err);
    if (rc == 0)
        rc = catalog_cluster_forget_members(meta, "metadata primary", t->name, err);
    for (size_t i = 0; i < t->nshards && rc == 0; i++)
    {
        char ord[24];
        snprintf(ord, sizeof(ord), "%zu", i);
        rc = catalog_shard_insert(meta, "metadata primary", t->name, t->shards[i].name, ord, err);
    }
    int ordinal = 0;
    if (rc == 0)
        rc = save_nodes(meta, t->name, TOPO_META_SET, t->meta.nodes, t->meta.nnodes, &ordinal, err);
    for (size_t i = 0; i < t->nshards && rc == 0; i++)
        rc = save_nodes(meta, t->name, t->shards[i].name, t->shards[i].nodes, t->shards[i].nnodes, &ordinal, err);
    if (rc == 0)
        rc = save_nodes(meta, t->name, NULL, t->compute, t->ncompute, &ordinal, err);
    if (rc == 0)
    {
        r = pg_exec(meta, "metadata primary", "COMMIT", 0, NULL, err);
        if (!r)
            rc = -1;
        PQclear(r);
    }
    if (rc != 0)
    {
        PQclear(PQexec(meta, "ROLLBACK"));
        return error_prefix(err, "registering cluster %s: ", t->name);
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

const TopoNode *
topology_primary(const ReplicaSet *set)
{
    for (size_t i = 0; i < set->nnodes; i++)
        if (set->nodes[i].role == NODE_PRIMARY)
            return &set->nodes[i];
    return NULL;
}

const ReplicaSet *
topology_shard(const Topology *t, const char *name)
{
    for (size_t i = 0; i < t->nshards; i++)
        if (!strcmp(t->shards[i].name, name))
            return &t->shards[i];
    return NULL;
}

char *
topology_conninfo(const TopoNode *n, const char *dbname)
{
    Buffer b = {0};
    buffer_appendf(&b, "host=");
    conninfo_quote(&b, n->host);
    buffer_appendf(&b, " port=%d dbname=", n->port);
    conninfo_quote(&b, dbname);
    buffer_append(&b, "", 1);
    return b.data;
}

char *
topology_meta_conninfo(const Topology *t, Error *err)
{
    const TopoNode *p = topology_primary(&t->meta);
    if (!p)
    {
        error_set(err, "cluster %s: the metadata cluster has no primary in the topology", t->name);
        return NULL;
    }
    return topology_conninfo(p, t->meta_database);
}

char *
topology_shard_conninfo(const Topology *t, const ReplicaSet *shard, Error *err)
{
    const TopoNode *p = topology_primary(shard);
    if (!p)
    {
        error_set(err, "cluster %s: shard %s has no primary in the topology", t->name, shard->name);
        return NULL;
    }
    return topology_conninfo(p, t->database);
}
