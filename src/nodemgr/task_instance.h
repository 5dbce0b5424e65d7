/* Node-manager tasks for a cluster restore's new instances on this host,
 * apart from tasks.c's table: "init" (a fresh compute instance:
 * compute_instance_init) and "discard" (after a failed restore: stop the
 * instance if it runs, empty its data directory). */
#ifndef STRATA_NODEMGR_TASK_INSTANCE_H
#define STRATA_NODEMGR_TASK_INSTANCE_H

#include "nodemgr/nodemgr.h"

/* "hba": an array of pg_hba.conf lines (at most PLACEMENT_MAX_HBA, each
 * one line of a placement's rules), or absent. */
int task_check_hba(json_object *params, Error *err);
/* Its lines (borrowed from params; the array is the caller's to free). */
const char **task_hba_lines(json_object *params, size_t *n);

/* {"kind": "init", "pgdata", "port", "listen", "socket_dir", "hba": [lines]} */
int task_check_init(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_init(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);
/* {"kind": "discard", "pgdata"}: a data directory (PG_VERSION in it) or an
 * empty or absent one; anything else is refused. */
int task_check_discard(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_discard(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

#endif
