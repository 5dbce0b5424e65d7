/* The retentions a backup's scope has from its cluster's backup policies
 * (strata.policies, manager/policy.c), for the retention after a backup. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "expire/auto_expire.h"

int
retention_policies_load(PGconn *meta, const char *cluster, const char *shard, RetentionPolicy **out, size_t *n,
                        Error *err)
{
    *out = NULL;
    *n = 0;
    const char *params[2] = {cluster, shard};
    /* No table: no cluster manager ever ran on this catalog, no policy. */
    PGresult *r = PQexec(meta, "SELECT to_regclass('strata.policies') IS NOT NULL");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && !have)
    {
        PQclear(r);
        return 0;
    }
    if (have)
    {
        PQclear(r);
        r = PQexecParams(meta,
                         "SELECT id, coalesce(keep_last, 0), coalesce(keep_days, 0) FROM strata.policies "
                         "WHERE cluster = $1 AND shard IS NOT DISTINCT FROM $2 "
                         "AND (keep_last IS NOT NULL OR keep_days IS NOT NULL) ORDER BY id",
                         2, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(meta));
        msg[strcspn(msg, "\n")] = '\0';
        PQclear(r);
        return error_set(err, "reading the backup policies of cluster %s%s%s: %s", cluster, shard ? " shard " : "",
                         shard ? shard : "", msg);
    }
    *n = (size_t) PQntuples(r);
    *out = *n ? xcalloc(*n, sizeof(RetentionPolicy)) : NULL;
    for (size_t i = 0; i < *n; i++)
    {
        (*out)[i].id = atoll(PQgetvalue(r, (int) i, 0));
        (*out)[i].keep_last = atoi(PQgetvalue(r, (int) i, 1));
        (*out)[i].keep_days = atoi(PQgetvalue(r, (int) i, 2));
    }
    PQclear(r);
    return 0;
}
