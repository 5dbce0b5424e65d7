/* Restoring a cluster (DESIGN §3):
 *
 *   1. choose the consistency point (--cp, --time: the latest at or before,
 *      --gtxid: the first after its decision, --latest) and the newest
 *      cluster backup that ends before it, from the pool alone
 *      (cluster_choose.c);
 *   2. check the new cluster's ports and directories are free;
 *   3. restore every replica set's primary to the CP's restore point, in
 *      parallel, promoted, archiving into the new cluster's pool nodes;
 *   4. rebuild each set's standbys from its new primary, and the compute
 *      nodes against the new shards;
 *   5. rewrite the topology in the restored metadata database;
 *   6. resolve every prepared transaction from the restored commit log.
 *
 * The source cluster is never written to: --meta-conn is only read. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "backup/cluster_backup.h"
#include "catalog/clusters.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "pool/keys.h"
#include "common/quote.h"
#include "common/spawn.h"
#include "consistency/cp_choose.h"
#include "consistency/cp_store.h"
#include "consistency/resolve.h"
#include "pg/conn.h"
#include "restore/cluster_place.h"
#include "restore/cluster_restore.h"
#include "restore/cluster_restore_internal.h"
#include "restore/compute_restore.h"
#include "restore/exact_plan.h"
#include "restore/identity.h"
#include "restore/standby.h"



/* ---- step 3: primaries ---- */


static void *
primary_job_main(void *arg)
{
    PrimaryJob *j = arg;
    const char *where = j->executor ? j->executor->where(j->executor, j->target) : NULL;
    if (where)
    {
        log_info("replica set %s: primary %s restored by %s", j->set, j->target->name, where);
        j->rc = j->executor->restore(j->executor, j->set, j->target, &j->opt, &j->err);
    }
    else
    {
        Manifest m;
        j->rc = restore_node(&j->opt, &m, &j->secs, &j->sr, &j->err);
        if (j->rc == 0)
            manifest_free(&m);
    }
    if (j->rc != 0)
        error_prefix(&j->err, "replica set %s: ", j->set);
    return NULL;
}

const char *
node_backup_of(json_object *backup, const char *set)
{
    json_object *nodes;
    json_object_object_get_ex(backup, "nodes", &nodes);
    for (size_t i = 0; i < json_object_array_length(nodes); i++)
    {
        json_object *n = json_object_array_get_idx(nodes, i);
        if (!strcmp(jstring(n, "set"), set))
            return jstring(n, "backup");
    }
    return NULL;
}

/* ---- step 4: standbys and compute ---- */

/* A standby of the set's new primary, by the executor of its host or here. */
static int
build_standby(const RestoreOptions *o, const char *bin, const TopoNode *primary, const TopoNode *standby,
              const char *sockdir, Error *err)
{
    /* pg_basebackup copies the primary's settings: its listen address too */
    char *standby_sockdir = cluster_place_sockdir(o, standby, sockdir);
    char *socket_setting = xprintf("unix_socket_directories=%s", standby_sockdir);
    free(standby_sockdir);
    char *listen_setting = xprintf("listen_addresses=%s", standby->host);
    const char *settings[] = {socket_setting, listen_setting};
    const RestoreExecutor *ex = o->executor;
    const char *where = ex ? ex->where(ex, standby) : NULL;
    int rc;
    if (where)
    {
        log_info("standby %s of %s: built by %s", standby->name, primary->name, where);
        rc = ex->standby(ex, primary, standby, settings, 2, err);
    }
    else
        rc = standby_build(bin, primary->host, primary->port, standby->data_dir, standby->port, settings, 2, err);
    free(socket_setting);
    free(listen_setting);
    if (rc != 0)
        error_prefix(err, "rebuilding standby %s: ", standby->name);
    return rc;
}

/* ---- step 5: the restored catalog describes the new cluster ---- */

