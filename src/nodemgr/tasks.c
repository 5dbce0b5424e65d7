/* The node manager's tasks: each runs in its own thread, in-process;
 * the API reads their state under the table's lock. Finished tasks are
 * kept (the cluster manager polls for the result) up to
 * TASKS_KEEP_FINISHED, then forgotten oldest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_instance.h"
#include "nodemgr/task_kinds.h"
#include "nodemgr/task_params.h"

typedef struct TaskStart
{
    Task *task;
    TaskMain main;
    const NodeManagerConfig *cfg;
    pthread_mutex_t *lock;
} TaskStart;

static const char *
task_state_name(TaskState s)
{
    switch (s)
    {
        case TASK_RUNNING: return "running";
        case TASK_SUCCEEDED: return "succeeded";
        case TASK_FAILED: return "failed";
    }
    return "?";
}

void
task_progress(void *arg, uint64_t done, uint64_t total)
{
    Task *t = arg;
    atomic_store(&t->bytes_done, done);
    atomic_store(&t->bytes_total, total);
}

/* ---- the table ---- */

static void *
task_thread(void *arg)
{
    TaskStart *s = arg;
    Task *t = s->task;
    json_object *result = NULL;
    Error err;
    /* The task's lines (and its workers') tell it apart from the others. */
    char tag[LOG_TAG_MAX];
    snprintf(tag, sizeof(tag), "task %lld", (long long) t->id);
    log_set_tag(tag);
    int rc = s->main(t, s->cfg, &result, &err);
    pthread_mutex_lock(s->lock);
    t->state = rc == 0 ? TASK_SUCCEEDED : TASK_FAILED;
    t->reason = rc == 0 ? NULL : xstrdup(err.msg);
    t->result = result;
    t->finished = now_seconds();
    pthread_mutex_unlock(s->lock);
    if (rc == 0)
        log_info("task %lld (%s) succeeded", (long long) t->id, t->kind);
    else
        log_error("task %lld (%s) failed: %s", (long long) t->id, t->kind, err.msg);
    free(s);
    return NULL;
}

static void
task_free(Task *t)
{
    free(t->kind);
    free(t->reason);
    json_object_put(t->params);
    json_object_put(t->result);
    free(t);
}

void
tasks_init(Tasks *t, const NodeManagerConfig *cfg)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->next_id = 1;
    pthread_mutex_init(&t->lock, NULL);
}

void
tasks_shutdown(Tasks *t)
{
    /* The API is stopped: no task is added any more. A backup cannot be
     * abandoned half way in-process, so running tasks end first. */
    for (size_t i = 0; i < t->n; i++)
    {
        pthread_join(t->items[i]->thread, NULL);
        task_free(t->items[i]);
    }
    free(t->items);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

/* Forgets the oldest finished tasks beyond TASKS_KEEP_FINISHED. Lock held. */
static void
tasks_trim(Tasks *t)
{
    size_t finished = 0;
    for (size_t i = 0; i < t->n; i++)
        finished += t->items[i]->state != TASK_RUNNING;
    for (size_t i = 0; i < t->n && finished > TASKS_KEEP_FINISHED;)
    {
        Task *x = t->items[i];
        if (x->state == TASK_RUNNING)
        {
            i++;
            continue;
        }
        pthread_join(x->thread, NULL);   /* finished: returns at once */
        task_free(x);
        memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(Task *));
        t->n--;
        finished--;
    }
}

#define TASK_KINDS "backup, start, stop, archive-status, rebuild-standby, restore, standby, init or discard"

/* Every kind: the check of its parameters and what runs it. */
static const struct
{
    const char *kind;
    TaskCheck check;
    TaskMain main;
} task_kinds[] = {
    {"backup", task_check_backup, task_run_backup},
    {"start", task_check_pg_ctl, task_run_pg_ctl},
    {"stop", task_check_pg_ctl, task_run_pg_ctl},
    {"archive-status", task_check_archive_status, task_run_archive_status},
    {"rebuild-standby", task_check_rebuild_standby, task_run_rebuild_standby},
    {"restore", task_check_restore, task_run_restore},
    {"standby", task_check_standby, task_run_standby},
    {"init", task_check_init, task_run_init},
    {"discard", task_check_discard, task_run_discard},
};

/* The checks of a request's parameters for its kind (400 unless *status
 * says otherwise); *main: what runs it. */
static int
task_check(const NodeManagerConfig *cfg, const char *kind, json_object *params, TaskMain *main, int *status,
           Error *err)
{
    *main = NULL;
    for (size_t i = 0; i < sizeof(task_kinds) / sizeof(task_kinds[0]); i++)
        if (!strcmp(kind, task_kinds[i].kind))
        {
            *main = task_kinds[i].main;
            return task_kinds[i].check(cfg, params, status, err);
        }
    return error_set(err, "unknown task kind '%s': " TASK_KINDS, kind);
}

