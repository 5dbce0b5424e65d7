/* The kinds of node-manager task that tasks.c's table runs, each a pair:
 * the check of a request's parameters, before anything starts (*status:
 * the HTTP status a failure answers, 400 unless said otherwise), and what
 * runs it in the task's thread, with the parameters checked (*result: the
 * task's result on success). init and discard: task_instance.h. */
#ifndef STRATA_NODEMGR_TASK_KINDS_H
#define STRATA_NODEMGR_TASK_KINDS_H

#include <json-c/json.h>
#include <stdint.h>

#include "common/error.h"
#include "nodemgr/nodemgr.h"

typedef int (*TaskCheck)(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
typedef int (*TaskMain)(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

/* tasks.c: a progress callback (backup and restore options' on_progress)
 * that records bytes done and total in the Task given as arg. */
void task_progress(void *arg, uint64_t done, uint64_t total);

/* task_backup.c: "backup", a node backup into the pool. */
int task_check_backup(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_backup(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);
/* The task's members as a validated node backup request (*r freed by the
 * caller on success; nothing to free on failure). */
struct BackupRequest;
int task_backup_request(json_object *params, struct BackupRequest *r, Error *err);

/* task_control.c: "start" and "stop" (pg_ctl), "archive-status"
 * (pg_stat_archiver) of an instance. */
int task_check_pg_ctl(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_pg_ctl(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);
int task_check_archive_status(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_archive_status(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

/* task_standby.c: "rebuild-standby" (a standby rebuilt from the pool) and
 * "standby" (a new standby of a running primary, pg_basebackup). */
int task_check_rebuild_standby(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_rebuild_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);
int task_check_standby(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_standby(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

/* task_restore.c: "restore", a node restored from the pool. */
int task_check_restore(const NodeManagerConfig *cfg, json_object *params, int *status, Error *err);
int task_run_restore(Task *t, const NodeManagerConfig *cfg, json_object **result, Error *err);

#endif
