/* strata node-manager (docs/manager.md "Node managers"): a daemon per
 * database host that runs tasks for the cluster manager (node backups,
 * instance start/stop, WAL archive status) in worker threads, streaming
 * between the host's data directories and the pool. Also the cluster
 * manager's side: the HTTP client and the NodeExecutor that sends a
 * cluster backup's node backups to node managers. */
#ifndef STRATA_NODEMGR_H
#define STRATA_NODEMGR_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backup/cluster_backup.h"
#include "common/error.h"
#include "daemon/daemon.h"
#include "restore/cluster_restore.h"

/* ---- the daemon ---- */

typedef struct NodeInstance
{
    char *name;
    char *pgdata;
    char *pg_conn;
} NodeInstance;

typedef struct NodeManagerConfig
{
    char *listen_host;
    int listen_port;
    char *token;              /* the cluster manager presents it; never from the command line */
    size_t token_len;
    char *pool;
    char *tls_cert;           /* PEM contents (not paths) or NULL: HTTPS when set */
    char *tls_key;
    char *tls_client_ca;      /* PEM or NULL: the cluster manager must show a certificate it signed */
    char *pg_bin;             /* pg_ctl's directory, or NULL: found like restore does */
    /* A cap on every backup's read rate on this host (bytes/s), 0: none;
     * a task's own max_rate can only be lower. */
    uint64_t max_rate;
    /* The instances served. When any is listed, tasks may only name these
     * data directories (by "instance" or by "pgdata"); none: any. */
    NodeInstance *instances;
    size_t ninstances;
} NodeManagerConfig;

int nodemgr_config_load(const char *path, NodeManagerConfig *c, Error *err);
void nodemgr_config_free(NodeManagerConfig *c);

typedef enum TaskState
{
    TASK_RUNNING,
    TASK_SUCCEEDED,
    TASK_FAILED
} TaskState;

typedef struct Task
{
    int64_t id;
    char *kind;
    json_object *params;      /* the request, as given */
    double created, finished; /* epoch seconds */
    /* Written by the task's thread, read by the API under Tasks.lock. */
    TaskState state;
    char *reason;
    json_object *result;
    _Atomic uint64_t bytes_done;
    _Atomic uint64_t bytes_total;
    atomic_bool cancel;       /* set by task_cancel; a backup task stops at its next read */
    double started;
    pthread_t thread;
} Task;

/* The task table: tasks in creation order; finished ones beyond
 * TASKS_KEEP_FINISHED are forgotten (oldest first), so memory stays bounded. */
#define TASKS_KEEP_FINISHED 100

typedef struct Tasks
{
    const NodeManagerConfig *cfg;
    pthread_mutex_t lock;
    Task **items;
    size_t n;
    int64_t next_id;
} Tasks;

void tasks_init(Tasks *t, const NodeManagerConfig *cfg);
/* Waits for every running task, then frees the table. */
void tasks_shutdown(Tasks *t);
/* Validates a request and starts it: 0 and *id, or -1 with *status (4xx/5xx) and err. */
int task_submit(Tasks *t, json_object *request, int64_t *id, int *status, Error *err);
/* task_submit's validation alone (nothing started): for the fuzz target. */
int task_validate(const NodeManagerConfig *cfg, json_object *request, int *status, Error *err);
/* The task as JSON, or NULL if unknown (forgotten or never created). */
json_object *task_get(Tasks *t, int64_t id);
/* Asks a running backup task to stop (it fails, removing what it wrote):
 * 0, or -1 with *status 404 (unknown) or 409 (not a running backup). */
int task_cancel(Tasks *t, int64_t id, int *status, Error *err);
/* Every task known, newest first. */
json_object *tasks_list(Tasks *t);

/* api.c */
typedef struct NodeManager
{
    NodeManagerConfig cfg;
    Tasks tasks;
} NodeManager;
void nodemgr_api_handle(void *ctx, const char *method, const char *url, const char *body, size_t body_len,
                        HttpResponse *out);

/* ---- the cluster manager's side ---- */

/* One call to a node manager: 0 with the HTTP status and the JSON answer
 * (NULL if the body is not JSON); -1 when there was no answer (refused,
 * timed out, reset), err naming the node manager and the cause. */
int nodemgr_call(const char *base_url, const char *token, const char *method, const char *path,
                 json_object *request, long *status, json_object **answer, Error *err);
/* TLS of every call, set once before the first: the CA file that signs the
 * node managers' certificates (NULL: the system's CAs) and the client
 * certificate presented to them (PEM contents, or NULL). TLS 1.2 at least. */
void nodemgr_client_tls(const char *ca_file, const char *cert_pem, const char *key_pem);

/* The executor of cluster backups through node managers: node backups of
 * a standby on host H go to the node manager configured for H (hosts[i] ->
 * urls[i]); a host without one is backed up in-process. */
typedef struct NodeManagerDirectory
{
    char *const *hosts;
    char *const *urls;
    size_t n;
    const char *token;
} NodeManagerDirectory;
/* The URL of the node manager serving `node`'s host, NULL if none does. */
const char *nodemgr_url_for(const NodeManagerDirectory *d, const TopoNode *node);
void nodemgr_executor_init(NodeExecutor *ex, const NodeManagerDirectory *dir);
/* The "backup" task of one node's backup options: the members of its
 * backup request (request/backup_request.h) with the node as pool_node,
 * and cluster_backup; task_backup_request() reads them back. NULL: err. */
json_object *nodemgr_backup_task_params(const BackupOptions *o, Error *err);
/* The executor of cluster restores through node managers: a new primary
 * or standby on host H is restored/built by H's node manager (tasks
 * "restore" and "standby"); a host without one, in-process. */
void nodemgr_restore_executor_init(RestoreExecutor *ex, const NodeManagerDirectory *dir);

#endif