static int
rewrite_catalog(const Topology *src, const Topology *t, Error *err)
{
    char *ci = topology_meta_conninfo(t, err);
    if (!ci)
        return -1;
    PGconn *meta = pg_connect(ci, "restored metadata primary", err);
    free(ci);
    if (!meta)
        return -1;
    int rc = catalog_workload_rename(meta, "restored metadata primary", src->name, t->name, err);
    if (rc == 0)
        rc = topology_save(meta, t, err);
    /* The source's registration in this copy would point at the source's
     * nodes: a restored catalog describes only its own cluster. */
    if (rc == 0)
        rc = catalog_cluster_forget(meta, "restored metadata primary", src->name, err);
    PQfinish(meta);
    return rc;
}

void
primary_job_setup(PrimaryJob *j, const RestoreOptions *o, const char *set, const TopoNode *node, const char *backup,
                  const char *cp_name, const char *to, const char *sockdir)
{
    restore_options_defaults(&j->opt);
    j->set = set;
    j->target = node;
    j->executor = o->executor;
    j->node = xprintf("%s/%s", o->cluster, set);
    j->backup = xstrdup(backup);
    j->archive_node = xprintf("%s/%s", to, set);
    j->sets[0] = xprintf("unix_socket_directories=%s", sockdir);
    j->sets[1] = xprintf("listen_addresses=%s", node->host);
    j->opt.co = o->co;
    j->opt.co.node = j->node;
    j->opt.co.quiet = true;
    j->opt.co.json = false;
    j->opt.backup_id = j->backup;
    j->opt.target_dir = node->data_dir;
    if (cp_name)
    {
        j->opt.target.kind = TARGET_NAME;
        j->opt.target.text = xstrdup(cp_name);
    }
    j->opt.action = "promote";
    j->opt.jobs = o->jobs;
    j->opt.max_rate = o->max_rate;
    j->opt.port = node->port;
    j->opt.archive_node = j->archive_node;
    j->opt.sets = (const char **) j->sets;
    j->opt.nsets = 2;
    j->opt.start = true;
    j->opt.start_timeout = o->start_timeout;
    j->opt.pg_bin = o->pg_bin;
}

void
primary_job_free(PrimaryJob *j)
{
    free(j->node);
    free(j->backup);
    free(j->archive_node);
    free(j->sets[0]);
    free(j->sets[1]);
    target_free(&j->opt.target);
}

