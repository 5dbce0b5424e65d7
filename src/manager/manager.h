/* strata cluster-manager (docs/manager.md): a daemon with an HTTP/JSON API
 * over the catalog, the pool and a job queue persisted in the metadata
 * database (strata.jobs). */
#ifndef STRATA_MANAGER_H
#define STRATA_MANAGER_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "consistency/cp_cache.h"
#include "daemon/daemon.h"
#include "manager/meta_conns.h"
#include "pool/pool.h"
#include "restore/placement.h"

#define MANAGER_BODY_MAX DAEMON_BODY_MAX
/* Connections are served by this many threads: a slow request (a pool
 * listing, a CP) does not hold the others. */
#define MANAGER_HTTP_THREADS 8

typedef struct ManagerConfig
{
    char *listen_host;   /* numeric IPv4 address */
    int listen_port;
    char *token;         /* never logged, never from the command line */
    size_t token_len;
    char *meta_conn;
    char *pool;
    char *tls_cert;      /* PEM contents (not paths) or NULL */
    char *tls_key;
    /* Restores (job_restore.c): new clusters' data directories go under
     * restore_root/<name>; their ports come from restore_port_from..to.
     * NULL / 0 when not configured (a request must then name dir/base_port). */
    char *restore_root;
    int restore_port_from, restore_port_to;
    /* The CP schedule (scheduler.c): seconds between CPs of a cluster;
     * cp_every_default for clusters not listed; 0 for none. */
    int cp_every_default;
    char **cp_every_cluster;
    int *cp_every_value;
    size_t ncp_every;
    /* Node managers (docs/manager.md "Node managers"): the URL of the one on
     * each host (as the topology names hosts), and the token presented to
     * them. None configured: node backups run in-process. */
    char **node_manager_hosts;
    char **node_manager_urls;
    size_t n_node_managers;
    char *node_token;
    size_t node_token_len;
    /* The hosts among them that restores may place new clusters on (a
     * node manager given "data_root" and "ports"); hba empty. */
    Placement resources;
    /* "node_ca_file": the CA that signs the node managers' certificates
     * (https:// node managers are verified against it; absent: the
     * system's CAs). The manager presents its tls_cert to them. */
    char *node_ca_file;
} ManagerConfig;

/* The job runner: one worker thread that takes queued jobs from
 * strata.jobs in order and runs them in-process. */
typedef struct JobRunner
{
    const ManagerConfig *cfg;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool wake;
    /* The job the worker runs (0: none), whether it can be cancelled (a
     * backup), and its cancel flag: set by the API, read by the backup. */
    _Atomic int64_t running_id;
    atomic_bool running_cancellable;
    atomic_bool cancel;
} JobRunner;

/* The scheduler (scheduler.c): one thread that queues the jobs of due
 * policies and takes the scheduled CPs. */
typedef struct Scheduler
{
    const ManagerConfig *cfg;
    JobRunner *jobs;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    long cp_taken, cp_failed;   /* by the CP schedule, under mu */
} Scheduler;

typedef struct Manager
{
    ManagerConfig cfg;
    /* The request handlers' metadata connections, one per request in
     * flight (api.c; the server runs requests on a pool of threads). */
    MetaConns conns;
    /* Requests that change state (not GET) are admitted one at a time:
     * their check-then-create steps stay atomic (api.c). */
    pthread_mutex_t admit_lock;
    PGconn *meta;        /* startup's connection: schema, recovery */
    Pool *pool;
    /* The clusters' CPs between requests: a window, CP or backups request
     * lists the CP objects and reads only the new ones (api_pool.c, metrics.c). */
    CpCache cps;
    JobRunner jobs;
    Scheduler scheduler;
} Manager;

/* auth.c: the configuration file and the token. */
int manager_config_load(const char *path, ManagerConfig *out, Error *err);
void manager_config_free(ManagerConfig *c);
/* "Bearer <token>" against the configured token, in constant time. */
bool manager_auth_ok(const ManagerConfig *c, const char *authorization);

/* jobs.c */
/* Records a running job's progress (any JSON object, e.g. per replica set
 * bytes done/total, node, state) in strata.jobs.progress, replacing the
 * previous one. Callable from any thread while the job runner runs; a
 * failure is logged, never fatal to the job. */
