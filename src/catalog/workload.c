/* strata.workload and the workload's commit log: see workload.h. */
#include "catalog/workload.h"

#include "pg/conn.h"

const char catalog_commit_log_scan_sql[] =
    "SELECT gtxid, array_to_string(participants, ',') FROM strata.commit_log ORDER BY gtxid COLLATE \"C\"";

PGresult *
catalog_commit_log_record(PGconn *meta, const char *gtxid, const char *participants)
{
    const char *p[2] = {gtxid, participants};
    return PQexecParams(meta, "INSERT INTO strata.commit_log (gtxid, participants) VALUES ($1, $2::text[])", 2, NULL,
                        p, NULL, NULL, 0);
}

int
catalog_workload_reset(PGconn *meta, const char *what, const char *cluster, const char *initial_total,
                       const char *accounts, Error *err)
{
    const char *p[3] = {cluster, initial_total, accounts};
    PGresult *r = pg_exec(meta, what, "BEGIN", 0, NULL, err);
    if (!r)
        return -1;
    PQclear(r);
    r = pg_exec(meta, what, "DELETE FROM strata.commit_log", 0, NULL, err);
    if (r)
    {
        PQclear(r);
        r = pg_exec(meta, what,
                    "INSERT INTO strata.workload (cluster, initial_total, accounts) VALUES ($1, $2::bigint, $3::int) "
                    "ON CONFLICT (cluster) DO UPDATE SET initial_total = excluded.initial_total, "
                    "accounts = excluded.accounts",
                    3, p, err);
    }
    if (r)
    {
        PQclear(r);
        r = pg_exec(meta, what, "COMMIT", 0, NULL, err);
    }
    if (!r)
    {
        PQclear(PQexec(meta, "ROLLBACK"));
        return -1;
    }
    PQclear(r);
    return 0;
}

PGresult *
catalog_workload_row(PGconn *meta, const char *what, const char *cluster, const char *origin, Error *err)
{
    const char *p[2] = {cluster, origin};
    return pg_exec(meta, what,
                   "SELECT cluster, initial_total, accounts FROM strata.workload "
                   "WHERE cluster IN ($1, $2) ORDER BY cluster = $1 DESC LIMIT 1",
                   2, p, err);
}
