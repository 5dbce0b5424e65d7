/* The cluster manager's configuration and its API token. The token comes
 * from the configuration file (or a file it names) and never from the
 * command line, where every user of the machine could read it in ps. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

/* "node_managers": {"<host>": "http://ADDRESS:PORT", ...} and the token
 * presented to them, "node_token_file" (required with node managers). */
static int
node_managers_load(json_object *o, const char *path, ManagerConfig *c, Error *err)
{
    json_object *nm;
    if (!json_object_object_get_ex(o, "node_managers", &nm) || json_object_is_type(nm, json_type_null))
        return 0;
    if (!json_object_is_type(nm, json_type_object))
        return error_set(err, "%s: \"node_managers\" must be an object {\"<host>\": \"http://ADDRESS:PORT\"}", path);
    json_object_object_foreach(nm, host, url)
    {
        const char *u = json_object_is_type(url, json_type_string) ? json_object_get_string(url) : "";
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            return error_set(err, "%s: \"node_managers\": the node manager of host '%s' must be an http:// or "
                                  "https:// URL, not '%s'", path, host, json_object_to_json_string(url));
        c->node_manager_hosts = xrealloc(c->node_manager_hosts, (c->n_node_managers + 1) * sizeof(char *));
        c->node_manager_urls = xrealloc(c->node_manager_urls, (c->n_node_managers + 1) * sizeof(char *));
        c->node_manager_hosts[c->n_node_managers] = xstrdup(host);
        /* Without a trailing slash: paths are appended. */
        char *base = xstrdup(u);
        for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
            base[n - 1] = '\0';
        c->node_manager_urls[c->n_node_managers] = base;
        c->n_node_managers++;
    }
    if (c->n_node_managers == 0)
        return 0;
    return config_token(o, path, NULL, "node_token_file", "the token for the node managers", &c->node_token,
                        &c->node_token_len, err);
}

int
manager_config_load(const char *path, ManagerConfig *c, Error *err)
{
    memset(c, 0, sizeof(*c));
    json_object *o;
    if (config_file_load(path, &o, err) != 0)
        return -1;
    int rc = config_listen(o, path, &c->listen_host, &c->listen_port, err);
    if (rc == 0)
        rc = config_get_string(o, "meta_conn", path, true, &c->meta_conn, err);
    if (rc == 0)
        rc = config_get_string(o, "pool", path, true, &c->pool, err);
    if (rc == 0)
        rc = config_token(o, path, "token", "token_file", "the API token", &c->token, &c->token_len, err);
    if (rc == 0)
        rc = config_tls(o, path, &c->tls_cert, &c->tls_key, err);
    if (rc == 0)
        rc = node_managers_load(o, path, c, err);
    if (rc == 0)
        rc = restore_config_load(o, path, c, err);
    if (rc == 0)
        rc = scheduler_config_load(o, path, c, err);
    json_object_put(o);
    if (rc != 0)
        manager_config_free(c);
    return rc;
}

void
manager_config_free(ManagerConfig *c)
{
    free(c->listen_host);
    secret_free(c->token);
    free(c->meta_conn);
    free(c->pool);
    free(c->tls_cert);
    secret_free(c->tls_key);
    for (size_t i = 0; i < c->n_node_managers; i++)
    {
        free(c->node_manager_hosts[i]);
        free(c->node_manager_urls[i]);
    }
    free(c->node_manager_hosts);
    free(c->node_manager_urls);
    secret_free(c->node_token);
    free(c->restore_root);
    scheduler_config_free(c);
    memset(c, 0, sizeof(*c));
}

bool
manager_auth_ok(const ManagerConfig *c, const char *authorization)
{
    return bearer_auth_ok(c->token, c->token_len, authorization);
}
