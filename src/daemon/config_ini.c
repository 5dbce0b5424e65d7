/* A daemon's configuration from strata.conf (INI, cli/config_file.h)
 * instead of its JSON file: the same members, read from
 *   [global] and [global:cluster-manager] / [global:node-manager]
 *       key = value               "key" with '_' for '-' (token-file is
 *                                 "token_file"); the command's section wins
 *   [instance:NAME]               node manager: one of "instances"
 *       pgdata = DIR, pg-conn = CONNINFO
 *   [node-manager:HOST]           cluster manager: "node_managers"
 *       url = https://ADDRESS:PORT
 * The other sections (a node's, a cluster's, other commands') are the
 * CLI's and are left alone, so one file serves every command. */
#include <stdlib.h>
#include <string.h>

#include "cli/config_file.h"
#include "common/util.h"
#include "daemon/daemon.h"

static char *
json_key(const char *key)
{
    char *k = xstrdup(key);
    for (char *p = k; *p; p++)
        if (*p == '-')
            *p = '_';
    return k;
}

static void
set_member(json_object *o, const char *key, const char *value)
{
    char *k = json_key(key);
    json_object_object_add(o, k, json_object_new_string(value));
    free(k);
}

/* The object of section `name` in `parent` (an array of {name: ...} or an
 * object keyed by name), created on first use. */
static json_object *
instance_object(json_object *root, const char *name)
{
    json_object *a;
    if (!json_object_object_get_ex(root, "instances", &a))
    {
        a = json_object_new_array();
        json_object_object_add(root, "instances", a);
    }
    for (size_t i = 0; i < json_object_array_length(a); i++)
    {
        json_object *e = json_object_array_get_idx(a, i);
        json_object *n;
        if (json_object_object_get_ex(e, "name", &n) && !strcmp(json_object_get_string(n), name))
            return e;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string(name));
    json_object_array_add(a, e);
    return e;
}

static int
node_manager_url(json_object *root, const ConfigEntry *e, const char *path, const char *host, Error *err)
{
    if (strcmp(e->key, "url") != 0)
        return error_set(err, "%s:%d: [node-manager:%s] takes url = http(s)://ADDRESS:PORT, not %s", path, e->line,
                         host, e->key);
    json_object *nm;
    if (!json_object_object_get_ex(root, "node_managers", &nm))
    {
        nm = json_object_new_object();
        json_object_object_add(root, "node_managers", nm);
    }
    json_object_object_add(nm, host, json_object_new_string(e->value));
    return 0;
}

int
config_ini_to_json(const char *path, const char *text, size_t len, const char *command, json_object **out,
                   Error *err)
{
    *out = NULL;
    ConfigFile f;
    if (config_file_parse(path, text, len, &f, err) != 0)
        return -1;
    json_object *root = json_object_new_object();
    char *own = xprintf("global:%s", command);
    int rc = 0;
    /* [global] first, so the command's own section overrides it. */
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        for (size_t i = 0; i < f.count && rc == 0; i++)
        {
            const ConfigEntry *e = &f.entries[i];
            if (pass == 0 && !strcmp(e->section, "global"))
                set_member(root, e->key, e->value);
            else if (pass == 1 && !strcmp(e->section, own))
                set_member(root, e->key, e->value);
            else if (pass == 1 && !strncmp(e->section, "instance:", 9))
                set_member(instance_object(root, e->section + 9), e->key, e->value);
            else if (pass == 1 && !strncmp(e->section, "node-manager:", 13))
                rc = node_manager_url(root, e, path, e->section + 13, err);
        }
    free(own);
    config_file_free(&f);
    if (rc != 0)
    {
        json_object_put(root);
        return -1;
    }
    *out = root;
    return 0;
}
