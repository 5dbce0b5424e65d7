/* The "init" and "discard" tasks (task_instance.h). */
#include "nodemgr/task_instance.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json_member.h"
#include "common/log.h"
#include "common/quote.h"
#include "common/util.h"
#include "nodemgr/task_params.h"
#include "pg/bin_dir.h"
#include "restore/compute_init.h"
#include "restore/placement.h"
#include "restore/start.h"

static int
check_port(json_object *params, Error *err)
{
    json_object *v;
    if (!json_object_object_get_ex(params, "port", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1 || json_object_get_int64(v) > 65535)
        return error_set(err, "\"port\" is required: the new instance's port, 1-65535");
    return 0;
}

int
task_check_init(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    if (check_new_dir(cfg, "pgdata", json_member_string(params, "pgdata"), status, err) != 0)
        return -1;
    *status = 400;
    const char *listen = json_member_string(params, "listen"), *sock = json_member_string(params, "socket_dir");
    Buffer line = {0};
    int rc = check_port(params, err);
    if (rc == 0 && (!listen || pg_conf_line(&line, "listen_addresses", listen, err) != 0))
        rc = error_set(err, "\"listen\" is required: the address the new instance listens on (listen_addresses)");
    if (rc == 0 && (!sock || sock[0] != '/' || pg_conf_line(&line, "unix_socket_directories", sock, err) != 0))
        rc = error_set(err, "\"socket_dir\" is required: an absolute directory (unix_socket_directories)");
    buffer_free(&line);
    return rc == 0 ? task_check_hba(params, err) : rc;
}

int
task_check_hba(json_object *params, Error *err)
{
    json_object *hba;
    if (!json_object_object_get_ex(params, "hba", &hba))
        return 0;
    /* The rules of a placement file's lines (restore/placement.c). */
    if (!json_object_is_type(hba, json_type_array) || json_object_array_length(hba) > PLACEMENT_MAX_HBA)
        return error_set(err, "\"hba\" must be an array of at most %d pg_hba.conf lines", PLACEMENT_MAX_HBA);
    for (size_t i = 0; i < json_object_array_length(hba); i++)
    {
        json_object *l = json_object_array_get_idx(hba, i);
        if (!json_object_is_type(l, json_type_string) || !placement_hba_line_ok(json_object_get_string(l)))
            return error_set(err, "\"hba\" line %zu is not one pg_hba.conf line (local, host, hostssl, ...)", i + 1);
    }
    return 0;
}

const char **
task_hba_lines(json_object *params, size_t *n)
{
    json_object *hba = NULL;
    *n = json_object_object_get_ex(params, "hba", &hba) ? json_object_array_length(hba) : 0;
    const char **lines = xcalloc(*n + 1, sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        lines[i] = json_object_get_string(json_object_array_get_idx(hba, i));
    return lines;
}

int
task_run_init(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    json_object *v;
    const char *pgdata = json_member_string(t->params, "pgdata");
    int port = json_object_get_int(json_object_object_get_ex(t->params, "port", &v) ? v : NULL);
    size_t nhba;
    const char **lines = task_hba_lines(t->params, &nhba);
    char *bin = pg_bin_dir(cfg->pg_bin, 150000);
    int rc = compute_instance_init(bin, pgdata, port, json_member_string(t->params, "listen"),
                                   json_member_string(t->params, "socket_dir"), lines, nhba, err);
    if (rc == 0)
    {
        *result = json_object_new_object();
        json_object_object_add(*result, "pgdata", json_object_new_string(pgdata));
        json_object_object_add(*result, "port", json_object_new_int(port));
    }
    else
        error_prefix(err, "a fresh instance in %s: ", pgdata);
    free(bin);
    free(lines);
    return rc;
}

int
task_check_discard(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err)
{
    const char *pgdata = json_member_string(params, "pgdata");
    if (check_new_dir(cfg, "pgdata", pgdata, status, err) != 0)
        return -1;
    *status = 400;
    bool empty;
    if (dir_is_empty(pgdata, &empty, err) != 0)
        return -1;
    char *version = xprintf("%s/PG_VERSION", pgdata);
    struct stat st;
    bool data_dir = stat(version, &st) == 0;
    free(version);
    if (!empty && !data_dir)
        return error_set(err, "%s is not a PostgreSQL data directory (no PG_VERSION) and not empty: not discarding "
                              "it", pgdata);
    return 0;
}

int
task_run_discard(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err)
{
    (void) cfg;
    const char *pgdata = json_member_string(t->params, "pgdata");
    instance_stop(pgdata);
    int rc = remove_tree_contents(pgdata, err);
    if (rc == 0)
    {
        rmdir(pgdata);
        log_info("discarded %s (a failed restore's instance)", pgdata);
        *result = json_object_new_object();
        json_object_object_add(*result, "pgdata", json_object_new_string(pgdata));
    }
    return rc;
}
