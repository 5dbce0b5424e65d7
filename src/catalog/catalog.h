/* strata's catalog in the metadata database (DESIGN §1): schema `strata`
 * with the cluster topology, the global two-phase commit log, consistency
 * points, backups and the workload generator's bookkeeping. */
#ifndef STRATA_CATALOG_H
#define STRATA_CATALOG_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/error.h"

/* The metadata database when a conninfo names none. */
#define CATALOG_DEFAULT_DB "strata"

/* The DDL, idempotent (IF NOT EXISTS throughout). */
extern const char catalog_sql[];

/* Creates whatever of the catalog is missing. Safe to run concurrently:
 * it serialises on an advisory lock inside one transaction. */
int catalog_ensure(PGconn *meta, Error *err);

/* Connects to the metadata database `conninfo` names (CATALOG_DEFAULT_DB
 * when it names none). With create_db, a missing database is created
 * first (through the server's `postgres` database). */
PGconn *catalog_connect(const char *conninfo, bool create_db, Error *err);

/* conninfo (keyword/value or URI) with its dbname replaced by db: a
 * keyword/value string with every value quoted. Caller frees. */
char *conninfo_with_dbname(const char *conninfo, const char *db);

#endif