/* A request's "kind" and parameters checked; *main: what runs it. */
static int
task_request_check(const NodeManagerConfig *cfg, json_object *request, TaskMain *main, int *status, Error *err)
{
    *status = 400;
    static const char *const strings[] = {"kind", "instance", "pgdata", "pg_conn", "primary_conn", "pool_node",
                                          "backup", "target_dir", "archive_node", "action", "primary_host", "cluster_backup", NULL};
    if (check_strings(request, strings, err) != 0)
        return -1;
    const char *kind = json_member_string(request, "kind");
    if (!kind)
        return error_set(err, "\"kind\" is required: " TASK_KINDS);
    return task_check(cfg, kind, request, main, status, err);
}

int
task_validate(const NodeManagerConfig *cfg, json_object *request, int *status, Error *err)
{
    TaskMain main;
    return task_request_check(cfg, request, &main, status, err);
}

int
task_submit(Tasks *t, json_object *request, int64_t *id, int *status, Error *err)
{
    json_object *params = json_object_get(request);
    TaskMain main;
    int rc = task_request_check(t->cfg, params, &main, status, err);
    const char *kind = json_member_string(params, "kind");
    if (rc != 0)
    {
        json_object_put(params);
        return -1;
    }
    Task *task = xcalloc(1, sizeof(Task));
    task->kind = xstrdup(kind);
    task->params = params;
    task->state = TASK_RUNNING;
    task->created = task->started = now_seconds();
    TaskStart *start = xcalloc(1, sizeof(TaskStart));
    start->task = task;
    start->main = main;
    start->cfg = t->cfg;
    start->lock = &t->lock;
    pthread_mutex_lock(&t->lock);
    task->id = t->next_id++;
    /* Created under the lock: the thread's first write to the task waits
     * until the task is in the table. */
    if (pthread_create(&task->thread, NULL, task_thread, start) != 0)
    {
        pthread_mutex_unlock(&t->lock);
        free(start);
        task_free(task);
        *status = 503;
        return error_set(err, "cannot start a thread for the task");
    }
    t->items = xrealloc(t->items, (t->n + 1) * sizeof(Task *));
    t->items[t->n++] = task;
    *id = task->id;
    tasks_trim(t);
    pthread_mutex_unlock(&t->lock);
    log_info("task %lld (%s) started%s%s", (long long) *id, kind,
             json_member_string(params, "pgdata") ? " on " : "", json_member_string(params, "pgdata") ? json_member_string(params, "pgdata") : "");
    return 0;
}

/* Lock held. */
static json_object *
task_json(const Task *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(t->id));
    json_object_object_add(o, "kind", json_object_new_string(t->kind));
    json_object_object_add(o, "state", json_object_new_string(task_state_name(t->state)));
    json_object_object_add(o, "reason", t->reason ? json_object_new_string(t->reason) : NULL);
    const char *keys[] = {"instance", "pgdata", "pool_node", "target_dir"};
    for (size_t i = 0; i < 4; i++)
    {
        const char *v = json_member_string(t->params, keys[i]);
        if (v)
            json_object_object_add(o, keys[i], json_object_new_string(v));
    }
    json_object_object_add(o, "created_epoch", json_object_new_double(t->created));
    double end = t->state == TASK_RUNNING ? now_seconds() : t->finished;
    json_object_object_add(o, "finished_epoch", t->state == TASK_RUNNING ? NULL : json_object_new_double(t->finished));
    uint64_t done = atomic_load(&t->bytes_done), total = atomic_load(&t->bytes_total);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "bytes_done", json_object_new_int64((int64_t) done));
    json_object_object_add(p, "bytes_total", json_object_new_int64((int64_t) total));
    json_object_object_add(p, "rate", json_object_new_int64(end > t->started ? (int64_t) ((double) done / (end - t->started)) : 0));
    json_object_object_add(o, "progress", p);
    json_object_object_add(o, "result", t->result ? json_object_get(t->result) : NULL);
    return o;
}

json_object *
task_get(Tasks *t, int64_t id)
{
    json_object *o = NULL;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n && !o; i++)
        if (t->items[i]->id == id)
            o = task_json(t->items[i]);
    pthread_mutex_unlock(&t->lock);
    return o;
}

int
task_cancel(Tasks *t, int64_t id, int *status, Error *err)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    Task *task = NULL;
    for (size_t i = 0; i < t->n && !task; i++)
        if (t->items[i]->id == id)
            task = t->items[i];
    if (!task)
    {
        *status = 404;
        rc = error_set(err, "no task %lld on this node manager", (long long) id);
    }
    else if (strcmp(task->kind, "backup") != 0)
    {
        *status = 409;
        rc = error_set(err, "task %lld is a %s task: only backup tasks can be cancelled", (long long) id, task->kind);
    }
    else if (task->state != TASK_RUNNING)
    {
        *status = 409;
        rc = error_set(err, "task %lld already ended (%s)", (long long) id, task_state_name(task->state));
    }
    else
    {
        atomic_store(&task->cancel, true);
        log_info("task %lld (backup): cancel requested", (long long) id);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

json_object *
tasks_list(Tasks *t)
{
    json_object *a = json_object_new_array();
    pthread_mutex_lock(&t->lock);
    for (size_t i = t->n; i > 0; i--)
        json_object_array_add(a, task_json(t->items[i - 1]));
    pthread_mutex_unlock(&t->lock);
    return a;
}

