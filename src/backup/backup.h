/* strata backup: online full backup of one PostgreSQL instance, as a
 * command and as a library call for cluster backups. */
#ifndef STRATA_BACKUP_H
#define STRATA_BACKUP_H

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cli/cli.h"
#include "pipeline/stage.h"
#include "pool/manifest.h"
#include "request/backup_request.h"

typedef struct BackupOptions
{
    CommonOptions co;
    const char *pg_conn;
    const char *pgdata;
    const char *primary_conn;
    int jobs;
    Compression compression;
    int level;
    Cipher cipher;            /* when cipher_set; else the pool's default (pool/keys.h) */
    bool cipher_set;
    uint64_t max_rate;
    uint64_t chunk_size;      /* files larger are split into ranges of this size (pool/manifest_ranges.c) */
    int nice;                 /* added to the worker threads' nice value (0..19) */
    int archive_timeout;
    const char *label;
    BackupType type;          /* incr/diff: backup/incremental.h */
    const char *parent;       /* incr/diff: the backup to build on (NULL: the newest complete / full one) */
    const char *cluster_backup;   /* set by a cluster backup: its id, recorded in the node manifest */
    /* Set (by another thread) to stop the backup: it fails with "cancelled"
     * at its next read, and removes what it wrote. NULL: not cancellable. */
    const atomic_bool *cancel;
    /* Cluster mode (DESIGN §3): every replica set of a registered cluster. */
    const char *cluster;
    const char *meta_conn;
    const char *shard;        /* one shard only: a partial backup */
    int cp_timeout_ms;
    /* Optional progress hook of backup_node: called by the copy workers
     * (from several threads, so it must be thread-safe and cheap) after
     * each chunk read, with the bytes read so far and the total scanned. */
    void (*on_progress)(void *arg, uint64_t bytes_done, uint64_t bytes_total);
    void *progress_arg;
    /* Cluster mode: who runs each replica set's node backup (NULL:
     * backup_node() in-process), and an optional hook called about once a
     * second with the cluster backup's progress as JSON (cluster_backup.h). */
    const struct NodeExecutor *executor;
    void (*on_cluster_progress)(void *arg, json_object *progress);
    void *cluster_progress_arg;
} BackupOptions;

/* Backs up one instance into the pool. On success *out is the manifest
 * written (the caller frees it with manifest_free). */
/* Has o->cancel been set? */
static inline bool backup_cancelled(const BackupOptions *o) { return o->cancel && atomic_load(o->cancel); }
#define BACKUP_CANCELLED_MSG "cancelled by request"
int backup_node(const BackupOptions *o, Manifest *out, Error *err);
/* Options with the command's defaults, for callers that are not the CLI. */
void backup_options_defaults(BackupOptions *o);
/* backup_options.c: a validated request into *o (which points into *r:
 * r outlives o), and back: one node's options as the request that carries
 * them to a node manager's task (nodemgr/remote.c, task_backup.c), checked
 * by the request's rules. */
void backup_options_from_request(BackupOptions *o, const BackupRequest *r);
int backup_request_of_node_options(const BackupOptions *o, BackupRequest *r, Error *err);
/* The members of a node backup's result that every front end reports (the
 * CLI's --output json, the node manager's task result): LSNs, timeline,
 * sizes, duration, files, page errors. */
void backup_result_members(json_object *d, const Manifest *m);
/* `strata backup` with its own options only: the seed flags and --manager
 * are sorted out above it (cmd_backup, client/dispatch.c). */
int cmd_backup_local(int argc, char **argv);
/* The same, then `after` once the backup succeeded and before its result
 * is printed: the retention after a backup (expire/auto_expire.h, which
 * this folder cannot include: expire reads backups). What it returns
 * (or NULL) is the result's "expire"; it must not fail the backup. */
struct BackupRequest;
typedef json_object *(*BackupAfterHook)(const struct BackupRequest *req, const BackupOptions *o);
int cmd_backup_local_then(int argc, char **argv, BackupAfterHook after);

#endif
