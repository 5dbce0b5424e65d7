/* Starting a restored instance and waiting until recovery reached its target. */
#ifndef STRATA_START_H
#define STRATA_START_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
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

/* PostgreSQL's binaries: override, else /usr/lib/postgresql/<major>/bin,
 * else pg_config --bindir. Caller frees. */
char *pg_bin_dir(const char *override, int pg_version_num);

int instance_start_and_wait(const StartRequest *req, StartResult *res, Error *err);

#endif
