#include "backup/cluster_backup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "backup/compute_schema.h"
#include "catalog/catalog.h"
#include "catalog/history.h"
#include "common/json_member.h"
#include "common/log.h"
#include "consistency/cp_store.h"
#include "pg/conn.h"
#include "pool/lease.h"
#include "pool/sealed.h"

char *
cluster_backup_dir(const char *cluster, const char *id)
{
    return xprintf("clusters/%s/backups/%s", cluster, id);
}

char *
cluster_manifest_path(const char *cluster, const char *id)
{
    return xprintf("clusters/%s/backups/%s/cluster.manifest", cluster, id);
}

/* The replica sets' threads and the progress reporter (the calling
 * thread) share the sets' states under this lock. */
typedef struct SetShared
{
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    size_t running;
} SetShared;

/* One replica set's part of the cluster backup. */
typedef struct SetJob
{
    const ReplicaSet *set;
    BackupOptions opt;
    char *pool_node;
    char *standby_conn;
    char *primary_conn;
    char *parent;             /* incr/diff: the set's node backup it builds on */
    const TopoNode *source;
    const char *where;        /* node manager URL, NULL in-process */
    const char *state;        /* queued, running, retrying, succeeded, failed (static strings) */
    NodeBackupTask task;
    SetShared *shared;
    Manifest manifest;
    int rc;
    Error err;
} SetJob;

/* backup_node's progress hook, in-process. */
static void
set_progress(void *arg, uint64_t done, uint64_t total)
{
    NodeBackupTask *t = arg;
    atomic_store(&t->bytes_done, done);
    atomic_store(&t->bytes_total, total);
}

/* A standby with a data directory, other than `not`: backups never load
 * the primary. */
static const TopoNode *
pick_standby(const ReplicaSet *set, const TopoNode *not)
{
    for (size_t i = 0; i < set->nnodes; i++)
        if (set->nodes[i].role == NODE_STANDBY && set->nodes[i].data_dir && &set->nodes[i] != not)
            return &set->nodes[i];
    return NULL;
}

/* Points the job at standby `node` (under the shared lock: the reporter reads it). */
static void
set_job_target(SetJob *j, const TopoNode *node)
{
    pthread_mutex_lock(&j->shared->lock);
    j->source = node;
    free(j->standby_conn);
    j->standby_conn = topology_conninfo(node, "postgres");
    j->opt.pgdata = node->data_dir;
    j->opt.pg_conn = j->standby_conn;
    j->where = j->opt.executor && j->opt.executor->where ? j->opt.executor->where(j->opt.executor, node) : NULL;
    j->task.set = j->set->name;
    j->task.node = node;
    j->task.opt = &j->opt;
    atomic_store(&j->task.bytes_done, 0);
    atomic_store(&j->task.bytes_total, 0);
    pthread_mutex_unlock(&j->shared->lock);
}

static void
set_job_state(SetJob *j, const char *state)
{
    pthread_mutex_lock(&j->shared->lock);
    j->state = state;
    pthread_mutex_unlock(&j->shared->lock);
}

static int
set_job_attempt(SetJob *j)
{
    if (j->opt.executor)
        return j->opt.executor->backup(j->opt.executor, &j->task, &j->manifest, &j->err);
    j->opt.on_progress = set_progress;
    j->opt.progress_arg = &j->task;
    return backup_node(&j->opt, &j->manifest, &j->err);
}

static void *
set_job_main(void *arg)
{
    SetJob *j = arg;
    set_job_state(j, "running");
    j->rc = set_job_attempt(j);
    /* A node manager that died or cannot be reached is no verdict on the
     * data: once, the set's other standby (through its node manager). */
    const TopoNode *other =
        j->rc == NODE_EXEC_UNREACHABLE && !backup_cancelled(&j->opt) ? pick_standby(j->set, j->source) : NULL;
    if (other)
    {
        log_warn("replica set %s: %s; retrying from standby %s", j->set->name, j->err.msg, other->name);
        char first[ERROR_MSG_MAX];
        snprintf(first, sizeof(first), "%s", j->err.msg);
        set_job_state(j, "retrying");
        set_job_target(j, other);
        set_job_state(j, "running");
        j->rc = set_job_attempt(j);
        if (j->rc != 0)
            error_prefix(&j->err, "%s; then from %s: ", first, other->name);
    }
    if (j->rc != 0)
    {
        j->rc = -1;
        error_prefix(&j->err, "replica set %s (from %s): ", j->set->name, j->source->name);
    }
    pthread_mutex_lock(&j->shared->lock);
    j->state = j->rc == 0 ? "succeeded" : "failed";
    j->shared->running--;
    pthread_cond_signal(&j->shared->done_cv);
    pthread_mutex_unlock(&j->shared->lock);
    return NULL;
}

