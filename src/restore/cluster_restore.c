/* Restoring a cluster (DESIGN §3):
 *
 *   1. choose the consistency point (--cp, --time: the latest at or before,
 *      --gtxid: the first after its decision, --latest) and the newest
 *      cluster backup that ends before it, from the pool alone;
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
#include "cluster/catalog.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/spawn.h"
#include "consistency/cp_store.h"
#include "consistency/resolve.h"
#include "pg/conn.h"
#include "restore/cluster_restore.h"
#include "restore/standby.h"


/* ---- choosing the CP and the backup ---- */

typedef struct Plan
{
    ConsistencyPoint *cps;
    size_t ncps;
    const ConsistencyPoint *cp;
    json_object **backups;
    size_t nbackups;
    json_object *backup;     /* the chosen cluster backup's manifest */
} Plan;

static double
jdouble(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static const char *
jstring(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static double
backup_end_time(json_object *b)
{
    json_object *cp;
    return json_object_object_get_ex(b, "end_cp", &cp) ? jdouble(cp, "epoch") : 0;
}

static bool
backup_covers(json_object *b, const char *shard)
{
    const char *scope = jstring(b, "scope");
    if (!shard)
        return scope && !strcmp(scope, "cluster");
    json_object *nodes;
    if (!json_object_object_get_ex(b, "nodes", &nodes))
        return false;
    for (size_t i = 0; i < json_object_array_length(nodes); i++)
    {
        const char *set = jstring(json_object_array_get_idx(nodes, i), "set");
        if (set && !strcmp(set, shard))
            return true;
    }
    return false;
}

static int
window_error(const RestoreOptions *o, const Plan *p, const char *what, Error *err)
{
    json_object *first = NULL;
    for (size_t i = 0; i < p->nbackups && !first; i++)
        if (backup_covers(p->backups[i], o->shard))
            first = p->backups[i];
    if (!first && o->shard && p->nbackups > 0)
        return error_set(err, "cluster %s has no shard %s: none of its %zu backup(s) in pool %s holds it", o->cluster,
                         o->shard, p->nbackups, o->co.pool);
    if (!first || p->ncps == 0)
        return error_set(err, "cluster %s has no complete %s backup in pool %s", o->cluster, o->shard ? "shard" : "cluster",
                         o->co.pool);
    json_object *end;
    json_object_object_get_ex(first, "end_cp", &end);
    return error_set(err, "%s is outside the recoverable window of cluster %s: from CP %s (%s) to CP %s (%s)", what,
                     o->cluster, jstring(end, "name"), jstring(end, "time"), p->cps[p->ncps - 1].name,
                     p->cps[p->ncps - 1].time_text);
}

static int
gtxid_decision_time(const RestoreOptions *o, double *epoch, Error *err)
{
    if (!o->meta_conn)
        return error_set(err, "--gtxid needs --meta-conn: the source's metadata primary, to read when %s was decided "
                              "(read only)", o->gtxid);
    PGconn *meta = catalog_connect(o->meta_conn, false, err);
    if (!meta)
        return -1;
    const char *params[] = {o->gtxid};
    PGresult *r = pg_exec(meta, "source metadata primary",
                          "SELECT extract(epoch from decided_at)::text FROM strata.commit_log WHERE gtxid = $1", 1,
                          params, err);
    int rc = 0;
    if (!r)
        rc = -1;
    else if (PQntuples(r) == 0)
        rc = error_set(err, "global transaction %s has no commit decision in the commit log of cluster %s: it was "
                            "aborted or never existed", o->gtxid, o->cluster);
    else
        *epoch = strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    PQfinish(meta);
    return rc;
}

static int
make_plan(Pool *pool, RestoreOptions *o, Plan *p, Error *err)
{
    memset(p, 0, sizeof(*p));
    if (cp_list_pool(pool, o->cluster, &p->cps, &p->ncps, err) != 0)
        return -1;
    if (cluster_backups_list(pool, o->cluster, &p->backups, &p->nbackups, err) != 0)
        return -1;
    char what[256];
    if (o->cp)
    {
        for (size_t i = 0; i < p->ncps; i++)
            if (!strcmp(p->cps[i].name, o->cp))
                p->cp = &p->cps[i];
        snprintf(what, sizeof(what), "consistency point %s", o->cp);
        if (!p->cp)
            return error_set(err, "cluster %s has no consistency point %s in pool %s (strata cp list)", o->cluster,
                             o->cp, o->co.pool);
    }
    else if (o->gtxid)
    {
        double decided = 0;
        if (gtxid_decision_time(o, &decided, err) != 0)
            return -1;
        for (size_t i = 0; i < p->ncps && !p->cp; i++)
            if (p->cps[i].time > decided)
                p->cp = &p->cps[i];
        snprintf(what, sizeof(what), "global transaction %s", o->gtxid);
        if (!p->cp)
            return error_set(err, "no consistency point after the decision of %s yet: take one (strata cp create)",
                             o->gtxid);
    }
    else if (o->target.kind == TARGET_TIME)
    {
        for (size_t i = 0; i < p->ncps; i++)
            if (p->cps[i].time <= o->target.time)
                p->cp = &p->cps[i];
        snprintf(what, sizeof(what), "time %s", o->target.text);
        if (!p->cp)
            return window_error(o, p, what, err);
    }
    else
    {
        snprintf(what, sizeof(what), "the latest consistency point");
        if (p->ncps)
            p->cp = &p->cps[p->ncps - 1];
        if (!p->cp)
            return window_error(o, p, what, err);
    }
    for (size_t i = 0; i < p->nbackups; i++)
        if (backup_covers(p->backups[i], o->shard) && backup_end_time(p->backups[i]) <= p->cp->time)
            p->backup = p->backups[i];
    if (!p->backup)
        return window_error(o, p, what, err);
    return 0;
}

static void
plan_free(Plan *p)
{
    cp_list_free(p->cps, p->ncps);
    for (size_t i = 0; i < p->nbackups; i++)
        json_object_put(p->backups[i]);
    free(p->backups);
}

/* ---- the new cluster ---- */

/* The new topology: the same sets and node names, on new ports under --dir. */
static int
new_topology(const RestoreOptions *o, const Topology *src, Topology *t, Error *err)
{
    json_object *j = topology_to_json(src);
    json_object_object_add(j, "name", json_object_new_string(o->to));
    json_object_object_add(j, "origin", json_object_new_string(src->name));
    int port = o->base_port;
    json_object *lists[66];
    const char *names[66];
    size_t n = 0;
    json_object *meta, *shards, *compute;
    if (json_object_object_get_ex(j, "meta", &meta))
    {
        lists[n] = meta;
        names[n++] = TOPO_META_SET;
    }
    if (json_object_object_get_ex(j, "shards", &shards))
        for (size_t i = 0; i < json_object_array_length(shards) && n < 64; i++)
        {
            json_object *sh = json_object_array_get_idx(shards, i);
            json_object_object_get_ex(sh, "nodes", &lists[n]);
            names[n++] = jstring(sh, "name");
        }
    if (json_object_object_get_ex(j, "compute", &compute))
    {
        lists[n] = compute;
        names[n++] = "compute";
    }
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; lists[k] && i < json_object_array_length(lists[k]); i++)
        {
            json_object *node = json_object_array_get_idx(lists[k], i);
            json_object_object_add(node, "host", json_object_new_string("127.0.0.1"));
            json_object_object_add(node, "port", json_object_new_int(port++));
            char *dir = xprintf("%s/%s/%s", o->dir, names[k], jstring(node, "name"));
            json_object_object_add(node, "data_dir", json_object_new_string(dir));
            free(dir);
        }
    int rc = topology_from_json(json_object_to_json_string(j), "restored topology", t, err);
    json_object_put(j);
    return rc;
}

static int
check_free(const Topology *t, Error *err)
{
    const ReplicaSet *all[65];
    size_t n = 0;
    all[n++] = &t->meta;
    for (size_t i = 0; i < t->nshards && n < 64; i++)
        all[n++] = &t->shards[i];
    ReplicaSet compute = {.name = "compute", .nodes = t->compute, .nnodes = t->ncompute};
    all[n++] = &compute;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < all[k]->nnodes; i++)
        {
            const TopoNode *node = &all[k]->nodes[i];
            if (!loopback_port_free(node->port))
                return error_set(err, "port %d (for %s of the new cluster) is in use: choose another --base-port",
                                 node->port, node->name);
            bool empty;
            if (dir_is_empty(node->data_dir, &empty, err) != 0)
                return -1;
            if (!empty)
                return error_set(err, "directory %s (for %s of the new cluster) is not empty: choose another --dir",
                                 node->data_dir, node->name);
        }
    return 0;
}

