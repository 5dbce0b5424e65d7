/* The consistency check of DESIGN §5 as a library call (strata
 * check-consistency is its command). */
#ifndef STRATA_CHECK_CONSISTENCY_H
#define STRATA_CHECK_CONSISTENCY_H

#include <json-c/json.h>
#include <stddef.h>

#include "common/error.h"

/* Checks cluster `cluster`, whose catalog is on `meta_conn` (the cluster's
 * own metadata primary). *report is what `check-consistency --output json`
 * prints plus "summary", a one-line verdict; "consistent" is false when any
 * check found a violation (listed per check, at most max_report each).
 * -1 only when the check could not run (connection, no workload row). */
int check_consistency_json(const char *meta_conn, const char *cluster, size_t max_report, json_object **report,
                           Error *err);

#endif
