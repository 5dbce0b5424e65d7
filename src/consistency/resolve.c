#include "consistency/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/history.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

int
resolve_prepared(const char *meta_conninfo, const char *decided_before, const ResolveShard *shards, size_t n,
                 ResolveStats *stats, Error *err)
{
    memset(stats, 0, sizeof(*stats));
    PGconn *meta = pg_connect(meta_conninfo, "metadata primary", err);
    if (!meta)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        char what[160];
        snprintf(what, sizeof(what), "restored %s primary", shards[i].set);
        PGconn *c = pg_connect(shards[i].conninfo, what, err);
        if (!c)
        {
            rc = -1;
            break;
        }
        PGresult *px = pg_exec(c, what, "SELECT gid, database FROM pg_prepared_xacts ORDER BY gid", 0, NULL, err);
        PQfinish(c);
        if (!px)
        {
            rc = -1;
            break;
        }
        for (int k = 0; k < PQntuples(px) && rc == 0; k++)
        {
            const char *gid = PQgetvalue(px, k, 0), *db = PQgetvalue(px, k, 1);
            bool decided;
            if (catalog_commit_decided(meta, "metadata primary", gid, decided_before, &decided, err) != 0)
            {
                rc = -1;
                break;
            }
            /* A prepared transaction is finished from a session in its own database. */
            char *ci = conninfo_with_dbname(shards[i].conninfo, db);
            PGconn *dc = pg_connect(ci, what, err);
            free(ci);
            if (!dc)
            {
                rc = -1;
                break;
            }
            /* The gid is an identifier-like literal; quote it as a string. */
            char *lit = PQescapeLiteral(dc, gid, strlen(gid));
            char *sql = xprintf("%s PREPARED %s", decided ? "COMMIT" : "ROLLBACK", lit);
            PQfreemem(lit);
            PGresult *r = pg_exec(dc, what, sql, 0, NULL, err);
            if (!r)
                rc = error_prefix(err, "resolving in-doubt transaction %s: ", gid);
            else if (decided)
                stats->committed++;
            else
                stats->rolled_back++;
            PQclear(r);
            free(sql);
            PQfinish(dc);
        }
        PQclear(px);
    }
    PQfinish(meta);
    return rc;
}
