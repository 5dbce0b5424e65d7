/* Starting a restored instance and waiting until recovery reached its target. */
#ifndef STRATA_START_H
#define STRATA_START_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/bin_dir.h"
#include "restore/target.h"

typedef struct StartRequest
{
    const char *data_dir;
    const char *pg_bin;          /* NULL: pg_config --bindir, else /usr/lib/postgresql/<major>/bin */
    int pg_version_num;
    const char *action;          /* promote, pause, shutdown */
    int timeout;                 /* seconds */
    TargetKind target_kind;
} StartRequest;

typedef struct StartResult
{
    bool started;
    long pid;
    int port;
    char state[32];              /* "promoted", "paused", "shut down" */
    char reached_lsn[32];
    char reached_time[64];
    uint32_t timeline;
} StartResult;


/* Starts the instance in req->data_dir and waits for its target. On failure
 * it may still run (a timeout): the caller stops it with instance_stop. */
int instance_start_and_wait(const StartRequest *req, StartResult *res, Error *err);
/* Stops (immediately, then by SIGKILL) a PostgreSQL a restore started in
 * data_dir, by the pid in its postmaster.pid; nothing if none runs. Only
 * for instances the caller started: their data is about to be removed. */
void instance_stop(const char *data_dir);

#endif
