/* strata.commit_log, strata.consistency_points, strata.backups: see
 * history.h. */
#include "catalog/history.h"

#include <stdio.h>
#include <stdlib.h>

#include "catalog/sql.h"
#include "pg/conn.h"

int
catalog_commit_decided_at(PGconn *meta, const char *what, const char *gtxid, bool *found, double *epoch,
                          uint32_t *xid, Error *err)
{
    const char *p[1] = {gtxid};
    PGresult *r = pg_exec(meta, what,
                          "SELECT extract(epoch from decided_at)::text, xmin::text FROM strata.commit_log "
                          "WHERE gtxid = $1", 1, p, err);
    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    if (*found)
        *epoch = strtod(PQgetvalue(r, 0, 0), NULL);
    if (*found && xid)
        *xid = (uint32_t) strtoul(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

PGresult *
catalog_commit_decisions(PGconn *meta, const char *what, const char *xids, const char *decided_before, Error *err)
{
    const char *p[2] = {xids, decided_before};
    return pg_exec(meta, what,
                   "SELECT gtxid, (extract(epoch from decided_at) * 1000000)::bigint::text FROM strata.commit_log "
                   "WHERE ($1::bigint[] IS NULL AND $2::float8 IS NULL) OR xmin::text::bigint = ANY ($1::bigint[]) "
                   "OR decided_at <= to_timestamp($2::float8)",
                   2, p, err);
}

int
catalog_commit_decided(PGconn *meta, const char *what, const char *gtxid, const char *decided_before, bool *decided,
                       Error *err)
{
    const char *p[2] = {gtxid, decided_before};
    PGresult *r = pg_exec(meta, what,
                          "SELECT count(*) FROM strata.commit_log WHERE gtxid = $1 "
                          "AND ($2::timestamptz IS NULL OR decided_at <= $2::timestamptz)",
                          2, p, err);
    if (!r)
        return -1;
    *decided = atol(PQgetvalue(r, 0, 0)) > 0;
    PQclear(r);
    return 0;
}

void
catalog_commit_log_barrier_sql(char *buf, size_t size, int try_ms)
{
    snprintf(buf, size,
             "BEGIN; "
             "DO $barrier$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN "
             "  LOOP "
             "    BEGIN "
             "      LOCK TABLE strata.commit_log IN SHARE MODE NOWAIT; "
             "      EXIT; "
             "    EXCEPTION WHEN lock_not_available THEN "
             "      EXIT WHEN clock_timestamp() - t0 > interval '%d milliseconds'; "
             "      PERFORM pg_sleep(0.0002); "
             "    END; "
             "  END LOOP; "
             "  PERFORM set_config('strata.cp_tried_ms', "
             "                     (extract(epoch FROM clock_timestamp() - t0) * 1000)::text, true); "
             "  PERFORM set_config('strata.cp_granted', clock_timestamp()::text, true); "
             "END $barrier$; "
             "LOCK TABLE strata.commit_log IN SHARE MODE; "
             "SELECT current_setting('strata.cp_tried_ms'), (extract(epoch FROM clock_timestamp() - "
             "       current_setting('strata.cp_granted')::timestamptz) * 1000)::text",
             try_ms);
}

int
catalog_cp_insert(PGconn *meta, const char *what, const char *name, const char *cluster, const char *created_at,
                  const char *pause_ms, const char *lsns, Error *err)
{
    const char *p[5] = {name, cluster, created_at, pause_ms, lsns};
    PGresult *r = pg_exec(meta, what,
                          "INSERT INTO strata.consistency_points (name, cluster, created_at, pause_ms, lsns) "
                          "VALUES ($1, $2, $3::timestamptz, $4::double precision, $5::jsonb)",
                          5, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int
catalog_cp_delete(PGconn *meta, const char *cluster, const char *name, Error *err)
{
    const char *p[2] = {cluster, name};
    return catalog_run(meta, "removing the consistency point's row", PGRES_COMMAND_OK,
                       "DELETE FROM strata.consistency_points WHERE cluster = $1 AND name = $2", 2, p, err);
}

int
catalog_backup_record_cluster(PGconn *meta, const char *cluster, const char *id, const char *manifest, Error *err)
{
    const char *p[3] = {cluster, id, manifest};
    return catalog_run(meta, "recording the cluster backup", PGRES_COMMAND_OK,
                       "INSERT INTO strata.backups (cluster, id, kind, node, status, started_at, finished_at, "
                       "info) VALUES ($1, $2, 'cluster', '', 'complete', "
                       "to_timestamp(($3::jsonb->>'started_epoch')::float8), now(), $3::jsonb) "
                       "ON CONFLICT (cluster, id, node) DO UPDATE SET status = 'complete', info = EXCLUDED.info",
                       3, p, err);
}

int
catalog_backup_record_node(PGconn *meta, const char *cluster, const char *id, const char *pool_node,
                           const char *node_info, const char *manifest, Error *err)
{
    const char *p[5] = {cluster, id, pool_node, node_info, manifest};
    return catalog_run(meta, "recording the node backup", PGRES_COMMAND_OK,
                       "INSERT INTO strata.backups (cluster, id, kind, node, status, started_at, finished_at, info) "
                       "VALUES ($1, $2, 'node', $3, 'complete', "
                       "to_timestamp(($5::jsonb->>'started_epoch')::float8), now(), $4::jsonb) "
                       "ON CONFLICT (cluster, id, node) DO UPDATE SET status = 'complete', info = EXCLUDED.info",
                       5, p, err);
}

int
catalog_backup_mark_expired(PGconn *meta, const char *cluster, const char *id, Error *err)
{
    const char *p[2] = {cluster, id};
    return catalog_run(meta, "marking the backup expired", PGRES_COMMAND_OK,
                       "UPDATE strata.backups SET status = 'expired' WHERE cluster = $1 AND id = $2", 2, p, err);
}
