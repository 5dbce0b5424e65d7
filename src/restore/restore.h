/* strata restore: a backup into a new data directory, to a target; as a
 * command and as a library call for cluster restores. */
#ifndef STRATA_RESTORE_H
#define STRATA_RESTORE_H

#include "cli/cli.h"
#include "pool/manifest.h"
#include "restore/start.h"
#include "restore/target.h"

struct RestoreExecutor;
struct Placement;
struct PlacementUsed;

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
    /* pg_hba.conf lines put before the restored pg_hba.conf's own (a
     * cluster restore's primaries: the placement's hba, restore_hba). */
    const char *const *hba;
    size_t nhba;
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
    const char *cut;           /* --cut auto|exact|cp (NULL: auto) for --time/--gtxid */
    bool primaries_only;       /* --primaries-only: no standbys rebuilt */
    /* Where the new cluster goes on several hosts (restore/placement.h):
     * a placement file (--placement), and/or the hosts the caller (the
     * cluster manager) offers; --hosts picks some of them. None of these:
     * every node on this host, under dir from base_port. */
    const char *placement_file;
    const char *hosts;
    const struct Placement *placement;
    const struct PlacementUsed *used;   /* ports taken on those hosts */
    size_t nused;
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
/* The same from an open pool (which stays open); o->co.pool, when set, is
 * still the location the restored server's restore_command reads. */
int restore_node_pool(Pool *pool, RestoreOptions *o, Manifest *m, double *secs, StartResult *sr, Error *err);
/* `strata restore` with its own options only: the seed flags and --manager
 * are sorted out above it (cmd_restore, client/dispatch.c). */
int cmd_restore_local(int argc, char **argv);

#endif