/* The cluster backup's progress for BackupOptions.on_cluster_progress:
 * {"phase", "sets": [{set, node, node_manager, state, bytes_done,
 * bytes_total}], "bytes_done", "bytes_total"}. Caller holds the lock. */
static json_object *
progress_json(const char *phase, SetJob *jobs, size_t n)
{
    json_object *o = json_object_new_object(), *sets = json_object_new_array();
    uint64_t done = 0, total = 0;
    json_object_object_add(o, "phase", json_object_new_string(phase));
    for (size_t i = 0; i < n; i++)
    {
        SetJob *j = &jobs[i];
        json_object *s = json_object_new_object();
        uint64_t d = atomic_load(&j->task.bytes_done), t = atomic_load(&j->task.bytes_total);
        json_object_object_add(s, "set", json_object_new_string(j->set->name));
        json_object_object_add(s, "node", json_object_new_string(j->source->name));
        json_object_object_add(s, "node_manager", j->where ? json_object_new_string(j->where) : NULL);
        json_object_object_add(s, "state", json_object_new_string(j->state));
        json_object_object_add(s, "bytes_done", json_object_new_int64((int64_t) d));
        json_object_object_add(s, "bytes_total", json_object_new_int64((int64_t) t));
        json_object_array_add(sets, s);
        done += d;
        total += t;
    }
    json_object_object_add(o, "bytes_done", json_object_new_int64((int64_t) done));
    json_object_object_add(o, "bytes_total", json_object_new_int64((int64_t) total));
    json_object_object_add(o, "sets", sets);
    return o;
}

static void
report_progress(const BackupOptions *o, const char *phase, SetJob *jobs, size_t n, SetShared *sh)
{
    if (!o->on_cluster_progress)
        return;
    pthread_mutex_lock(&sh->lock);
    json_object *p = progress_json(phase, jobs, n);
    pthread_mutex_unlock(&sh->lock);
    o->on_cluster_progress(o->cluster_progress_arg, p);
    json_object_put(p);
}

/* Waits until the segment holding `lsn` (and every one before it back to
 * `from`) of the set's primary is in the pool, switching WAL as needed. */
static int
wait_wal_through(const BackupOptions *opt, Pool *pool, const char *pool_node, const char *primary_conn, Lsn from,
                 Lsn lsn, int timeout, Error *err)
{
    PGconn *c = pg_connect(primary_conn, "primary", err);
    if (!c)
        return -1;
    char lsn_text[32], from_text[32];
    lsn_format(lsn, lsn_text);
    lsn_format(from, from_text);
    const char *params[] = {from_text, lsn_text};
    PGresult *r = pg_exec(c, "primary",
                          "SELECT pg_walfile_name($1::pg_lsn), pg_walfile_name($2::pg_lsn), "
                          "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size')",
                          2, params, err);
    if (!r)
    {
        PQfinish(c);
        return -1;
    }
    char first[WAL_NAME_LEN + 1], last[WAL_NAME_LEN + 1];
    snprintf(first, sizeof(first), "%s", PQgetvalue(r, 0, 0));
    snprintf(last, sizeof(last), "%s", PQgetvalue(r, 0, 1));
    uint64_t seg_size = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    uint32_t tli, tli2;
    uint64_t a, b;
    int rc = 0;
    if (!wal_parse_segment_name(first, seg_size, &tli, &a) || !wal_parse_segment_name(last, seg_size, &tli2, &b))
        rc = error_set(err, "unexpected WAL file names %s, %s", first, last);
    double deadline = now_seconds() + timeout, last_switch = 0;
    for (uint64_t s = a; rc == 0 && s <= b;)
    {
        char name[WAL_NAME_LEN + 1];
        /* A timeline switch between the two LSNs is not expected on a
         * healthy cluster; names use the newer timeline. */
        wal_segment_name(tli2, s, seg_size, name);
        WalObject o;
        bool found;
        if ((rc = archive_find(pool, pool_node, name, &o, &found, err)) != 0)
            break;
        if (found)
        {
            wal_object_free(&o);
            s++;
            continue;
        }
        if (now_seconds() > deadline)
        {
            rc = error_set(err, "WAL segment %s of %s did not reach the pool within %d s (archive_command?)", name,
                           pool_node, timeout);
            break;
        }
        if (backup_cancelled(opt))
        {
            rc = error_set(err, BACKUP_CANCELLED_MSG " while waiting for WAL segment %s of %s", name, pool_node);
            break;
        }
        if (now_seconds() - last_switch > 2)
        {
            PGresult *sw = PQexec(c, "SELECT pg_switch_wal()");
            PQclear(sw);
            last_switch = now_seconds();
        }
        sleep_ms(100);
    }
    PQfinish(c);
    return rc;
}

