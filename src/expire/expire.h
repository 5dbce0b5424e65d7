/* strata expire: retention. Removes whole backups beyond what is kept (a
 * cluster backup: its sealed cluster.manifest, then every node backup it
 * references), the WAL no kept backup needs, and the consistency points
 * that can no longer be restored to (docs/cli.md, "expire"). */
#ifndef STRATA_EXPIRE_H
#define STRATA_EXPIRE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "common/error.h"
#include "request/expire_request.h"

typedef struct ExpireOptions
{
    const char *pool;
    const char *cluster;     /* cluster mode: whole-cluster backups (or --shard's) */
    const char *shard;       /* with cluster: that shard's shard backups */
    const char *node;        /* single-node mode */
    int keep;                /* keep the newest N (0: not given) */
    int keep_days;           /* keep what the last D days need (0: not given) */
    bool dry_run;
    /* Seconds without a lease renewal after which a backup without a
     * manifest counts as interrupted and is removed (0: the default,
     * LEASE_INTERRUPTED_AFTER; pool/lease.h). */
    int interrupted_after;
    const char *meta_conn;   /* optional: mark expired backups in the catalog */
} ExpireOptions;

/* The engine's options of a validated request (they point into it) over
 * the pool at `pool`. */
void expire_options_from_request(ExpireOptions *o, const ExpireRequest *r, const char *pool);

/* Applies the retention; *report describes what was (or, dry run, would
 * be) removed and kept: the caller json_object_put()s it. Nothing is
 * removed when the options or the pool's contents are bad (*report NULL).
 * On a failure half way (a removal refused by the storage), -1 with
 * *report set to what was done before it. */
int expire_run(const ExpireOptions *o, json_object **report, Error *err);
/* The same over an open pool (o->pool is not used; the pool stays open). */
struct Pool;
int expire_run_pool(struct Pool *pool, const ExpireOptions *o, json_object **report, Error *err);

#endif