int
run_primary_jobs(PrimaryJob *jobs, size_t n, Error *err)
{
    pthread_t *threads = xcalloc(n, sizeof(pthread_t));
    bool *running = xcalloc(n, sizeof(bool));
    for (size_t i = 0; i < n; i++)
    {
        running[i] = log_thread_create(&threads[i], primary_job_main, &jobs[i]) == 0;
        if (!running[i])
            primary_job_main(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (running[i])
            pthread_join(threads[i], NULL);
    free(threads);
    free(running);
    for (size_t i = 0; i < n; i++)
        if (jobs[i].rc != 0)
        {
            *err = jobs[i].err;
            return -1;
        }
    return 0;
}

/* Waits (bounded) until, for every set, the WAL segment holding the CP's
 * restore point is in the pool: a CP taken seconds ago may still sit in a
 * segment its primary is filling (archive_timeout bounds how long). */
static int
wait_cp_wal(Pool *pool, const RestoreOptions *o, json_object *backup, const ConsistencyPoint *cp,
            const char *const *sets, size_t n, int timeout, Error *err)
{
    double deadline = now_seconds() + timeout;
    bool said = false;
    for (size_t i = 0; i < n; i++)
    {
        char *node = xprintf("%s/%s", o->cluster, sets[i]);
        NodeInfo ni;
        bool exists;
        BackupList bl;
        int rc = node_info_read(pool, node, &ni, &exists, err);
        uint32_t tli = 1;
        if (rc == 0 && backup_list_load(pool, node, &bl, err) == 0)
        {
            const char *id = node_backup_of(backup, sets[i]);
            for (size_t k = 0; k < bl.count; k++)
                if (bl.items[k].complete && id && !strcmp(bl.items[k].id, id))
                    tli = bl.items[k].manifest.timeline;
            backup_list_free(&bl);
        }
        char name[WAL_NAME_LEN + 1];
        Lsn lsn = cp_member_lsn(cp, sets[i]);
        if (rc == 0)
            wal_segment_name(tli, wal_segno(lsn ? lsn - 1 : 0, ni.wal_segment_size), ni.wal_segment_size, name);
        while (rc == 0)
        {
            WalObject obj;
            bool found;
            if ((rc = archive_find(pool, node, name, &obj, &found, err)) != 0)
                break;
            if (found)
            {
                wal_object_free(&obj);
                break;
            }
            if (now_seconds() > deadline)
            {
                rc = error_set(err, "consistency point %s is not restorable yet: WAL segment %s of %s is not in the "
                                    "pool after %d s (is its primary archiving?)", cp->name, name, node, timeout);
                break;
            }
            if (!said)
                log_info("waiting for WAL segment %s of %s (holds CP %s) to reach the pool", name, node, cp->name);
            said = true;
            sleep_ms(200);
        }
        free(node);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* After a failed restore nothing of the new cluster may run or look usable. */
static void
undo_new_cluster(const RestoreOptions *o, const Topology *t)
{
    for (size_t i = 0; i < t->ncompute; i++)
        cluster_place_discard(o, &t->compute[i]);
    for (size_t k = t->nshards + 1; k-- > 0;)
    {
        const ReplicaSet *set = k == 0 ? &t->meta : &t->shards[k - 1];
        for (size_t i = 0; i < set->nnodes; i++)
            cluster_place_discard(o, &set->nodes[i]);
    }
}

/* --time and --gtxid: the exact cut when the WAL index covers it (and
 * --cut allows), after waiting (bounded) for the WAL of the first CP after
 * the target; else the CP target, saying why. */
static int
plan_exact(Pool *pool, const RestoreOptions *o, Plan *p, ExactCutMode mode, ExactPlan *ep, Error *err)
{
    const ConsistencyPoint *after = o->gtxid ? p->cp
                                  : o->target.kind == TARGET_TIME ? cp_first_after(p->cps, p->ncps, o->target.time)
                                                                  : NULL;
    if (after && mode != EXACT_CUT_CP)
    {
        json_object *nodes;
        json_object_object_get_ex(p->backup, "nodes", &nodes);
        size_t n = nodes ? json_object_array_length(nodes) : 0;
        const char **names = xcalloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            names[i] = jstring(json_object_array_get_idx(nodes, i), "set");
        Error e;
        if (wait_cp_wal(pool, o, p->backup, after, names, n, 60, &e) != 0)
            log_warn("%s", e.msg);   /* the plan falls back to the CP, saying why */
        free(names);
    }
    if (exact_plan_prepare(pool, o, p, mode, ep, err) != 0)
        return -1;
    if (ep->exact)
        p->backup = ep->backup;
    else if (o->target.kind == TARGET_TIME)
        log_info("target time %s: restoring to CP %s at %s, %.3f s before it (%s)", o->target.text, p->cp->name,
                 p->cp->time_text, o->target.time - p->cp->time, ep->why);
    return 0;
}

/* Removes the standbys from a replica set's list of nodes (JSON). */
static void
drop_standbys(json_object *nodes)
{
    for (size_t i = json_object_array_length(nodes); i-- > 0;)
    {
        const char *role = jstring(json_object_array_get_idx(nodes, i), "role");
        if (role && !strcmp(role, "standby"))
            json_object_array_del_idx(nodes, i, 1);
    }
}

/* The backup's topology; with primaries_only, without the standbys. */
static int
source_topology(const Plan *p, bool primaries_only, Topology *src, Error *err)
{
    json_object *tj = NULL, *copy = NULL;
    json_object_object_get_ex(p->backup, "topology", &tj);
    if (primaries_only && tj && json_object_deep_copy(tj, &copy, NULL) == 0)
    {
        json_object *meta, *shards;
        if (json_object_object_get_ex(copy, "meta", &meta))
            drop_standbys(meta);
        if (json_object_object_get_ex(copy, "shards", &shards))
            for (size_t i = 0; i < json_object_array_length(shards); i++)
            {
                json_object *nodes;
                if (json_object_object_get_ex(json_object_array_get_idx(shards, i), "nodes", &nodes))
                    drop_standbys(nodes);
            }
        tj = copy;
    }
    int rc = topology_from_json(json_object_to_json_string(tj), "the backup's topology", src, err);
    json_object_put(copy);
    return rc;
}

/* Step 3 of an exact cut: the metadata primary to its cut; the decided
 * set from its commit log and each shard's cut; the shards, in parallel.
 * jobs[0] is the metadata primary's. */
static void
job_to_lsn(PrimaryJob *j, Lsn lsn)
{
    char text[32];
    lsn_format(lsn, text);
    target_free(&j->opt.target);
    j->opt.target.kind = TARGET_LSN;
    j->opt.target.text = xstrdup(text);
    j->opt.target.lsn = lsn;
    j->opt.exclusive = true;   /* replay what starts before the cut */
}

static int
run_exact_jobs(ExactPlan *ep, const Topology *t, PrimaryJob *jobs, const ReplicaSet **sets, size_t nsets, Error *err)
{
    job_to_lsn(&jobs[0], ep->meta.lsn);
    if (run_primary_jobs(jobs, 1, err) != 0)
        return -1;
    char *ci = topology_meta_conninfo(t, err);
    int rc = ci ? exact_plan_decide(ep, ci, err) : -1;
    free(ci);
    for (size_t i = 1; i < nsets && rc == 0; i++)
    {
        const ExactNode *n = NULL;
        for (size_t k = 0; k < ep->nshards; k++)
            if (!strcmp(ep->shards[k].set, sets[i]->name))
                n = &ep->shards[k];
        if (!n)
            return error_set(err, "cluster backup %s has no backup of replica set %s", jstring(ep->backup, "id"),
                             sets[i]->name);
        job_to_lsn(&jobs[i], n->lsn);
    }
    if (rc == 0 && nsets > 1)
        rc = run_primary_jobs(jobs + 1, nsets - 1, err);
    return rc;
}

/* The pool opened for a restore (the key to decrypt it required) and
 * --dir checked: absolute and new or empty, unless placed on hosts. */
static int
open_for_restore(const RestoreOptions *o, bool placed, Pool **pool, Error *err)
{
    /* Every new instance's directory, socket and log are under --dir: a
     * relative one would resolve against each server's own directory. */
    if (!placed && (!o->dir || o->dir[0] != '/'))
        return error_set(err, "--dir '%s' is not an absolute path", o->dir ? o->dir : "");
    if (pool_open(o->co.pool, pool, err) != 0)
        return -1;
    if (pool_require_key(*pool, "restore", err) != 0)
    {
        pool_close(*pool);
        return -1;
    }
    /* A new cluster gets a directory of its own: anything already there is
     * someone's, and a restore must not mix its files with it. */
    bool dir_empty = true;
    if (!placed && dir_is_empty(o->dir, &dir_empty, err) != 0)
    {
        pool_close(*pool);
        return -1;
    }
    if (!dir_empty)
    {
        pool_close(*pool);
        return error_set(err, "directory %s is not empty: a restore needs a new or empty --dir", o->dir);
    }
    return 0;
}

/* The new cluster's pool nodes (o->to/<set>) are free. */
static int
new_identity_check(Pool *pool, const RestoreOptions *o, const Topology *t, Error *err)
{
    const char **names = xcalloc(1 + t->nshards, sizeof(char *));
    names[0] = t->meta.name;
    for (size_t i = 0; i < t->nshards; i++)
        names[i + 1] = t->shards[i].name;
    int rc = restored_cluster_identity_check(pool, o->to, names, 1 + t->nshards, err);
    free(names);
    return rc;
}

/* 3. Every set's primary (sets[], filled here: the metadata set, then the
 * shards), in parallel, to the CP or by the exact cut. *started: from
 * then on, a failure has instances to stop. */
static int
restore_primaries(Pool *pool, RestoreOptions *o, const Plan *p, ExactPlan *ep, Topology *t, bool placed,
                  const Placement *hba, PrimaryJob *jobs, const ReplicaSet **sets, const char *sockdir, bool *started,
                  Error *err)
{
    size_t nsets = 1 + t->nshards;
    int rc = 0;
    sets[0] = &t->meta;
    for (size_t i = 0; i < t->nshards; i++)
        sets[i + 1] = &t->shards[i];
    for (size_t i = 0; i < nsets && rc == 0; i++)
    {
        const TopoNode *primary = topology_primary(sets[i]);
        const char *backup = node_backup_of(p->backup, sets[i]->name);
        if (!primary || !backup)
            rc = error_set(err, "cluster backup %s has no backup of replica set %s", jstring(p->backup, "id"),
                           sets[i]->name);
        else
        {
            char *primary_sockdir = cluster_place_sockdir(o, primary, sockdir);
            primary_job_setup(&jobs[i], o, sets[i]->name, primary, backup, ep->exact ? NULL : p->cp->name, o->to,
                              primary_sockdir);
            free(primary_sockdir);
            /* The source's pg_hba.conf comes with the backup: it may not
             * admit the new hosts (the standbys' replication, the compute
             * nodes, the cluster manager) at all. */
            jobs[i].opt.hba = (const char *const *) hba->hba;
            jobs[i].opt.nhba = hba->nhba;
            if (!ep->exact)
                jobs[i].opt.target.lsn = cp_member_lsn(p->cp, sets[i]->name);   /* the WAL check needs no more */
        }
    }
    if (rc == 0)
    {
        const char **names = xcalloc(nsets, sizeof(char *));
        for (size_t i = 0; i < nsets; i++)
            names[i] = sets[i]->name;
        rc = ep->exact ? 0 : wait_cp_wal(pool, o, p->backup, p->cp, names, nsets, 60, err);
        free(names);
    }
    if (rc == 0 && ep->exact)
    {
        log_info("restoring %zu replica set(s) of %s by an exact cut into %s", nsets, o->cluster, o->dir);
        *started = true;
        rc = run_exact_jobs(ep, t, jobs, sets, nsets, err);
    }
    else if (rc == 0)
    {
        log_info("restoring %zu replica set(s) of %s to CP %s into %s", nsets, o->cluster, p->cp->name,
                 placed ? "the placement's hosts" : o->dir);
        *started = true;
        rc = run_primary_jobs(jobs, nsets, err);
    }
    return rc;
}

/* 4. Standbys from the new primaries; compute nodes on the new shards. */
static int
restore_standbys_and_compute(const RestoreOptions *o, const ReplicaSet **sets, size_t nsets, const Topology *src,
                             const Topology *t, const ComputeSchemas *schemas, const Placement *hba,
                             const char *sockdir, Error *err)
{
    char *bin = pg_bin_dir(o->pg_bin, 150000);
    int rc = 0;
    for (size_t i = 0; i < nsets && rc == 0 && !o->primaries_only; i++)
    {
        const TopoNode *primary = topology_primary(sets[i]);
        for (size_t k = 0; k < sets[i]->nnodes && rc == 0; k++)
            if (sets[i]->nodes[k].role == NODE_STANDBY)
                rc = build_standby(o, bin, primary, &sets[i]->nodes[k], sockdir, err);
    }
    for (size_t i = 0; i < t->ncompute && rc == 0; i++)
    {
        char *compute_sockdir = cluster_place_sockdir(o, &t->compute[i], sockdir);
        ComputeInit ci = {.executor = o->executor, .sockdir = compute_sockdir,
                          .hba = (const char *const *) hba->hba, .nhba = hba->nhba};
        rc = compute_restore_node(bin, schemas, src, t, i, &ci, err);
        free(compute_sockdir);
    }
    free(bin);
    return rc;
}

/* 6. The prepared transactions left on the new shards, committed or
 * rolled back by the restored commit log. */
static int
resolve_in_doubt(const Topology *t, ResolveStats *rs, Error *err)
{
    char *meta = topology_meta_conninfo(t, err);
    ResolveShard *rsh = xcalloc(t->nshards ? t->nshards : 1, sizeof(ResolveShard));
    char **cis = xcalloc(t->nshards ? t->nshards : 1, sizeof(char *));
    for (size_t i = 0; i < t->nshards; i++)
    {
        cis[i] = topology_shard_conninfo(t, &t->shards[i], err);
        rsh[i] = (ResolveShard){t->shards[i].name, cis[i]};
    }
    int rc = meta ? resolve_prepared(meta, NULL, rsh, t->nshards, rs, err) : -1;
    for (size_t i = 0; i < t->nshards; i++)
        free(cis[i]);
    free(cis);
    free(rsh);
    free(meta);
    return rc;
}

/* A failed restore's error, prefixed with what failed; with started, the
 * new cluster undone first (instances stopped, directories emptied, its
 * pool nodes released). */
static void
restore_failed(Pool *pool, RestoreOptions *o, Topology *t, const ReplicaSet **sets, size_t nsets, bool started,
               Error *err)
{
    /* A partial restore (--shard, no --to) makes no new cluster. */
    char what[256];
    if (o->to)
        snprintf(what, sizeof(what), "restore of cluster %s into %s", o->cluster, o->to);
    else
        snprintf(what, sizeof(what), "restore of shard %s of cluster %s", o->shard ? o->shard : "?", o->cluster);
    if (!started)
    {
        error_prefix(err, "%s: nothing was started: ", what);
        return;
    }
    undo_new_cluster(o, t);
    /* The pool nodes were free before (identity check): what the
     * new primaries archived goes with them. */
    for (size_t i = 0; i < nsets; i++)
    {
        char *node = xprintf("%s/%s", o->to, sets[i]->name);
        restored_identity_release(pool, node);
        free(node);
    }
    error_prefix(err, "%s failed (its instances were stopped and its directories emptied): ", what);
}

/* The restore; with result, its report is returned as JSON instead of printed. */
static int
restore_cluster(RestoreOptions *o, json_object **result, Error *err)
{
    bool placed = cluster_place_on_hosts(o);
    Pool *pool;
    if (open_for_restore(o, placed, &pool, err) != 0)
        return -1;
    Plan p;
    ExactPlan ep = {0};
    ExactCutMode mode = EXACT_CUT_AUTO;
    int rc = exact_cut_mode_parse(o->cut, &mode, err);
    if (rc == 0)
        rc = cluster_plan_choose(pool, o, &p, err);
    if (rc == 0 && o->shard)
    {
        rc = shard_restore(o, pool, &p, result, err);
        cluster_plan_free(&p);
        pool_close(pool);
        return rc;
    }
    if (rc == 0)
        rc = plan_exact(pool, o, &p, mode, &ep, err);
    Topology src = {0}, t = {0};
    bool have_src = false, have_new = false;
    if (rc == 0)
    {
        rc = source_topology(&p, o->primaries_only, &src, err);
        have_src = rc == 0;
    }
    Placement hba = {0};
    if (rc == 0)
    {
        rc = cluster_place(o, &src, &t, &hba, err);
        have_new = rc == 0;
    }
    if (rc == 0)
        rc = cluster_place_check(o, &t, err);
    if (rc == 0)
        rc = new_identity_check(pool, o, &t, err);
    /* The compute nodes' schemas, verified before anything starts. */
    ComputeSchemas schemas = {0};
    if (rc == 0)
        rc = compute_schemas_load(pool, p.backup, &src, &t, &schemas, err);
    char *sockdir = placed ? NULL : xprintf("%s/sock", o->dir);
    if (rc == 0 && sockdir)
        rc = mkdir_p(sockdir, 0700, err);
    double t0 = now_seconds();
    bool started = false;   /* from here on, a failure has instances to stop */

    /* 3. Every set's primary, in parallel, to the CP. */
    size_t nsets = 1 + t.nshards;
    PrimaryJob *jobs = xcalloc(nsets, sizeof(PrimaryJob));
    const ReplicaSet **sets = xcalloc(nsets, sizeof(ReplicaSet *));
    if (rc == 0)
        rc = restore_primaries(pool, o, &p, &ep, &t, placed, &hba, jobs, sets, sockdir, &started, err);
    /* 4. Standbys from the new primaries; compute nodes on the new shards. */
    if (rc == 0)
        rc = restore_standbys_and_compute(o, sets, nsets, &src, &t, &schemas, &hba, sockdir, err);
    /* 5. and 6. */
    if (rc == 0)
        rc = rewrite_catalog(&src, &t, err);
    ResolveStats rs = {0};
    if (rc == 0)
        rc = resolve_in_doubt(&t, &rs, err);
    if (rc == 0 && result)
        *result = cluster_report_json(o, &p, &t, &rs, now_seconds() - t0, &ep);
    else if (rc == 0)
        cluster_report_print(o, &p, &t, &rs, now_seconds() - t0, &ep);
    else
        restore_failed(pool, o, &t, sets, nsets, have_new && started, err);
    for (size_t i = 0; i < nsets; i++)
        if (jobs[i].node)
            primary_job_free(&jobs[i]);
    free(jobs);
    free(sets);
    compute_schemas_free(&schemas);
    free(sockdir);
    placement_free(&hba);
    if (have_src)
        topology_free(&src);
    if (have_new)
        topology_free(&t);
    exact_plan_free(&ep);
    cluster_plan_free(&p);
    pool_close(pool);
    return rc;
}

int
cluster_restore(RestoreOptions *o, Error *err)
{
    return restore_cluster(o, NULL, err);
}

int
cluster_restore_json(RestoreOptions *o, json_object **result, Error *err)
{
    *result = NULL;
    return restore_cluster(o, result, err);
}

int
cluster_restore_plan_json(Pool *pool, RestoreOptions *o, json_object **plan, Error *err)
{
    *plan = NULL;
    Plan p;
    int rc = cluster_plan_choose(pool, o, &p, err);
    if (rc == 0)
    {
        const char *target = o->cp ? "cp" : o->gtxid ? "gtxid" : o->target.kind == TARGET_TIME ? "time" : "latest";
        json_object *r = json_object_new_object();
        json_object_object_add(r, "cluster", json_object_new_string(o->cluster));
        json_object_object_add(r, "shard", o->shard ? json_object_new_string(o->shard) : NULL);
        json_object_object_add(r, "target", json_object_new_string(target));
        if (o->target.kind == TARGET_TIME)
        {
            json_object_object_add(r, "time", json_object_new_string(o->target.text));
            json_object_object_add(r, "distance_seconds", json_object_new_double(o->target.time - p.cp->time));
        }
        if (o->gtxid)
            json_object_object_add(r, "gtxid", json_object_new_string(o->gtxid));
        json_object_object_add(r, "cp", cp_to_json(p.cp));
        json_object_object_add(r, "backup", json_object_new_string(jstring(p.backup, "id")));
        /* a whole cluster to a time or a gtxid: how the restore would cut each node */
        ExactCutMode mode = EXACT_CUT_AUTO;
        if (!o->shard && (o->gtxid || o->target.kind == TARGET_TIME) && exact_cut_mode_parse(o->cut, &mode, err) == 0)
            json_object_object_add(r, "cut", exact_plan_preview(pool, o, &p, mode, o->meta_conn));
        *plan = r;
    }
    cluster_plan_free(&p);
    return rc;
}
