/* The node manager's configuration file:
 *   {"listen": "127.0.0.1:8081", "token_file": "/etc/strata/node.token",
 *    "pool": "/var/lib/strata/pool", "pg_bin": "/usr/lib/postgresql/15/bin", "max_rate": "50M",
 *    "tls_cert": "/etc/strata/node.pem", "tls_key": "/etc/strata/node.key",
 *    "tls_client_ca": "/etc/strata/ca.pem" (the cluster manager's certificate must be signed by it),
 *    "key_file": "/etc/strata/pool.key" (or "passphrase_file": a keyed pool's key),
 *    "instances": [{"name": "shard1-s1", "pgdata": "/d/s1", "pg_conn": "host=... port=..."}]} */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "nodemgr/nodemgr.h"

static int
load_instances(json_object *o, const char *path, NodeManagerConfig *c, Error *err)
{
    json_object *a;
    if (!json_object_object_get_ex(o, "instances", &a) || json_object_is_type(a, json_type_null))
        return 0;
    if (!json_object_is_type(a, json_type_array))
        return error_set(err, "%s: \"instances\" must be an array of {name, pgdata, pg_conn}", path);
    size_t n = json_object_array_length(a);
    c->instances = xcalloc(n ? n : 1, sizeof(NodeInstance));
    for (size_t i = 0; i < n; i++)
    {
        json_object *e = json_object_array_get_idx(a, i);
        char *where = xprintf("%s: \"instances\"[%zu]", path, i);
        int rc = json_object_is_type(e, json_type_object) ? 0 : error_set(err, "%s: not an object", where);
        NodeInstance *in = &c->instances[c->ninstances];
        if (rc == 0)
            rc = config_get_string(e, "name", where, true, &in->name, err);
        if (rc == 0)
            rc = config_get_string(e, "pgdata", where, true, &in->pgdata, err);
        if (rc == 0)
            rc = config_get_string(e, "pg_conn", where, true, &in->pg_conn, err);
        if (rc == 0 && in->pgdata[0] != '/')
            rc = error_set(err, "%s: \"pgdata\" must be an absolute path, not '%s'", where, in->pgdata);
        for (size_t k = 0; rc == 0 && k < c->ninstances; k++)
            if (!strcmp(c->instances[k].name, in->name))
                rc = error_set(err, "%s: instance name '%s' is listed twice", where, in->name);
        c->ninstances++;   /* counted even when half-filled: config_free frees it */
        free(where);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* "max_rate": bytes per second, a number or a size ("20M"). */
static int
load_max_rate(json_object *o, const char *path, NodeManagerConfig *c, Error *err)
{
    json_object *v;
    if (!json_object_object_get_ex(o, "max_rate", &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
    {
        c->max_rate = (uint64_t) json_object_get_int64(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_string) && parse_size(json_object_get_string(v), &c->max_rate, err) == 0 &&
        c->max_rate > 0)
        return 0;
    return error_set(err, "%s: \"max_rate\" must be a positive number of bytes per second or a size like \"20M\", "
                          "not %s", path, json_object_to_json_string(v));
}

int
nodemgr_config_load(const char *path, NodeManagerConfig *c, Error *err)
{
    memset(c, 0, sizeof(*c));
    json_object *o;
    if (config_file_load(path, &o, err) != 0)
        return -1;
    int rc = config_listen(o, path, &c->listen_host, &c->listen_port, err);
    if (rc == 0)
        rc = config_token(o, path, NULL, "token_file", "the token the cluster manager presents", &c->token,
                          &c->token_len, err);
    if (rc == 0)
        rc = config_get_string(o, "pool", path, true, &c->pool, err);
    if (rc == 0)
        rc = config_pool_key(o, path, err);
    if (rc == 0)
        rc = config_tls(o, path, &c->tls_cert, &c->tls_key, err);
    if (rc == 0)
        rc = config_pem_file(o, "tls_client_ca", path, &c->tls_client_ca, err);
    if (rc == 0 && c->tls_client_ca && !c->tls_cert)
        rc = error_set(err, "%s: \"tls_client_ca\" needs \"tls_cert\" and \"tls_key\" (client certificates are TLS)",
                       path);
    if (rc == 0)
        rc = config_get_string(o, "pg_bin", path, false, &c->pg_bin, err);
    if (rc == 0)
        rc = load_max_rate(o, path, c, err);
    if (rc == 0)
        rc = load_instances(o, path, c, err);
    json_object_put(o);
    if (rc != 0)
        nodemgr_config_free(c);
    return rc;
}

void
nodemgr_config_free(NodeManagerConfig *c)
{
    free(c->listen_host);
    secret_free(c->token);
    free(c->pool);
    free(c->pg_bin);
    free(c->tls_cert);
    secret_free(c->tls_key);
    free(c->tls_client_ca);
    for (size_t i = 0; i < c->ninstances; i++)
    {
        free(c->instances[i].name);
        free(c->instances[i].pgdata);
        free(c->instances[i].pg_conn);
    }
    free(c->instances);
    memset(c, 0, sizeof(*c));
}
