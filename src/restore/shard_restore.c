/* strata restore --cluster C --shard S: one shard alone, into one new
 * instance, to a CP or to the end of the archived WAL, archiving into a
 * pool node of its own (identity.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "consistency/cp_store.h"
#include "pg/conn.h"
#include "restore/cluster_restore_internal.h"
#include "restore/identity.h"
#include "restore/start.h"

/* Where recovery of a shard restored to --latest ended: its last replayed
 * LSN and transaction, read from the new instance. */
static void
reached_point(const TopoNode *n, char *lsn, size_t lsnlen, char *when, size_t whenlen)
{
    snprintf(lsn, lsnlen, "?");
    when[0] = '\0';
    char *ci = topology_conninfo(n, "postgres");
    Error e;
    PGconn *c = pg_connect(ci, n->name, &e);
    free(ci);
    PGresult *r = c ? pg_exec(c, n->name, "SELECT coalesce(pg_last_wal_replay_lsn()::text, '?'), "
                                          "coalesce(pg_last_xact_replay_timestamp()::text, '')", 0, NULL, &e)
                    : NULL;
    if (r && PQntuples(r) == 1)
    {
        snprintf(lsn, lsnlen, "%s", PQgetvalue(r, 0, 0));
        snprintf(when, whenlen, "%s", PQgetvalue(r, 0, 1));
    }
    else
        log_warn("could not read where recovery of %s ended: %s", n->name, e.msg);
    PQclear(r);
    PQfinish(c);
}

/* The report of a shard restore: what was done. --latest replays all the
 * archived WAL, past the last CP: then it names no CP but the LSN reached. */
static json_object *
shard_report_json(const RestoreOptions *o, const Plan *p, const ResolveStats *rs, double secs, bool latest,
                  const TopoNode *target, const char *archive_node)
{
    json_object *r = report_json(o, p, NULL, rs, secs);
    if (latest)
    {
        char lsn[32], when[64];
        reached_point(target, lsn, sizeof(lsn), when, sizeof(when));
        json_object_object_add(r, "cp", NULL);
        json_object_object_add(r, "cp_time", NULL);
        json_object_object_add(r, "reached_lsn", json_object_new_string(lsn));
        json_object_object_add(r, "reached_time", json_object_new_string(when));
    }
    char *address = xprintf("%s:%d", target->host, target->port);
    json_object_object_add(r, "shard", json_object_new_string(o->shard));
    json_object_object_add(r, "host", json_object_new_string(target->host));
    json_object_object_add(r, "port", json_object_new_int(target->port));
    json_object_object_add(r, "address", json_object_new_string(address));
    json_object_object_add(r, "data_dir", json_object_new_string(target->data_dir));
    json_object_object_add(r, "archive_node", json_object_new_string(archive_node));
    free(address);
    return r;
}

static void
shard_report_text(const RestoreOptions *o, const Plan *p, json_object *r, bool latest)
{
    if (latest)
        printf("restored shard %s of cluster %s from cluster backup %s to the end of the archived WAL (LSN %s, last "
               "transaction at %s): past the last consistency point, so not consistent with other shards' restores\n",
               o->shard, o->cluster, jstring(p->backup, "id"), jstring(r, "reached_lsn"),
               *jstring(r, "reached_time") ? jstring(r, "reached_time") : "(none replayed)");
    else
        printf("restored shard %s of cluster %s from cluster backup %s to consistency point %s (%s)\n", o->shard,
               o->cluster, jstring(p->backup, "id"), p->cp->name, p->cp->time_text);
    if (o->target.kind == TARGET_TIME)
        printf("  target time %s: the latest CP at or before it is %.3f s earlier\n", o->target.text,
               o->target.time - p->cp->time);
    if (o->gtxid)
        printf("  global transaction %s: the first CP after its decision\n", o->gtxid);
    printf("  in-doubt transactions resolved: %d committed, %d rolled back; %.1f s\n",
           json_object_get_int(json_object_object_get(r, "committed_in_doubt")),
           json_object_get_int(json_object_object_get(r, "rolled_back_in_doubt")),
           json_object_get_double(json_object_object_get(r, "duration")));
    printf("  shard %s: %s, %s; archives into pool node %s\n", o->shard, jstring(r, "address"),
           jstring(r, "data_dir"), jstring(r, "archive_node"));
}

/* One shard alone, into one new instance at --base-port, archiving into a
 * pool node of its own. */
int
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
    bool latest = o->target.kind == TARGET_LATEST && !o->cp && !o->gtxid;
    TopoNode target = {0};
    char *sockdir = xprintf("%s/sock", o->dir);
    char *archive_node = NULL;
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
    }
    if (rc == 0 && o->to)
    {
        const char *sets[] = {o->shard};
        rc = restored_cluster_identity_check(pool, o->to, sets, 1, err);
        if (rc == 0)
            archive_node = xprintf("%s/%s", o->to, o->shard);
    }
    else if (rc == 0)
    {
        char *src_node = xprintf("%s/%s", o->cluster, o->shard);
        rc = restored_shard_identity(pool, o->cluster, o->shard, src_node, &archive_node, err);
        free(src_node);
    }
    if (rc == 0)
        rc = mkdir_p(sockdir, 0700, err);
    double t0 = now_seconds();
    ResolveStats rs = {0};
    if (rc == 0)
    {
        PrimaryJob job = {0};
        char *archive_to = xprintf("%.*s", (int) (strrchr(archive_node, '/') - archive_node), archive_node);
        primary_job_setup(&job, o, o->shard, &target, node_backup_of(p->backup, o->shard),
                          latest ? NULL : p->cp->name, archive_to, sockdir);
        if (job.opt.target.kind == TARGET_NAME)   /* the CP's position: the WAL check needs no more */
            job.opt.target.lsn = cp_member_lsn(p->cp, o->shard);
        rc = run_primary_jobs(&job, 1, err);
        primary_job_free(&job);
        free(archive_to);
    }
    if (rc == 0 && o->meta_conn)
    {
        char *meta = conninfo_with_dbname(o->meta_conn, CATALOG_DEFAULT_DB);
        char *ci = topology_conninfo(&target, src.database);
        ResolveShard rsh = {o->shard, ci};
        rc = resolve_prepared(meta, latest ? NULL : p->cp->time_text, &rsh, 1, &rs, err);
        free(ci);
        free(meta);
    }
    else if (rc == 0)
        log_warn("no --meta-conn: prepared transactions on the restored shard are left in doubt");
    if (rc == 0)
    {
        json_object *r = shard_report_json(o, p, &rs, now_seconds() - t0, latest, &target, archive_node);
        if (result)
            *result = r;
        else
        {
            if (o->co.json)
                cli_json_result(json_object_get(r));
            else
                shard_report_text(o, p, r, latest);
            json_object_put(r);
        }
    }
    else if (archive_node && target.data_dir)
    {
        /* Nothing of a failed shard restore may run or look usable, and
         * its pool identity is free again. */
        instance_stop(target.data_dir);
        Error e;
        if (remove_tree_contents(target.data_dir, &e) != 0)
            log_warn("%s", e.msg);
        rmdir(target.data_dir);
        restored_identity_release(pool, archive_node);
    }
    free(archive_node);
    free(target.data_dir);
    free(sockdir);
    topology_free(&src);
    return rc;
}

