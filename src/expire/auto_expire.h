/* Retention right after a backup (pgBackRest's expire-auto): whether a
 * successful backup applies a retention, which one, and the report of
 * doing it. The decision is pure (auto_expire_decide); applying it never
 * turns the backup into a failure: a failed expire is reported in the
 * backup's output (docs/cli.md, "Retention after a backup"). */
#ifndef STRATA_AUTO_EXPIRE_H
#define STRATA_AUTO_EXPIRE_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "common/error.h"
#include "expire/expire.h"
#include "request/backup_request.h"   /* ExpireAuto: the request's --expire-auto */

/* A backup policy of the backup's scope (strata.policies) with a retention. */
typedef struct RetentionPolicy
{
    int64_t id;
    int keep_last, keep_days;   /* one of them above 0 */
} RetentionPolicy;

typedef struct AutoExpireChoice
{
    bool apply;
    bool warn;            /* not applied although expire-auto asked for it */
    int keep, keep_days;  /* what to keep, when apply */
    char source[128];     /* where the retention comes from, when apply */
    char reason[320];     /* why not, when !apply */
} AutoExpireChoice;

/* The decision. In order: expire-auto n applies nothing; a backup queued
 * by a policy leaves it to that policy's expire job (the manager's
 * scheduler queues it); the request's own keep / keep-days (command line,
 * environment or strata.conf) win; else the one retention that the
 * policies of the backup's scope set (several that disagree: none, said);
 * else nothing, a warning when expire-auto y asked for it. */
void auto_expire_decide(ExpireAuto setting, int keep, int keep_days, const RetentionPolicy *policies, size_t npolicies,
                        bool queued_by_policy, AutoExpireChoice *out);

/* The policies of cluster `cluster` (shard NULL: its whole-cluster
 * policies; else that shard's) that set a retention, by id, from the
 * catalog at `meta` (strata.policies: none when the table does not exist,
 * as before a cluster manager ever ran). Caller frees *out. */
int retention_policies_load(PGconn *meta, const char *cluster, const char *shard, RetentionPolicy **out, size_t *n,
                            Error *err);

/* Applies the choice over `base` (pool, cluster/shard or node, meta_conn;
 * keep and keep_days are taken from the choice) and returns the report
 * for the backup's output: {"applied": false, "reason"} or {"applied":
 * true, "source", "keep"|"keep_days", "removed_backups", "removed_cps",
 * "removed_wal": N, "error"? (the expire failed: the backup stands)}.
 * Logs what it did (a warning for a failure). */
json_object *auto_expire_apply(const AutoExpireChoice *c, const ExpireOptions *base);

/* After a successful backup of req's scope (cluster, shard or node) into
 * `pool`: the policies read over `catalog` (NULL: a connection to
 * meta_conn of its own) when they can decide, the decision, applied. The
 * report as auto_expire_apply's, or {"applied": false, "error"} when the
 * policies could not be read. */
json_object *auto_expire_after(const BackupRequest *req, const char *pool, const char *meta_conn, PGconn *catalog,
                               bool queued_by_policy);
/* The CLI's hook (backup/backup.h: cmd_backup_local_then). */
json_object *auto_expire_after_backup(const BackupRequest *req, const BackupOptions *o);

#endif
