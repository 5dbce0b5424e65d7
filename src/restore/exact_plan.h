/* Planning an exact cluster cut (docs/design.md, "Exact cluster targets"):
 * from the pool's WAL index, the metadata primary's cut LSN for --time T
 * or --gtxid G, and once the restored commit log gives the decided set,
 * each shard's cut LSN by the window rule (exact_window.h). When the index
 * does not cover what the cut needs, the plan says so (exact false, why)
 * and the restore uses its CP target. */
#ifndef STRATA_RESTORE_EXACT_PLAN_H
#define STRATA_RESTORE_EXACT_PLAN_H

#include <json-c/json.h>

#include "restore/cluster_restore_internal.h"
#include "restore/exact_window.h"
#include "wal/changes.h"

typedef struct ExactNode
{
    char *set;
    char *node;             /* the pool node, CLUSTER/SET */
    Lsn start;              /* its backup's start: the records are read from here */
    Lsn floor, ceiling;     /* the backup's end CP, the restore point of the first CP after the target */
    WalChanges ch;
    bool have_ch;
    ExactCut cut;           /* shards */
    Lsn lsn;                /* the cut: recovery_target_lsn, inclusive off */
    const char *how;        /* how it was placed */
} ExactNode;

typedef enum ExactCutMode
{
    EXACT_CUT_AUTO = 0,     /* exact where the index covers, else the CP */
    EXACT_CUT_EXACT,        /* exact or an error */
    EXACT_CUT_CP,           /* the CP target */
} ExactCutMode;

/* "auto", "exact", "cp" (NULL: auto); -1 naming the value otherwise. */
int exact_cut_mode_parse(const char *text, ExactCutMode *out, Error *err);

/* --gtxid: when o->gtxid was decided (*epoch) and, when xid is not NULL,
 * by which transaction (*xid), read from the source's commit log at
 * o->meta_conn; an error if it has no decision. */
int exact_plan_gtxid_decision(const RestoreOptions *o, double *epoch, uint32_t *xid, Error *err);

typedef struct ExactPlan
{
    bool exact;
    char why[900];                     /* why this method */
    const ConsistencyPoint *after;     /* the first CP after the target */
    const ConsistencyPoint *end_cp;    /* the backup's end CP */
    json_object *backup;               /* the cluster backup (borrowed from the Plan) */
    int64_t target_us;                 /* T, or G's decision time */
    uint32_t decision_xid;             /* --gtxid: the transaction of G's decision */
    ExactNode meta;
    ExactNode *shards;
    size_t nshards;
    size_t ndecided;
    double plan_secs;                  /* reading the index and planning */
} ExactPlan;

/* The part before anything is restored: the method, the backup, the
 * metadata cut, every shard's records. -1 only when the pool or the source
 * metadata primary cannot be read, or mode exact cannot be honoured. */
int exact_plan_prepare(Pool *pool, const RestoreOptions *o, const Plan *p, ExactCutMode mode, ExactPlan *ep,
                       Error *err);
/* With the metadata primary restored to ep->meta.lsn: the decided set from
 * its commit log, and each shard's cut. An empty window is an error. */
int exact_plan_decide(ExactPlan *ep, const char *restored_meta_conninfo, Error *err);
/* The same from the source's commit log (the manager's plan preview):
 * the decisions committed before the metadata cut, by the commit records
 * of the metadata WAL index (rows whose xmin committed before it). */
int exact_plan_decide_from_source(ExactPlan *ep, const char *source_meta_conninfo, Error *err);
/* {"method": "exact"|"cp", "why", "cuts": [{set, lsn, how, window..., skew...}]} */
json_object *exact_plan_json(const ExactPlan *ep);
void exact_plan_free(ExactPlan *ep);
/* The "cut" of a plan preview, nothing restored: exact_plan_json of the
 * plan with the decided set from the source's commit log
 * (exact_plan_decide_from_source), or {"method": "cp" | "none", "why"}. */
json_object *exact_plan_preview(Pool *pool, const RestoreOptions *o, const Plan *p, ExactCutMode mode,
                                const char *source_meta_conninfo);

#endif
