/* A task's parameters: see task_params.h. */
#include "nodemgr/task_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/quote.h"
#include "common/util.h"
#include "pool/fields.h"

bool
pool_node_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 127 || s[0] == '/' || s[n - 1] == '/' || strstr(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.' || *p == '/'))
            return false;
    return true;
}

int
check_served_dir(const NodeManagerConfig *cfg, const char *dir, int *status, Error *err)
{
    for (size_t i = 0; i < cfg->ninstances; i++)
        if (!strcmp(cfg->instances[i].pgdata, dir))
            return 0;
    if (cfg->ninstances == 0)
        return 0;
    *status = 403;
    return error_set(err, "data directory %s is not one of this node manager's instances", dir);
}

int
resolve_instance(const NodeManagerConfig *cfg, json_object *params, bool need_pgdata, bool need_conn, int *status,
                 Error *err)
{
    const char *name = json_member_string(params, "instance");
    const char *pgdata = json_member_string(params, "pgdata");
    *status = 400;
    if (name)
    {
        for (size_t i = 0; i < cfg->ninstances; i++)
            if (!strcmp(cfg->instances[i].name, name))
            {
                if (!pgdata)
                    json_object_object_add(params, "pgdata", json_object_new_string(cfg->instances[i].pgdata));
                if (!json_member_string(params, "pg_conn"))
                    json_object_object_add(params, "pg_conn", json_object_new_string(cfg->instances[i].pg_conn));
                pgdata = json_member_string(params, "pgdata");
                break;
            }
        if (!json_member_string(params, "pgdata"))
        {
            *status = 404;
            return error_set(err, "this node manager serves no instance named '%s'", name);
        }
    }
    if (need_pgdata && !pgdata)
        return error_set(err, "\"pgdata\" (or \"instance\") is required");
    if (pgdata && pgdata[0] != '/')
        return error_set(err, "\"pgdata\" must be an absolute path, not '%s'", pgdata);
    if (need_conn && !json_member_string(params, "pg_conn"))
        return error_set(err, "\"pg_conn\" (or \"instance\") is required");
    return pgdata ? check_served_dir(cfg, pgdata, status, err) : 0;
}

int
check_strings(json_object *params, const char *const *keys, Error *err)
{
    for (; *keys; keys++)
    {
        json_object *v;
        if (json_object_object_get_ex(params, *keys, &v) && !json_object_is_type(v, json_type_string))
            return error_set(err, "\"%s\" must be a string", *keys);
    }
    return 0;
}

int
check_int(json_object *params, const char *key, bool required, int64_t lo, int64_t hi, const char *what, Error *err)
{
    json_object *v;
    if (!json_object_object_get_ex(params, key, &v))
        return required ? error_set(err, "\"%s\" is required: %s, %lld-%lld", key, what, (long long) lo,
                                    (long long) hi) : 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo || json_object_get_int64(v) > hi)
        return error_set(err, "\"%s\" must be an integer from %lld to %lld (%s)", key, (long long) lo, (long long) hi,
                         what);
    return 0;
}

int
check_jobs(json_object *params, Error *err)
{
    json_object *v;
    if (json_object_object_get_ex(params, "jobs", &v) &&
        (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 || json_object_get_int64(v) > 64))
        return error_set(err, "\"jobs\" must be an integer from 1 to 64");
    return 0;
}

int
check_settings(json_object *params, Error *err)
{
    json_object *settings;
    if (!json_object_object_get_ex(params, "settings", &settings))
        return 0;
    if (!json_object_is_type(settings, json_type_object))
        return error_set(err, "\"settings\" must be an object {\"name\": \"value\"}");
    json_object_object_foreach(settings, key, val)
    {
        Buffer line = {0};
        int rc = json_object_is_type(val, json_type_string)
                     ? pg_conf_line(&line, key, json_object_get_string(val), err)
                     : error_set(err, "the value of %s is not a string", key);
        buffer_free(&line);
        if (rc != 0)
            return error_prefix(err, "\"settings\": ");
    }
    return 0;
}

int
check_new_dir(const NodeManagerConfig *cfg, const char *key, const char *dir, int *status, Error *err)
{
    *status = 400;
    if (!dir)
        return error_set(err, "\"%s\" is required: the new data directory", key);
    Error perr;
    if (dir[0] != '/' || relative_path_check(key, dir + 1, &perr) != 0)
        return error_set(err, "\"%s\" must be an absolute path without '.', '..' or empty parts, not '%s'", key, dir);
    return check_served_dir(cfg, dir, status, err);
}

char **
settings_list(json_object *params, size_t *n)
{
    json_object *settings;
    *n = 0;
    if (!json_object_object_get_ex(params, "settings", &settings) || !json_object_is_type(settings, json_type_object))
        return NULL;
    char **list = xcalloc((size_t) json_object_object_length(settings) + 1, sizeof(char *));
    json_object_object_foreach(settings, key, val)
        list[(*n)++] = xprintf("%s=%s", key, json_object_get_string(val));
    return list;
}

void
settings_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}
