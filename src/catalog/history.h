/* What the catalog records of the cluster's history: the global commit
 * log (strata.commit_log, DESIGN §1), consistency points
 * (strata.consistency_points) and backups (strata.backups). The pool is
 * the reference for CPs and backups; these rows are the catalog's copy. */
#ifndef STRATA_CATALOG_HISTORY_H
#define STRATA_CATALOG_HISTORY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* *found and *epoch: when global transaction gtxid's commit was decided;
 * *xid (when not NULL): the transaction that recorded the decision (the
 * row's xmin). */
int catalog_commit_decided_at(PGconn *meta, const char *what, const char *gtxid, bool *found, double *epoch,
                              uint32_t *xid, Error *err);
/* The commit log's decisions, rows (gtxid, decided_at in Unix
 * microseconds as text): every one when xids and decided_before are both
 * NULL; otherwise those recorded by a transaction in xids (an array text,
 * "{1,2}") or decided at or before decided_before (Unix epoch text).
 * Caller PQclears. */
PGresult *catalog_commit_decisions(PGconn *meta, const char *what, const char *xids, const char *decided_before,
                                   Error *err);
/* *decided: whether gtxid has a commit decision (at or before
 * decided_before, a timestamptz text, when not NULL). */
int catalog_commit_decided(PGconn *meta, const char *what, const char *gtxid, const char *decided_before,
                           bool *decided, Error *err);
/* The CP barrier's script (cp.c): in a transaction, takes the commit log's
 * SHARE lock, trying with NOWAIT for try_ms first; returns one row: the
 * milliseconds spent trying, the milliseconds since the grant. Written
 * into buf. */
void catalog_commit_log_barrier_sql(char *buf, size_t size, int try_ms);

/* A CP's row: created_at a timestamptz text, lsns a JSON object text. */
int catalog_cp_insert(PGconn *meta, const char *what, const char *name, const char *cluster, const char *created_at,
                      const char *pause_ms, const char *lsns, Error *err);
int catalog_cp_delete(PGconn *meta, const char *cluster, const char *name, Error *err);

/* A completed cluster backup's row (kind 'cluster', node '') with its
 * manifest, and a row per node backup (kind 'node', node its pool node). */
int catalog_backup_record_cluster(PGconn *meta, const char *cluster, const char *id, const char *manifest,
                                  Error *err);
int catalog_backup_record_node(PGconn *meta, const char *cluster, const char *id, const char *pool_node,
                               const char *node_info, const char *manifest, Error *err);
/* The backup's rows are marked expired. */
int catalog_backup_mark_expired(PGconn *meta, const char *cluster, const char *id, Error *err);

#endif