int
cluster_backups_list(Pool *p, const char *cluster, json_object ***out, size_t *n, Error *err)
{
    *out = NULL;
    *n = 0;
    char *dir = xprintf("clusters/%s/backups", cluster);
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    free(dir);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        if (!l.entries[i].is_dir)
            continue;
        char *path = cluster_manifest_path(cluster, l.entries[i].name);
        json_object *o;
        bool missing;
        rc = pool_sealed_get(p, path, &o, &missing, err);
        if (rc == 0 && !missing && cluster_manifest_check(o, path, cluster, l.entries[i].name, err) != 0)
        {
            json_object_put(o);
            rc = -1;
        }
        free(path);
        if (rc == 0 && !missing)
        {
            *out = xrealloc(*out, (*n + 1) * sizeof(json_object *));
            (*out)[(*n)++] = o;
        }
    }
    storage_list_free(&l);
    if (rc != 0)
    {
        for (size_t i = 0; i < *n; i++)
            json_object_put((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static void
record_catalog(PGconn *meta, const char *cluster, const char *id, json_object *manifest)
{
    Error err;
    if (catalog_backup_record_cluster(meta, cluster, id, json_object_to_json_string(manifest), &err) != 0)
        log_warn("could not record cluster backup %s in the catalog: %s", id, err.msg);
    /* One row per replica set's node backup, keyed by its pool node. */
    json_object *nodes;
    if (!json_object_object_get_ex(manifest, "nodes", &nodes))
        return;
    for (size_t i = 0; i < json_object_array_length(nodes); i++)
    {
        json_object *n = json_object_array_get_idx(nodes, i), *v;
        const char *pool_node = json_object_object_get_ex(n, "pool_node", &v) ? json_object_get_string(v) : "";
        if (catalog_backup_record_node(meta, cluster, id, pool_node, json_object_to_json_string(n),
                                       json_object_to_json_string(manifest), &err) != 0)
            log_warn("could not record node backup %s of %s in the catalog: %s", id, pool_node, err.msg);
    }
}

/* The node backup of pool_node in cluster manifest m, or NULL. */
static json_object *
node_entry_of(json_object *m, const char *pool_node)
{
    json_object *nodes;
    return json_object_object_get_ex(m, "nodes", &nodes) ? json_array_find(nodes, "pool_node", pool_node) : NULL;
}

/* An incremental (or differential) cluster backup builds each replica
 * set's node backup on that set's node backup in the newest earlier
 * complete cluster backup of the same scope (diff: the newest whose node
 * backup of the set is a full one). A chain then never leaves the cluster
 * backups of one scope, which expire keeps together
 * (retention_keep_parents_of_sets). A set that no such backup holds is
 * backed up full. */
static int
choose_set_parents(Pool *pool, const BackupOptions *o, const char *cluster, SetJob *jobs, size_t n, Error *err)
{
    if (o->type == BACKUP_TYPE_FULL)
        return 0;
    json_object **all;
    size_t nall;
    if (cluster_backups_list(pool, cluster, &all, &nall, err) != 0)
        return error_prefix(err, "choosing the parents of an incremental cluster backup of %s: ", cluster);
    for (size_t i = 0; i < n; i++)
    {
        const char *parent = NULL, *in = NULL;
        for (size_t k = nall; k-- > 0 && !parent;)
        {
            json_object *nj = cluster_manifest_in_scope(all[k], o->shard) ? node_entry_of(all[k], jobs[i].pool_node) : NULL;
            const char *type = nj ? json_member_string(nj, "type") : NULL;   /* absent: a full */
            if (!nj || (o->type == BACKUP_TYPE_DIFF && type && strcmp(type, "full") != 0))
                continue;
            parent = json_member_string(nj, "backup");
            in = json_member_string(all[k], "id");
        }
        if (parent)
        {
            jobs[i].parent = xstrdup(parent);
            jobs[i].opt.parent = jobs[i].parent;
            log_info("replica set %s: %s backup on node backup %s (of cluster backup %s)", jobs[i].set->name,
                     backup_type_name(o->type), parent, in);
        }
        else
        {
            jobs[i].opt.type = BACKUP_TYPE_FULL;
            log_info("replica set %s: no earlier %scluster backup of this scope holds it: a full backup",
                     jobs[i].set->name, o->type == BACKUP_TYPE_DIFF ? "full " : "");
        }
    }
    for (size_t k = 0; k < nall; k++)
        json_object_put(all[k]);
    free(all);
    return 0;
}

int
cluster_backup(const BackupOptions *o, json_object **manifest, Error *err)
{
    *manifest = NULL;
    PGconn *meta = catalog_connect(o->meta_conn, false, err);
    if (!meta)
        return -1;
    Topology t;
    if (topology_load(meta, o->cluster, &t, err) != 0)
    {
        PQfinish(meta);
        return -1;
    }
    Pool *pool;
    if (pool_open(o->co.pool, &pool, err) != 0)
    {
        topology_free(&t);
        PQfinish(meta);
        return -1;
    }
    /* Which replica sets: all (metadata first), or the named shard alone. */
    size_t nsets = 0;
    const ReplicaSet **sets = xcalloc(1 + t.nshards, sizeof(ReplicaSet *));
    int rc = 0;
    if (o->shard)
    {
        const ReplicaSet *s = topology_shard(&t, o->shard);
        if (!s)
            rc = error_set(err, "cluster %s has no shard %s", t.name, o->shard);
        else
            sets[nsets++] = s;
    }
    else
    {
        sets[nsets++] = &t.meta;
        for (size_t i = 0; i < t.nshards; i++)
            sets[nsets++] = &t.shards[i];
    }
    SetJob *jobs = xcalloc(nsets, sizeof(SetJob));
    SetShared shared = {.running = 0};
    pthread_mutex_init(&shared.lock, NULL);
    pthread_cond_init(&shared.done_cv, NULL);
    for (size_t i = 0; i < nsets && rc == 0; i++)
    {
        SetJob *j = &jobs[i];
        j->set = sets[i];
        j->shared = &shared;
        j->state = "queued";
        const TopoNode *standby = pick_standby(sets[i], NULL);
        const TopoNode *primary = topology_primary(sets[i]);
        if (!standby)
        {
            rc = error_set(err, "replica set %s of cluster %s has no standby with a known data directory to back up "
                                "from", sets[i]->name, t.name);
            break;
        }
        if (!primary)
        {
            rc = error_set(err, "replica set %s of cluster %s has no primary", sets[i]->name, t.name);
            break;
        }
        j->pool_node = xprintf("%s/%s", t.name, sets[i]->name);
        j->primary_conn = topology_conninfo(primary, "postgres");
        j->opt = *o;
        j->opt.co.node = j->pool_node;
        j->opt.co.quiet = true;
        j->opt.primary_conn = j->primary_conn;
        j->opt.cluster = NULL;
        j->opt.on_cluster_progress = NULL;
        set_job_target(j, standby);
    }
    char id[32];
    time_t started = time(NULL);
    struct tm tm;
    gmtime_r(&started, &tm);
    strftime(id, sizeof(id), "%Y%m%d-%H%M%SC", &tm);
    double t0 = now_seconds();
    bool sets_started = false;
    /* The node backups say which cluster backup they are part of, and the
     * cluster backup's lease says it is alive: an interrupted one's node
     * backups are found and removed by expire (pool/lease.h). */
    Lease *lease = NULL;
    for (size_t i = 0; i < nsets; i++)
        jobs[i].opt.cluster_backup = id;
    if (rc == 0)
        rc = choose_set_parents(pool, o, t.name, jobs, nsets, err);
    if (rc == 0)
    {
        char *dir = cluster_backup_dir(t.name, id);
        char what[160];
        snprintf(what, sizeof(what), "cluster backup %s of %s", id, t.name);
        rc = lease_take(pool->storage, dir, what, &lease, err);
        free(dir);
    }
    /* What the compute nodes hold (a whole-cluster backup only: a shard
     * restore rebuilds no compute node). */
    json_object *compute = NULL;
    if (rc == 0 && !o->shard)
    {
        char *dir = cluster_backup_dir(t.name, id);
        rc = compute_schema_dump_all(pool, &t, dir, &compute, err);
        free(dir);
    }
    if (rc == 0)
    {
        log_info("cluster backup %s of %s: %zu replica set(s) from standbys, in parallel", id, t.name, nsets);
        pthread_t *threads = xcalloc(nsets, sizeof(pthread_t));
        bool *running = xcalloc(nsets, sizeof(bool));
        shared.running = nsets;
        sets_started = true;
        for (size_t i = 0; i < nsets; i++)
        {
            running[i] = log_thread_create(&threads[i], set_job_main, &jobs[i]) == 0;
            if (!running[i])
                set_job_main(&jobs[i]);   /* no thread to be had: do it here */
        }
        /* Until every set is done: the progress, about once a second. */
        for (;;)
        {
            report_progress(o, "node backups", jobs, nsets, &shared);
            pthread_mutex_lock(&shared.lock);
            if (shared.running > 0)
            {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&shared.done_cv, &shared.lock, &ts);
            }
            bool all_done = shared.running == 0;
            pthread_mutex_unlock(&shared.lock);
            if (all_done)
                break;
        }
        for (size_t i = 0; i < nsets; i++)
            if (running[i])
                pthread_join(threads[i], NULL);
        free(running);
        free(threads);
        for (size_t i = 0; i < nsets && rc == 0; i++)
        {
            if (jobs[i].rc != 0)
            {
                *err = jobs[i].err;
                rc = -1;
            }
            else
            {
                char sz[32];
                format_bytes(jobs[i].manifest.size, sz, sizeof(sz));
                log_info("  %s: backup %s from %s, %s, %.1f s", jobs[i].set->name, jobs[i].manifest.id,
                         jobs[i].source->name, sz, jobs[i].manifest.duration);
            }
        }
    }
    /* The end CP, after every node backup stopped: restoring to it makes
     * every set consistent, and at one point across the whole cluster. */
    ConsistencyPoint cp = {0};
    if (rc == 0 && backup_cancelled(o))
        rc = error_set(err, BACKUP_CANCELLED_MSG " before the end consistency point");
    if (rc == 0)
        report_progress(o, "end consistency point", jobs, nsets, &shared);
    if (rc == 0)
    {
        CpMember *members;
        size_t n;
        rc = cp_members_from_topology(&t, &members, &n, err);
        if (rc == 0)
        {
            char name[CP_NAME_MAX + 1];
            snprintf(name, sizeof(name), "backup-%s-%s", t.name, id);
            rc = cp_create(t.name, name, members, n, o->cp_timeout_ms, &cp, err);
            cp_members_free(members, n);
        }
        if (rc == 0)
            rc = cp_save_pool(pool, &cp, err);
        if (rc == 0 && cp_save_catalog(meta, &cp, err) != 0)
        {
            log_warn("%s", err->msg);   /* the pool has it; the catalog is a convenience */
            rc = 0;
        }
    }
    /* Complete once the WAL up to the CP is in the pool, for every set. */
    if (rc == 0)
        report_progress(o, "waiting for WAL up to the end CP", jobs, nsets, &shared);
    for (size_t i = 0; i < nsets && rc == 0; i++)
        rc = wait_wal_through(o, pool, jobs[i].pool_node, jobs[i].primary_conn, jobs[i].manifest.stop_lsn,
                              cp_member_lsn(&cp, jobs[i].set->name), o->archive_timeout, err);
    if (rc == 0)
    {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "format", json_object_new_int(1));
        json_object_object_add(m, "id", json_object_new_string(id));
        json_object_object_add(m, "cluster", json_object_new_string(t.name));
        json_object_object_add(m, "scope", json_object_new_string(o->shard ? "shard" : "cluster"));
        json_object_object_add(m, "type", json_object_new_string(backup_type_name(o->type)));
        if (o->shard)
            json_object_object_add(m, "shard", json_object_new_string(o->shard));
        json_object_object_add(m, "started_epoch", json_object_new_int64((int64_t) started));
        json_object_object_add(m, "duration", json_object_new_double(now_seconds() - t0));
        json_object_object_add(m, "topology", topology_to_json(&t));
        json_object *nodes = json_object_new_array();
        uint64_t size = 0, stored = 0;
        for (size_t i = 0; i < nsets; i++)
        {
            json_object *nj = json_object_new_object();
            char lsn[32];
            lsn_format(jobs[i].manifest.stop_lsn, lsn);
            json_object_object_add(nj, "set", json_object_new_string(jobs[i].set->name));
            json_object_object_add(nj, "pool_node", json_object_new_string(jobs[i].pool_node));
            json_object_object_add(nj, "backup", json_object_new_string(jobs[i].manifest.id));
            json_object_object_add(nj, "type", json_object_new_string(jobs[i].manifest.type));
            if (jobs[i].manifest.parent)
                json_object_object_add(nj, "parent", json_object_new_string(jobs[i].manifest.parent));
            json_object_object_add(nj, "source", json_object_new_string(jobs[i].source->name));
            if (jobs[i].where)
                json_object_object_add(nj, "node_manager", json_object_new_string(jobs[i].where));
            json_object_object_add(nj, "stop_lsn", json_object_new_string(lsn));
            json_object_object_add(nj, "size", json_object_new_int64((int64_t) jobs[i].manifest.size));
            json_object_object_add(nj, "stored_size", json_object_new_int64((int64_t) jobs[i].manifest.stored_size));
            json_object_object_add(nj, "duration", json_object_new_double(jobs[i].manifest.duration));
            json_object_array_add(nodes, nj);
            size += jobs[i].manifest.size;
            stored += jobs[i].manifest.stored_size;
        }
        json_object_object_add(m, "nodes", nodes);
        json_object_object_add(m, "size", json_object_new_int64((int64_t) size));
        json_object_object_add(m, "stored_size", json_object_new_int64((int64_t) stored));
        json_object_object_add(m, "end_cp", cp_to_json(&cp));
        if (compute)
            json_object_object_add(m, "compute", json_object_get(compute));
        char *path = cluster_manifest_path(t.name, id);
        rc = lease_check(lease, err);
        if (rc == 0)
            rc = pool_sealed_put(pool, path, m, err);
        free(path);
        if (rc == 0)
        {
            record_catalog(meta, t.name, id, m);
            char sz[32], st[32];
            format_bytes(size, sz, sizeof(sz));
            format_bytes(stored, st, sizeof(st));
            log_info("cluster backup %s complete: %s in the databases, %s in the pool, %.1f s; end CP %s (pause "
                     "%.2f ms)", id, sz, st, now_seconds() - t0, cp.name, cp.pause_ms);
            *manifest = m;
        }
        else
            json_object_put(m);
    }
    /* The last word: "complete", or "failed" with each set's state. */
    if (sets_started)
        report_progress(o, rc == 0 ? "complete" : "failed", jobs, nsets, &shared);
    if (rc != 0)
        error_prefix(err, "cluster backup %s of %s failed: ", id, t.name);
    /* A failed cluster backup leaves no node backup behind: each would pin
     * its node's WAL and be part of nothing restorable. If a removal fails,
     * expire finds the rest (the lease is no longer renewed). */
    lease_release(lease, rc == 0);
    if (rc != 0 && lease)
    {
        for (size_t i = 0; i < nsets; i++)
        {
            Error rerr;
            if (jobs[i].rc == 0 && jobs[i].manifest.id &&
                backup_remove(pool, jobs[i].pool_node, jobs[i].manifest.id, &rerr) != 0)
                log_warn("%s", rerr.msg);
        }
        char *dir = cluster_backup_dir(t.name, id);
        Error rerr;
        if (storage_remove_tree(pool->storage, dir, &rerr) != 0)
            log_warn("%s", rerr.msg);
        free(dir);
    }
    json_object_put(compute);
    cp_free(&cp);
    pthread_cond_destroy(&shared.done_cv);
    pthread_mutex_destroy(&shared.lock);
    for (size_t i = 0; i < nsets; i++)
    {
        free(jobs[i].pool_node);
        free(jobs[i].standby_conn);
        free(jobs[i].primary_conn);
        free(jobs[i].parent);
        manifest_free(&jobs[i].manifest);
    }
    free(jobs);
    free(sets);
    pool_close(pool);
    topology_free(&t);
    PQfinish(meta);
    return rc;
}
