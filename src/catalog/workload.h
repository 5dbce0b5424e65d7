/* The bank workload's rows in the catalog (DESIGN §4): strata.workload (a
 * cluster's bank: its initial total and accounts) and the commit log as
 * the workload's coordinator writes and the checker reads it. */
#ifndef STRATA_CATALOG_WORKLOAD_H
#define STRATA_CATALOG_WORKLOAD_H

#include <libpq-fe.h>

#include "common/error.h"

/* The coordinator's commit decision for gtxid (participants a text[]
 * literal): the raw result, for the caller to tell a lost connection from
 * a refused insert (its SQLSTATE). Caller PQclears. */
PGresult *catalog_commit_log_record(PGconn *meta, const char *gtxid, const char *participants);
/* Every decision (gtxid, participants comma-separated), by gtxid in byte
 * order: the query text, for a streamed read. */
extern const char catalog_commit_log_scan_sql[];

/* A new bank: the commit log emptied (its entries named transfers of the
 * bank it replaces) and the workload row of `cluster` recorded, in one
 * transaction. */
int catalog_workload_reset(PGconn *meta, const char *what, const char *cluster, const char *initial_total,
                           const char *accounts, Error *err);
/* The workload row of `cluster`, else of `origin` (the cluster it was
 * restored from): cluster, initial_total, accounts; no row when neither
 * has one. Caller PQclears. */
PGresult *catalog_workload_row(PGconn *meta, const char *what, const char *cluster, const char *origin, Error *err);

#endif
