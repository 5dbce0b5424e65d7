/* What the cluster restore (cluster_restore.c) shares with the restore of
 * one shard alone (shard_restore.c); not for other components. */
#ifndef STRATA_CLUSTER_RESTORE_INTERNAL_H
#define STRATA_CLUSTER_RESTORE_INTERNAL_H

#include <json-c/json.h>

#include "consistency/cp.h"
#include "consistency/resolve.h"
#include "pool/pool.h"
#include "restore/cluster_restore.h"

/* The CP and the cluster backup a restore starts from. */
typedef struct Plan
{
    ConsistencyPoint *cps;
    size_t ncps;
    const ConsistencyPoint *cp;
    json_object **backups;
    size_t nbackups;
    json_object *backup;     /* the chosen cluster backup's manifest */
} Plan;

/* The restore of one replica set's new primary, in a thread of its own. */
typedef struct PrimaryJob
{
    RestoreOptions opt;
    char *node;
    char *backup;
    char *archive_node;
    char *sets[3];
    const char *set;
    const TopoNode *target;             /* the new primary */
    const RestoreExecutor *executor;
    int rc;
    Error err;
    double secs;
    StartResult sr;
} PrimaryJob;

const char *jstring(json_object *o, const char *key);
/* cluster_choose.c: the CP and the cluster backup the restore starts
 * from (step 1), with the pool's CPs and cluster backups; freed with
 * cluster_plan_free. */
int cluster_plan_choose(Pool *pool, RestoreOptions *o, Plan *p, Error *err);
void cluster_plan_free(Plan *p);
/* The node backup of replica set `set` in a cluster backup's manifest. */
const char *node_backup_of(json_object *backup, const char *set);
/* A primary job: `node` of set `set` from `backup`, to CP `cp_name` (NULL:
 * all the archived WAL), archiving into pool node "<to>/<set>". */
void primary_job_setup(PrimaryJob *j, const RestoreOptions *o, const char *set, const TopoNode *node,
                       const char *backup, const char *cp_name, const char *to, const char *sockdir);
void primary_job_free(PrimaryJob *j);
/* Runs the jobs in parallel; the first failure in *err. */
int run_primary_jobs(PrimaryJob *jobs, size_t n, Error *err);
/* The report of a restore as JSON (t NULL: no new cluster). */
json_object *report_json(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs,
                         double secs);

struct ExactPlan;
/* A whole-cluster restore's report: report_json and "cut" (exact_plan_json);
 * printed as text or as the --output json result (cluster_report.c). */
json_object *cluster_report_json(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs,
                                 double secs, const struct ExactPlan *ep);
void cluster_report_print(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs,
                          double secs, const struct ExactPlan *ep);

/* One shard alone, into one new instance at --base-port (shard_restore.c). */
int shard_restore(RestoreOptions *o, Pool *pool, Plan *p, json_object **result, Error *err);

#endif
