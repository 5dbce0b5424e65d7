/* The cluster manager's configuration and its API token. The token comes
 * from the configuration file (or a file it names) and never from the
 * command line, where every user of the machine could read it in ps. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

/* "node_managers": {"<host>": "http://ADDRESS:PORT", ...} and the token
 * presented to them, "node_token_file" (required with node managers). A
 * host's entry may be an object instead, {"url": ..., "data_root": "/srv",
 * "ports": "26000-26999"}: the host is then a resource restores place new
 * clusters on (restore/placement.h; docs/deployment.md). */
static int
node_managers_load(json_object *o, const char *path, ManagerConfig *c, Error *err)
{
    json_object *nm;
    if (!json_object_object_get_ex(o, "node_managers", &nm) || json_object_is_type(nm, json_type_null))
        return 0;
    if (!json_object_is_type(nm, json_type_object))
        return error_set(err, "%s: \"node_managers\" must be an object {\"<host>\": \"http://ADDRESS:PORT\"}", path);
    json_object_object_foreach(nm, host, entry)
    {
        json_object *url = entry;
        if (json_object_is_type(entry, json_type_object))
        {
            json_object_object_get_ex(entry, "url", &url);
            if (json_object_object_get_ex(entry, "data_root", NULL) || json_object_object_get_ex(entry, "ports", NULL))
            {
                PlacementHost h;
                char *what = xprintf("%s: \"node_managers\"", path);
                int rc = placement_host_from_json(entry, what, host, &h, err);
                free(what);
                if (rc != 0)
                    return -1;
                c->resources.hosts = xrealloc(c->resources.hosts, (c->resources.n + 1) * sizeof(PlacementHost));
                c->resources.hosts[c->resources.n++] = h;
            }
        }
        const char *u = url && json_object_is_type(url, json_type_string) ? json_object_get_string(url) : "";
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
        if (!strncmp(u, "http://", 7))
            log_warn("%s: the node manager of host %s is reached over plain HTTP (%s): the node token and the "
                     "tasks cross the network unencrypted; give it tls_cert/tls_key and an https:// URL",
                     path, host, u);
    }
    if (c->n_node_managers == 0)
        return 0;
    if (config_get_string(o, "node_ca_file", path, false, &c->node_ca_file, err) != 0)
        return -1;
    if (c->node_ca_file && access(c->node_ca_file, R_OK) != 0)
        return error_errno(err, "%s: \"node_ca_file\" %s cannot be read", path, c->node_ca_file);
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
        rc = config_pool_key(o, path, err);
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
    free(c->node_ca_file);
    for (size_t i = 0; i < c->n_node_managers; i++)
    {
        free(c->node_manager_hosts[i]);
        free(c->node_manager_urls[i]);
    }
    free(c->node_manager_hosts);
    free(c->node_manager_urls);
    placement_free(&c->resources);
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