/* ---- step 3: primaries ---- */

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

static const char *
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
    char *socket_setting = xprintf("unix_socket_directories=%s", sockdir);
    const char *settings[] = {socket_setting};
    const RestoreExecutor *ex = o->executor;
    const char *where = ex ? ex->where(ex, standby) : NULL;
    int rc;
    if (where)
    {
        log_info("standby %s of %s: built by %s", standby->name, primary->name, where);
        rc = ex->standby(ex, primary, standby, settings, 1, err);
    }
    else
        rc = standby_build(bin, primary->host ? primary->host : "127.0.0.1", primary->port, standby->data_dir,
                           standby->port, settings, 1, err);
    free(socket_setting);
    if (rc != 0)
        error_prefix(err, "rebuilding standby %s: ", standby->name);
    return rc;
}

static int
run_sql(const TopoNode *n, const char *db, const char *sql, Error *err)
{
    char *ci = topology_conninfo(n, db);
    PGconn *c = pg_connect(ci, n->name, err);
    free(ci);
    if (!c)
        return -1;
    /* Several statements: the simple query protocol, in one implicit transaction. */
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        rc = error_set(err, "on %s: %s", n->name, msg);
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* A compute node is stateless: a fresh instance whose partitioned
 * `accounts` is foreign tables on the (new) shards. */
static int
build_compute(const char *bin, const Topology *t, const TopoNode *node, const char *sockdir, Error *err)
{
    char *initdb = xprintf("%s/initdb", bin), *log = xprintf("%s.initdb.log", node->data_dir);
    if (mkdir_p(node->data_dir, 0700, err) != 0)
        return -1;
    char *const argv[] = {initdb, "-D", node->data_dir, "-A", "trust", "--no-sync", NULL};
    int rc = spawn_wait(argv, log, err);
    if (rc == 0)
    {
        unlink(log);
        char *conf = xprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                             "shared_buffers = 16MB\nmax_connections = 40\n",
                             node->port, sockdir);
        rc = auto_conf_append(node->data_dir, conf, err);
        free(conf);
    }
    if (rc == 0)
        rc = instance_pg_ctl_start(bin, node->data_dir, err);
    if (rc == 0)
    {
        char *sql = xprintf("CREATE DATABASE %s", t->database);
        rc = run_sql(node, "postgres", sql, err);
        free(sql);
    }
    Buffer b = {0};
    /* strata's sessions pin search_path to pg_catalog: name the schema. */
    buffer_appendf(&b, "SET search_path = public;\n"
                       "CREATE EXTENSION IF NOT EXISTS postgres_fdw;\n"
                       "CREATE TABLE accounts (id bigint NOT NULL, balance bigint NOT NULL) PARTITION BY RANGE (id);\n");
    for (size_t i = 0; i < t->nshards; i++)
    {
        const TopoNode *p = topology_primary(&t->shards[i]);
        if (!p)
            continue;
        buffer_appendf(&b,
                       "CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '%d', "
                       "dbname '%s');\n"
                       "CREATE USER MAPPING FOR PUBLIC SERVER %s;\n"
                       "CREATE FOREIGN TABLE accounts_%s PARTITION OF accounts FOR VALUES FROM (%zu) TO (%zu) "
                       "SERVER %s OPTIONS (table_name 'accounts');\n",
                       t->shards[i].name, p->port, t->database, t->shards[i].name, t->shards[i].name,
                       i * 1000000, (i + 1) * 1000000, t->shards[i].name);
    }
    if (rc == 0)
        rc = run_sql(node, t->database, b.data, err);
    buffer_free(&b);
    free(initdb);
    free(log);
    if (rc != 0)
        error_prefix(err, "rebuilding compute node %s: ", node->name);
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
    const char *params[] = {src->name, t->name};
    PGresult *r = pg_exec(meta, "restored metadata primary",
                          "UPDATE strata.workload SET cluster = $2 WHERE cluster = $1", 2, params, err);
    int rc = r ? 0 : -1;
    PQclear(r);
    if (rc == 0)
        rc = topology_save(meta, t, err);
    /* The source's registration in this copy would point at the source's
     * nodes: a restored catalog describes only its own cluster. */
    static const char *const forget[] = {
        "DELETE FROM strata.nodes WHERE cluster = $1",
        "DELETE FROM strata.shards WHERE cluster = $1",
        "DELETE FROM strata.clusters WHERE name = $1",
    };
    for (size_t i = 0; rc == 0 && i < 3; i++)
    {
        r = pg_exec(meta, "restored metadata primary", forget[i], 1, params, err);
        rc = r ? 0 : -1;
        PQclear(r);
    }
    PQfinish(meta);
    return rc;
}

