/* strata restore: a backup into a new data directory, to a target; as a
 * command and as a library call for cluster restores. */
#ifndef STRATA_RESTORE_H
#define STRATA_RESTORE_H

#include "cli/cli.h"
#include "pool/manifest.h"
#include "restore/start.h"
#include "restore/target.h"

struct RestoreExecutor;

typedef struct RestoreOptions
{
    CommonOptions co;
    const char *target_dir;
    const char *backup_id;
    Target target;
    int ntargets;
    bool exclusive;
    const char *action;
    int jobs;
    uint64_t max_rate;
    bool force;
    const char **sets;
    size_t nsets;
    int port;
    const char *archive_node;
    bool start;
    int start_timeout;
    const char *pg_bin;
    /* Cluster mode (DESIGN §3): a whole cluster, or one shard, into a new cluster. */
    const char *cluster;
    const char *to;            /* the new cluster's name */
    const char *dir;           /* where its data directories go */
    int base_port;             /* its ports: base_port, base_port + 1, ... */
    const char *cp;            /* --cp NAME */
    const char *gtxid;         /* --gtxid G */
    const char *meta_conn;     /* the source's metadata primary, read-only (for --gtxid, --shard) */
    const char *shard;         /* one shard alone */
    /* Who restores a cluster's primaries and builds its standbys (the
     * cluster manager: node managers; cluster_restore.h); NULL: this
     * process, as the CLI does. */
    const struct RestoreExecutor *executor;
    /* Bytes written into the data directory so far, of the backup's size;
     * called from the copying threads. */
    void (*on_progress)(void *arg, uint64_t bytes_done, uint64_t bytes_total);
    void *progress_arg;
} RestoreOptions;

void restore_options_defaults(RestoreOptions *o);
/* Restores (and with o->start, starts and waits). On success *m is the
 * backup restored (caller frees), *secs the copy time, *sr the start result. */
int restore_node(RestoreOptions *o, Manifest *m, double *secs, StartResult *sr, Error *err);

#endif
