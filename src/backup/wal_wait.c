#include "backup/wal_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "archive/archive.h"
#include "common/log.h"
#include "common/util.h"
#include "pg/conn.h"

/* Asks for a segment switch, on the primary (from a standby) or on the
 * instance itself; a failure is only logged: the wait goes on. */
static void
request_switch(PGconn **primary, bool *primary_tried, const char *primary_conninfo, bool from_standby, PGconn *self,
               const char *segment)
{
    PGconn *c = self;
    if (from_standby)
    {
        if (!*primary && !*primary_tried)
        {
            *primary_tried = true;
            Error perr;
            *primary = pg_connect(primary_conninfo, "primary", &perr);
            if (!*primary)
                log_warn("%s; waiting for the primary to archive %s on its own", perr.msg, segment);
        }
        c = *primary;
    }
    if (!c)
        return;
    Error perr;
    PGresult *r = pg_exec(c, from_standby ? "primary" : "instance", "SELECT pg_switch_wal()", 0, NULL, &perr);
    if (!r)
        log_warn("%s", perr.msg);
    PQclear(r);
}

int
backup_wait_for_segments(Pool *pool, const BackupOptions *o, char (*names)[WAL_NAME_LEN + 1], size_t n,
                         bool from_standby, const char *primary_conninfo, PGconn *self, const char *why, Error *err)
{
    PGconn *primary = NULL;
    bool primary_tried = false;
    double deadline = now_seconds() + o->archive_timeout, last_switch = 0;
    long poll_ms = 10;   /* the segment usually arrives within milliseconds of the switch */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;)
    {
        if (backup_cancelled(o))
        {
            rc = error_set(err, BACKUP_CANCELLED_MSG " while waiting for WAL segment %s", names[i]);
            break;
        }
        WalObject obj;
        bool found;
        if ((rc = archive_find(pool, o->co.node, names[i], &obj, &found, err)) != 0)
            break;
        if (found)
        {
            Stage *sink = stage_discard_new();
            rc = archive_fetch(pool, &obj, sink, err);
            stage_free(sink);
            wal_object_free(&obj);
            i++;
            poll_ms = 10;
            continue;
        }
        if (now_seconds() > deadline)
        {
            rc = error_set(err,
                           "WAL segment %s (%s) did not reach pool %s node %s "
                           "within %d s: is archive_command 'strata wal-push --pool %s --node %s %%p' set on the "
                           "primary? (see strata check)",
                           names[i], why, pool->location, o->co.node, o->archive_timeout, pool->location, o->co.node);
            break;
        }
        /* The last segment is still being filled: ask for a switch, now
         * and then while we wait. */
        if ((from_standby || self) && now_seconds() - last_switch > 5)
        {
            request_switch(&primary, &primary_tried, primary_conninfo, from_standby, self, names[i]);
            last_switch = now_seconds();
        }
        sleep_ms(poll_ms);
        poll_ms = poll_ms * 2 > 200 ? 200 : poll_ms * 2;
    }
    PQfinish(primary);
    return rc;
}