static void
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
    j->sets[1] = xstrdup("listen_addresses=127.0.0.1");
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

static void
primary_job_free(PrimaryJob *j)
{
    free(j->node);
    free(j->backup);
    free(j->archive_node);
    free(j->sets[0]);
    free(j->sets[1]);
    target_free(&j->opt.target);
}

static int
run_primary_jobs(PrimaryJob *jobs, size_t n, Error *err)
{
    pthread_t *threads = xcalloc(n, sizeof(pthread_t));
    bool *running = xcalloc(n, sizeof(bool));
    for (size_t i = 0; i < n; i++)
    {
        running[i] = pthread_create(&threads[i], NULL, primary_job_main, &jobs[i]) == 0;
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

/* The result of a restore as JSON (what --output json prints). */
static json_object *
report_json(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs, double secs)
{
    const char *target = o->cp ? "cp" : o->gtxid ? "gtxid" : o->target.kind == TARGET_TIME ? "time" : "latest";
    double distance = o->target.kind == TARGET_TIME ? o->target.time - p->cp->time : 0;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "cluster", json_object_new_string(o->cluster));
    json_object_object_add(r, "restored_as", json_object_new_string(o->to ? o->to : ""));
    json_object_object_add(r, "target", json_object_new_string(target));
    json_object_object_add(r, "cp", json_object_new_string(p->cp->name));
    json_object_object_add(r, "cp_time", json_object_new_string(p->cp->time_text));
    json_object_object_add(r, "distance_seconds", json_object_new_double(distance));
    json_object_object_add(r, "backup", json_object_new_string(jstring(p->backup, "id")));
    json_object_object_add(r, "committed_in_doubt", json_object_new_int64((int64_t) rs->committed));
    json_object_object_add(r, "rolled_back_in_doubt", json_object_new_int64((int64_t) rs->rolled_back));
    json_object_object_add(r, "duration", json_object_new_double(secs));
    if (t)
        json_object_object_add(r, "topology", topology_to_json(t));
    return r;
}

static void
report(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs, double secs)
{
    double distance = o->target.kind == TARGET_TIME ? o->target.time - p->cp->time : 0;
    if (o->co.json)
    {
        json_object *r = report_json(o, p, t, rs, secs);
        printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(r);
        return;
    }
    printf("restored %s%s%s from cluster backup %s to consistency point %s (%s)\n", o->shard ? "shard " : "cluster ",
           o->shard ? o->shard : o->cluster, o->to ? "" : "", jstring(p->backup, "id"), p->cp->name, p->cp->time_text);
    if (o->target.kind == TARGET_TIME)
        printf("  target time %s: the latest CP at or before it is %.3f s earlier\n", o->target.text, distance);
    if (o->gtxid)
        printf("  global transaction %s: the first CP after its decision\n", o->gtxid);
    printf("  in-doubt transactions resolved: %zu committed, %zu rolled back; %.1f s\n", rs->committed,
           rs->rolled_back, secs);
    if (t)
    {
        printf("  new cluster %s:\n", t->name);
        const ReplicaSet *sets[65];
        size_t n = 0;
        if (t->meta.nnodes)
            sets[n++] = &t->meta;
        for (size_t i = 0; i < t->nshards && n < 64; i++)
            sets[n++] = &t->shards[i];
        for (size_t k = 0; k < n; k++)
            for (size_t i = 0; i < sets[k]->nnodes; i++)
                printf("    %-8s %-12s %-8s port %d  %s\n", sets[k]->name, sets[k]->nodes[i].name,
                       node_role_name(sets[k]->nodes[i].role), sets[k]->nodes[i].port, sets[k]->nodes[i].data_dir);
        for (size_t i = 0; i < t->ncompute; i++)
            printf("    %-8s %-12s %-8s port %d  %s\n", "compute", t->compute[i].name, "compute", t->compute[i].port,
                   t->compute[i].data_dir);
    }
}

/* One shard alone, into one new instance at --base-port. */
static int
shard_restore(RestoreOptions *o, Pool *pool, Plan *p, json_object **result, Error *err)
{
    Topology src;
    json_object *tj;
    json_object_object_get_ex(p->backup, "topology", &tj);
    if (topology_from_json(json_object_to_json_string(tj), "the backup's topology", &src, err) != 0)
        return -1;
    const ReplicaSet *set = topology_shard(&src, o->shard);
    int rc = 0;
    if (!set)
        rc = error_set(err, "cluster %s has no shard %s", o->cluster, o->shard);
    const TopoNode *primary = set ? topology_primary(set) : NULL;
    TopoNode target = {0};
    char *sockdir = xprintf("%s/sock", o->dir);
    if (rc == 0)
    {
        target.name = primary ? primary->name : (char *) "primary";
        /* restored instances listen on loopback, as every node of a restored cluster */
        target.host = (char *) "127.0.0.1";
        target.port = o->base_port;
        target.data_dir = xprintf("%s/%s/%s", o->dir, o->shard, target.name);
        if (!loopback_port_free(target.port))
            rc = error_set(err, "port %d is in use: choose another --base-port", target.port);
        bool empty;
        if (rc == 0 && dir_is_empty(target.data_dir, &empty, err) == 0 && !empty)
            rc = error_set(err, "directory %s is not empty: choose another --dir", target.data_dir);
        if (rc == 0)
            rc = mkdir_p(sockdir, 0700, err);
    }
    double t0 = now_seconds();
    ResolveStats rs = {0};
    if (rc == 0)
    {
        PrimaryJob job = {0};
        const char *to = o->to ? o->to : o->cluster;
        char *archive_to = xprintf("%s-restored-%s", to, o->shard);
        primary_job_setup(&job, o, o->shard, &target, node_backup_of(p->backup, o->shard),
                          o->target.kind == TARGET_LATEST && !o->cp && !o->gtxid ? NULL : p->cp->name,
                          o->to ? o->to : archive_to, sockdir);
        rc = run_primary_jobs(&job, 1, err);
        primary_job_free(&job);
        free(archive_to);
    }
    if (rc == 0 && o->meta_conn)
    {
        char *meta = conninfo_with_dbname(o->meta_conn, CATALOG_DEFAULT_DB);
        char *ci = topology_conninfo(&target, src.database);
        ResolveShard rsh = {o->shard, ci};
        bool latest = o->target.kind == TARGET_LATEST && !o->cp && !o->gtxid;
        rc = resolve_prepared(meta, latest ? NULL : p->cp->time_text, &rsh, 1, &rs, err);
        free(ci);
        free(meta);
    }
    else if (rc == 0)
        log_warn("no --meta-conn: prepared transactions on the restored shard are left in doubt");
    if (rc == 0 && result)
    {
        *result = report_json(o, p, NULL, &rs, now_seconds() - t0);
        json_object_object_add(*result, "shard_port", json_object_new_int(target.port));
        json_object_object_add(*result, "shard_data_dir", json_object_new_string(target.data_dir));
    }
    else if (rc == 0)
    {
        report(o, p, NULL, &rs, now_seconds() - t0);
        printf("  shard %s: port %d, %s\n", o->shard, target.port, target.data_dir);
    }
    free(target.data_dir);
    free(sockdir);
    topology_free(&src);
    return rc;
}

/* Waits (bounded) until, for every set, the WAL segment holding the CP's
 * restore point is in the pool: a CP taken seconds ago may still sit in a
 * segment its primary is filling (archive_timeout bounds how long). */
static int
wait_cp_wal(Pool *pool, const RestoreOptions *o, const Plan *p, const char *const *sets, size_t n, int timeout,
            Error *err)
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
            const char *id = node_backup_of(p->backup, sets[i]);
            for (size_t k = 0; k < bl.count; k++)
                if (bl.items[k].complete && id && !strcmp(bl.items[k].id, id))
                    tli = bl.items[k].manifest.timeline;
            backup_list_free(&bl);
        }
        char name[WAL_NAME_LEN + 1];
        Lsn lsn = cp_member_lsn(p->cp, sets[i]);
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
                                    "pool after %d s (is its primary archiving?)", p->cp->name, name, node, timeout);
                break;
            }
            if (!said)
                log_info("waiting for WAL segment %s of %s (holds CP %s) to reach the pool", name, node, p->cp->name);
            said = true;
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        free(node);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Stops an instance this restore started, by the pid in its postmaster.pid. */
static void
stop_started(const char *data_dir)
{
    char *path = xprintf("%s/postmaster.pid", data_dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0 || kill((pid_t) pid, SIGINT) != 0)
        return;
    for (int i = 0; i < 300 && kill((pid_t) pid, 0) == 0; i++)
    {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (kill((pid_t) pid, 0) == 0)
        kill((pid_t) pid, SIGKILL);
}

/* After a failed restore nothing of the new cluster may run or look usable. */
static void
undo_new_cluster(const Topology *t)
{
    const ReplicaSet *sets[66];
    size_t n = 0;
    ReplicaSet compute = {.name = "compute", .nodes = t->compute, .nnodes = t->ncompute};
    sets[n++] = &compute;
    for (size_t i = 0; i < t->nshards && n < 64; i++)
        sets[n++] = &t->shards[i];
    sets[n++] = &t->meta;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < sets[k]->nnodes; i++)
        {
            const char *dir = sets[k]->nodes[i].data_dir;
            stop_started(dir);
            Error e;
            if (remove_tree_contents(dir, &e) != 0)
                log_warn("%s", e.msg);
            rmdir(dir);
        }
}