void job_progress_update(const char *job_id, json_object *progress);
/* job_progress.c: where it connects (jobs_start), and the end (jobs_stop). */
void job_progress_start(const char *meta_conn);
void job_progress_stop(void);
int jobs_start(JobRunner *r, const ManagerConfig *cfg, Error *err);
void jobs_wake(JobRunner *r);
/* POST /api/v1/jobs/{id}/cancel: a queued job is cancelled at once (200),
 * the running backup is asked to stop (202); otherwise 404/409. */
int job_cancel(JobRunner *r, PGconn *meta, int64_t id, int *status, json_object **answer, Error *err);
/* Stops the worker: a job in progress runs to its end first (it cannot be
 * interrupted half way without leaving the pool to clean up). */
void jobs_stop(JobRunner *r);

/* job_restore.c: restore jobs (a source cluster into a new cluster). */
/* Reads "restore_root" and "restore_ports" ("FROM-TO") of the configuration. */
int restore_config_load(json_object *conf, const char *path, ManagerConfig *c, Error *err);
/* Runs one restore job; on success *result is the restore's report and the
 * new cluster is registered in the manager's catalog on `meta`. */
int run_restore(const ManagerConfig *cfg, PGconn *meta, const char *job_id, const char *cluster,
                json_object *params, json_object **result, Error *err);

/* ui.c: the web UI's static files, embedded at build time (ui/). */
/* true if `url` is one of the UI's files (/, /ui/...); *out then holds it. */
bool ui_lookup(const char *url, const char **data, size_t *len, const char **content_type);

/* scheduler.c */
/* Reads "cp_every_seconds": N (every cluster) or {"cluster": N, "*": N}. */
int scheduler_config_load(json_object *conf, const char *path, ManagerConfig *c, Error *err);
void scheduler_config_free(ManagerConfig *c);
int scheduler_start(Scheduler *s, const ManagerConfig *cfg, JobRunner *jobs, Error *err);
/* Stops the thread (a CP in progress ends first, bounded by its timeout). */
void scheduler_stop(Scheduler *s);

/* policy.c: backup policies (catalog/policies.h) and their retention. */
/* "HH:MM-HH:MM" (UTC) into minutes of the day. */
int policy_window_parse(const char *text, int *start_min, int *end_min, Error *err);
/* Is a policy due at `now`: a period since its last run, or inside its
 * daily window and not yet run in this occurrence of it. */
bool policy_due(int64_t period, const char *window, bool ran, double last_run, time_t now);
/* The "expire" job: the policy's retention (params "request": an expire
 * request of request/expire_request.h, the cluster the job's) applied with
 * expire_run(); *result is its report. */
int run_expire(const ManagerConfig *cfg, const char *cluster, json_object *params, json_object **result, Error *err);

/* api.c: one request, already authenticated, routed to its handler
 * (api_handlers.h). Returns the HTTP status and the response (JSON, or
 * text for /metrics) in *body, *content_type. */
typedef HttpResponse ApiResponse;
void api_handle(Manager *m, const char *method, const char *url, const char *body, size_t body_len,
                ApiResponse *out);
/* A job's log (job_log.c): the table, the capture around a job's run,
 * GET /api/v1/jobs/{id}/log. */
void job_log_begin(long long id);
void job_log_end(PGconn *c, long long id);
void job_log_get(Manager *m, long long id, ApiResponse *out);
/* GET /api/v1/node-managers (node_health.c). */
void node_managers_health(Manager *m, ApiResponse *out);
/* The handlers' metadata connection (api_conn.c): the request's own,
 * reconnected after a lost one; NULL with a 503 in *out when the database
 * does not answer. */
PGconn *api_meta_conn(Manager *m, ApiResponse *out);
/* At the end of a request: its connection back to m->conns (api_conn.c). */
void api_meta_conn_release(Manager *m);
/* A 500 naming `what` and the connection's last error. */
void api_db_error(ApiResponse *out, PGconn *c, const char *what);
/* policy.c: the policy endpoints (the cluster is known to be registered). */
void policy_api_list(Manager *m, const char *cluster, ApiResponse *out);
void policy_api_create(Manager *m, const char *cluster, json_object *body, ApiResponse *out);
void policy_api_delete(Manager *m, const char *id, ApiResponse *out);
void policy_api_patch(Manager *m, const char *id, json_object *body, ApiResponse *out);

/* metrics.c: the Prometheus text exposition. */
char *metrics_render(Manager *m);

/* http.c: serves until SIGTERM or SIGINT. */
int manager_serve(Manager *m, Error *err);

#endif
