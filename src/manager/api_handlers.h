/* The handlers of the cluster manager's API, by the files that hold them;
 * api.c routes a request to one of them (docs/manager.md). Each sets the
 * response: a status with a JSON body, {"error": "..."} naming the thing
 * and the cause on failure. The cluster of a path is known to be
 * registered when a handler is called. */
#ifndef STRATA_MANAGER_API_HANDLERS_H
#define STRATA_MANAGER_API_HANDLERS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster/topology.h"
#include "consistency/cp.h"
#include "manager/manager.h"

/* api.c: an optional string member of a body; 400 if present and not a
 * string. */
int api_body_string(json_object *o, const char *key, const char **val, ApiResponse *out);

/* api_clusters.c: GET /api/v1/clusters, GET /api/v1/clusters/{c} (the
 * topology with each node's live state). */
void api_get_clusters(Manager *m, ApiResponse *out);
void api_get_cluster(Manager *m, const char *name, ApiResponse *out);
/* The cluster's topology from the catalog; -1 with a 500 (503 without a
 * metadata connection) in *out. */
int api_load_topology(Manager *m, const char *name, Topology *t, ApiResponse *out);

/* api_pool.c: what the pool holds of a cluster. */
/* Backups and CPs of a cluster from the pool; the caller frees both. */
typedef struct PoolView
{
    json_object **backups;
    size_t nbackups;
    ConsistencyPoint *cps;
    size_t ncps;
} PoolView;

/* -1 with a 500 in *out if the pool cannot be read. */
int pool_view(Manager *m, const char *cluster, PoolView *v, ApiResponse *out);
void pool_view_free(PoolView *v);
/* The latest complete cluster backup ending at or before cp; NULL if
 * none (or cp is NULL). */
json_object *pool_view_backup_for(const PoolView *v, const ConsistencyPoint *cp);
/* "from T (backup B) to T2" for error messages about the window; the
 * caller frees it. */
char *pool_view_window_text(const PoolView *v);
/* GET .../backups, GET .../cps, GET .../window, POST .../cps. */
void api_get_backups(Manager *m, const char *name, ApiResponse *out);
void api_get_cps(Manager *m, const char *name, ApiResponse *out);
void api_get_window(Manager *m, const char *name, ApiResponse *out);
void api_post_cp(Manager *m, const char *name, json_object *body, ApiResponse *out);

/* api_jobs.c: what queues a job (POST .../backups, .../restores,
 * .../check: 202 with the job) and the jobs' endpoints. */
void api_post_backup(Manager *m, const char *name, json_object *body, ApiResponse *out);
void api_post_restore(Manager *m, const char *name, json_object *body, ApiResponse *out);
void api_post_check(Manager *m, const char *name, ApiResponse *out);
void api_get_jobs(Manager *m, ApiResponse *out);
void api_get_job(Manager *m, const char *id_text, ApiResponse *out);
void api_post_job_cancel(Manager *m, const char *id_text, ApiResponse *out);
/* The {id} of /api/v1/jobs/{id}...: false with a 400 in *out if malformed. */
bool api_job_id_arg(const char *id_text, long *id, ApiResponse *out);

/* restore_plan.c: POST .../restore-plan. */
void api_post_restore_plan(Manager *m, const char *name, json_object *body, ApiResponse *out);

#endif
