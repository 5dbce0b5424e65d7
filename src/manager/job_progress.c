/* Where jobs record their progress (strata.jobs.progress), apart from the
 * job worker (jobs.c) because the engines' progress hooks call it from the
 * job's threads (job_restore.c, jobs.c's backup hook). */
#include <pthread.h>
#include <stdlib.h>

#include "catalog/catalog.h"
#include "catalog/jobs.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/manager.h"

/* job_progress_update's own connection (callers may be on any thread, and
 * the worker's connection is busy with the job), opened on first use. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static PGconn *progress_conn;
static char *progress_conninfo;

void
job_progress_update(const char *job_id, json_object *progress)
{
    pthread_mutex_lock(&progress_lock);
    if (progress_conninfo && (!progress_conn || PQstatus(progress_conn) != CONNECTION_OK))
    {
        Error err;
        PQfinish(progress_conn);
        progress_conn = catalog_connect(progress_conninfo, false, &err);
        if (!progress_conn)
            log_warn("job %s: progress not recorded: %s", job_id, err.msg);
    }
    if (progress_conn)
    {
        Error err;
        if (catalog_job_progress(progress_conn, job_id, progress, &err) != 0)
            log_warn("job %s: %s", job_id, err.msg);
    }
    pthread_mutex_unlock(&progress_lock);
}

void
job_progress_start(const char *meta_conn)
{
    pthread_mutex_lock(&progress_lock);
    free(progress_conninfo);
    progress_conninfo = xstrdup(meta_conn);
    pthread_mutex_unlock(&progress_lock);
}

void
job_progress_stop(void)
{
    pthread_mutex_lock(&progress_lock);
    PQfinish(progress_conn);
    progress_conn = NULL;
    free(progress_conninfo);
    progress_conninfo = NULL;
    pthread_mutex_unlock(&progress_lock);
}
