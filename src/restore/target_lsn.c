#include "restore/target_lsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consistency/cp_store.h"
#include "wal/restore_point.h"
#include "wal/xact_search.h"
#include "common/util.h"

/* The CP named `name` of the cluster `node` belongs to: its LSN on the
 * node's replica set, 0 when there is none. */
static int
cp_restore_point_lsn(Pool *pool, const char *node, const char *name, Lsn *lsn, char *by, size_t bylen, Error *err)
{
    *lsn = 0;
    const char *slash = strrchr(node, '/');
    if (!slash)
        return 0;   /* not a cluster's node: no CPs */
    char *cluster = xprintf("%.*s", (int) (slash - node), node);
    ConsistencyPoint *cps;
    size_t n;
    int rc = cp_list_pool(pool, cluster, &cps, &n, err);
    if (rc == 0)
    {
        for (size_t i = 0; i < n; i++)
            if (!strcmp(cps[i].name, name))
            {
                *lsn = cp_member_lsn(&cps[i], slash + 1);
                if (*lsn)
                    snprintf(by, bylen, "consistency point %s of cluster %s", name, cluster);
            }
        cp_list_free(cps, n);
    }
    else
        error_prefix(err, "reading the consistency points of cluster %s: ", cluster);
    free(cluster);
    return rc;
}

/* Every restore point named `name` in the node's archived WAL (the latest
 * timeline's history), by the WAL decoder: their end LSNs in *points. */
static int
wal_restore_points(Pool *pool, const char *node, const char *name, Lsn **points, size_t *n, Error *err)
{
    WalRestorePointMatch *m = NULL;
    if (wal_find_restore_points(pool, node, 0, name, &m, n, err) != 0)
        return -1;
    *points = xcalloc(*n ? *n : 1, sizeof(Lsn));
    for (size_t i = 0; i < *n; i++)
        (*points)[i] = m[i].end;
    free(m);
    return 0;
}

/* An xid by its commit or abort records in the archived WAL: recovery
 * stops after the record, or before it with --exclusive. */
static int
place_xid(Pool *pool, const char *node, const Target *t, bool exclusive, SelectTarget *st, char *unresolved,
          size_t unresolved_len, Error *err)
{
    WalXactEnd *ends = NULL;
    size_t n = 0;
    Error werr;
    if (wal_find_xact_ends(pool, node, 0, t->xid, &ends, &n, &werr) != 0)
    {
        snprintf(unresolved, unresolved_len,
                 "transaction %s could not be searched for in the archived WAL of node %s (%s): taking the newest "
                 "backup; if it ended before that backup's end the restore fails and the directory is emptied (then "
                 "give --backup)", t->text, node, werr.msg);
        return 0;
    }
    if (n == 0)
    {
        free(ends);
        return error_set(err, "transaction %s has no commit or abort record in the archived WAL of node %s: nothing "
                              "to restore to (still running, or its segment not archived yet: pg_switch_wal() "
                              "archives it)", t->text, node);
    }
    Lsn *points = xcalloc(n, sizeof(Lsn));
    for (size_t i = 0; i < n; i++)
        points[i] = exclusive ? ends[i].lsn : ends[i].end;
    free(ends);
    st->points = points;
    st->npoints = n;
    snprintf(st->resolved_by, sizeof(st->resolved_by), "its %s in the archived WAL of node %s",
             n > 1 ? "end records (the 32-bit id occurs more than once: recovery stops at the first after the "
                     "backup's start)" : "end record", node);
    return 0;
}

int
target_resolve_lsn(Pool *pool, const char *node, const Target *t, bool exclusive, SelectTarget *st,
                   char *unresolved, size_t unresolved_len, Error *err)
{
    memset(st, 0, sizeof(*st));
    st->kind = t->kind;
    st->text = t->text;
    st->lsn = t->kind == TARGET_LSN ? t->lsn : 0;
    st->time = t->time;
    st->exclusive = exclusive;
    unresolved[0] = '\0';
    if (t->kind == TARGET_NAME)
    {
        Lsn cp_lsn;
        if (cp_restore_point_lsn(pool, node, t->text, &cp_lsn, st->resolved_by, sizeof(st->resolved_by), err) != 0)
            return -1;
        Lsn *points = NULL;
        size_t n = 0;
        if (cp_lsn)
        {
            points = xcalloc(1, sizeof(Lsn));
            points[n++] = cp_lsn;
        }
        else
        {
            Error werr;
            if (wal_restore_points(pool, node, t->text, &points, &n, &werr) != 0)
            {
                snprintf(unresolved, unresolved_len,
                         "restore point '%s' could not be searched for in the archived WAL of node %s (%s): taking "
                         "the newest backup; if PostgreSQL finds the restore point before that backup's end, the "
                         "restore fails and the directory is emptied (then give --backup)", t->text, node, werr.msg);
                return 0;
            }
            if (n == 0)
            {
                free(points);
                return error_set(err, "restore point '%s' is neither a consistency point of node %s's cluster nor "
                                      "in its archived WAL: nothing to restore to (a restore point created moments "
                                      "ago may sit in a segment not archived yet: pg_switch_wal() archives it)",
                                 t->text, node);
            }
            snprintf(st->resolved_by, sizeof(st->resolved_by), "the archived WAL of node %s%s", node,
                     n > 1 ? " (the name occurs more than once: recovery stops at the first after the backup's "
                             "start)" : "");
        }
        st->points = points;
        st->npoints = n;
    }
    else if (t->kind == TARGET_XID)
        return place_xid(pool, node, t, exclusive, st, unresolved, unresolved_len, err);
    return 0;
}

void
target_resolved_free(SelectTarget *st)
{
    free((Lsn *) st->points);
    st->points = NULL;
    st->npoints = 0;
}