/* The restore; with result, its report is returned as JSON instead of printed. */
static int
restore_cluster(RestoreOptions *o, json_object **result, Error *err)
{
    Pool *pool;
    if (pool_open(o->co.pool, &pool, err) != 0)
        return -1;
    /* A new cluster gets a directory of its own: anything already there is
     * someone's, and a restore must not mix its files with it. */
    bool dir_empty;
    if (dir_is_empty(o->dir, &dir_empty, err) != 0)
    {
        pool_close(pool);
        return -1;
    }
    if (!dir_empty)
    {
        pool_close(pool);
        return error_set(err, "directory %s is not empty: a restore needs a new or empty --dir", o->dir);
    }
    Plan p;
    int rc = make_plan(pool, o, &p, err);
    if (rc == 0 && o->target.kind == TARGET_TIME)
        log_info("target time %s: restoring to CP %s at %s, %.3f s before it", o->target.text, p.cp->name,
                 p.cp->time_text, o->target.time - p.cp->time);
    if (rc == 0 && o->shard)
    {
        rc = shard_restore(o, pool, &p, result, err);
        plan_free(&p);
        pool_close(pool);
        return rc;
    }
    Topology src = {0}, t = {0};
    bool have_src = false, have_new = false;
    if (rc == 0)
    {
        json_object *tj;
        json_object_object_get_ex(p.backup, "topology", &tj);
        rc = topology_from_json(json_object_to_json_string(tj), "the backup's topology", &src, err);
        have_src = rc == 0;
    }
    if (rc == 0)
    {
        rc = new_topology(o, &src, &t, err);
        have_new = rc == 0;
    }
    if (rc == 0)
        rc = check_free(&t, err);
    char *sockdir = xprintf("%s/sock", o->dir);
    if (rc == 0)
        rc = mkdir_p(sockdir, 0700, err);
    double t0 = now_seconds();
    bool started = false;   /* from here on, a failure has instances to stop */

    /* 3. Every set's primary, in parallel, to the CP. */
    size_t nsets = 1 + t.nshards;
    PrimaryJob *jobs = xcalloc(nsets, sizeof(PrimaryJob));
    const ReplicaSet **sets = xcalloc(nsets, sizeof(ReplicaSet *));
    if (rc == 0)
    {
        sets[0] = &t.meta;
        for (size_t i = 0; i < t.nshards; i++)
            sets[i + 1] = &t.shards[i];
        for (size_t i = 0; i < nsets && rc == 0; i++)
        {
            const TopoNode *primary = topology_primary(sets[i]);
            const char *backup = node_backup_of(p.backup, sets[i]->name);
            if (!primary || !backup)
                rc = error_set(err, "cluster backup %s has no backup of replica set %s", jstring(p.backup, "id"),
                               sets[i]->name);
            else
                primary_job_setup(&jobs[i], o, sets[i]->name, primary, backup, p.cp->name, o->to, sockdir);
        }
        if (rc == 0)
        {
            const char **names = xcalloc(nsets, sizeof(char *));
            for (size_t i = 0; i < nsets; i++)
                names[i] = sets[i]->name;
            rc = wait_cp_wal(pool, o, &p, names, nsets, 60, err);
            free(names);
        }
        if (rc == 0)
        {
            log_info("restoring %zu replica set(s) of %s to CP %s into %s", nsets, o->cluster, p.cp->name, o->dir);
            started = true;
            rc = run_primary_jobs(jobs, nsets, err);
        }
    }
    /* 4. Standbys from the new primaries; compute nodes on the new shards. */
    char *bin = rc == 0 ? pg_bin_dir(o->pg_bin, 150000) : NULL;
    for (size_t i = 0; i < nsets && rc == 0; i++)
    {
        const TopoNode *primary = topology_primary(sets[i]);
        for (size_t k = 0; k < sets[i]->nnodes && rc == 0; k++)
            if (sets[i]->nodes[k].role == NODE_STANDBY)
                rc = build_standby(o, bin, primary, &sets[i]->nodes[k], sockdir, err);
    }
    for (size_t i = 0; i < t.ncompute && rc == 0; i++)
        rc = build_compute(bin, &t, &t.compute[i], sockdir, err);
    /* 5. and 6. */
    if (rc == 0)
        rc = rewrite_catalog(&src, &t, err);
    ResolveStats rs = {0};
    if (rc == 0)
    {
        char *meta = topology_meta_conninfo(&t, err);
        ResolveShard *rsh = xcalloc(t.nshards ? t.nshards : 1, sizeof(ResolveShard));
        char **cis = xcalloc(t.nshards ? t.nshards : 1, sizeof(char *));
        for (size_t i = 0; i < t.nshards; i++)
        {
            cis[i] = topology_shard_conninfo(&t, &t.shards[i], err);
            rsh[i] = (ResolveShard){t.shards[i].name, cis[i]};
        }
        rc = meta ? resolve_prepared(meta, NULL, rsh, t.nshards, &rs, err) : -1;
        for (size_t i = 0; i < t.nshards; i++)
            free(cis[i]);
        free(cis);
        free(rsh);
        free(meta);
    }
    if (rc == 0 && result)
        *result = report_json(o, &p, &t, &rs, now_seconds() - t0);
    else if (rc == 0)
        report(o, &p, &t, &rs, now_seconds() - t0);
    else
    {
        /* A partial restore (--shard, no --to) makes no new cluster. */
        char what[256];
        if (o->to)
            snprintf(what, sizeof(what), "restore of cluster %s into %s", o->cluster, o->to);
        else
            snprintf(what, sizeof(what), "restore of shard %s of cluster %s", o->shard ? o->shard : "?", o->cluster);
        if (have_new && started)
        {
            undo_new_cluster(&t);
            error_prefix(err, "%s failed (its instances were stopped and its directories emptied): ", what);
        }
        else
            error_prefix(err, "%s: nothing was started: ", what);
    }
    for (size_t i = 0; i < nsets; i++)
        if (jobs[i].node)
            primary_job_free(&jobs[i]);
    free(jobs);
    free(sets);
    free(bin);
    free(sockdir);
    if (have_src)
        topology_free(&src);
    if (have_new)
        topology_free(&t);
    plan_free(&p);
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
