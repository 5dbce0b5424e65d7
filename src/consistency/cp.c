#include "consistency/cp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "catalog/history.h"
#include "common/util.h"
#include "pg/conn.h"

void
cp_default_name(const char *cluster, char out[CP_NAME_MAX + 1])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", &tm);
    snprintf(out, CP_NAME_MAX + 1, "cp-%.24s-%.15s.%03dZ", cluster, ts, (int) (tv.tv_usec / 1000) % 1000);
}

void
cp_free(ConsistencyPoint *cp)
{
    for (size_t i = 0; i < cp->nmembers; i++)
    {
        free(cp->members[i].set);
        free(cp->members[i].conninfo);
    }
    free(cp->members);
    cp->members = NULL;
    cp->nmembers = 0;
}

/* Waits for the results of the queries sent on conns[0..n) until the
 * deadline; fills lsn text from column 0 (and time from column 1 of
 * conns[0]). Returns -1 naming the first member that did not answer. */
static int
collect_restore_points(PGconn **conns, CpMember *m, size_t n, double deadline, char *time_text, size_t tlen,
                       double *epoch, Error *err)
{
    bool *done = xcalloc(n, sizeof(bool));
    size_t left = n;
    int rc = 0;
    struct pollfd *pfd = xcalloc(n, sizeof(struct pollfd));
    while (left > 0 && rc == 0)
    {
        for (size_t i = 0; i < n && rc == 0; i++)
        {
            if (done[i])
                continue;
            if (!PQconsumeInput(conns[i]))
            {
                rc = error_set(err, "%s primary: connection lost during the restore point: %s", m[i].set,
                               PQerrorMessage(conns[i]));
                break;
            }
            if (PQisBusy(conns[i]))
                continue;
            PGresult *r;
            bool got = false;
            while ((r = PQgetResult(conns[i])) != NULL)
            {
                if (PQresultStatus(r) != PGRES_TUPLES_OK)
                {
                    char msg[512];
                    snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
                    msg[strcspn(msg, "\n")] = '\0';
                    rc = error_set(err, "%s primary: pg_create_restore_point failed: %s", m[i].set, msg);
                }
                else if (!got)
                {
                    got = true;
                    if (lsn_parse(PQgetvalue(r, 0, 0), &m[i].lsn, err) != 0)
                        rc = -1;
                    if (i == 0 && PQnfields(r) > 2)
                    {
                        snprintf(time_text, tlen, "%s", PQgetvalue(r, 0, 1));
                        *epoch = strtod(PQgetvalue(r, 0, 2), NULL);
                    }
                }
                PQclear(r);
            }
            done[i] = true;
            left--;
        }
        if (rc != 0 || left == 0)
            break;
        double now = now_seconds();
        if (now >= deadline)
        {
            for (size_t i = 0; i < n; i++)
                if (!done[i])
                {
                    rc = error_set(err, "the %s primary did not create its restore point in time: the consistency "
                                        "point failed and the commit log barrier was released", m[i].set);
                    break;
                }
            break;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!done[i])
                pfd[k++] = (struct pollfd){.fd = PQsocket(conns[i]), .events = POLLIN};
        int wait_ms = (int) ((deadline - now) * 1000) + 1;
        if (poll(pfd, k, wait_ms) < 0 && errno != EINTR)
            rc = error_errno(err, "poll");
    }
    free(pfd);
    free(done);
    return rc;
}

int
cp_create(const char *cluster, const char *name, const CpMember *members, size_t n, int timeout_ms,
          ConsistencyPoint *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
    out->members = xcalloc(n, sizeof(CpMember));
    out->nmembers = n;
    for (size_t i = 0; i < n; i++)
    {
        out->members[i].set = xstrdup(members[i].set);
        out->members[i].conninfo = xstrdup(members[i].conninfo);
    }
    /* Connect first: connection set-up is not part of the pause. Each
     * session's statement_timeout bounds its own work on the server too. */
    PGconn **conns = xcalloc(n, sizeof(PGconn *));
    int rc = 0;
    char timeouts[128];
    snprintf(timeouts, sizeof(timeouts), "SET statement_timeout = %d; SET lock_timeout = %d", timeout_ms, timeout_ms);
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        char what[160];
        snprintf(what, sizeof(what), "%s primary", members[i].set);
        /* A member that does not answer fails the CP within its timeout
         * (DESIGN §3): no commit is held yet, but the caller is. */
        conns[i] = pg_connect_within(members[i].conninfo, what, timeout_ms, err);
        if (!conns[i])
            rc = -1;
        else
        {
            PGresult *r = PQexec(conns[i], timeouts);   /* two statements: simple protocol */
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                rc = error_set(err, "%s: cannot set timeouts: %s", what, PQerrorMessage(conns[i]));
            PQclear(r);
        }
    }
    double t0 = 0;
    bool in_barrier = false;
    if (rc == 0)
    {
        /* The barrier: SHARE conflicts with the INSERT every commit decision
         * makes, so once granted it holds new decisions until COMMIT.
         *
         * A plain LOCK would queue behind the decisions in flight, each
         * finishing its commit (a WAL flush: milliseconds on a busy disk),
         * and every new decision would queue behind the LOCK: commits would
         * wait for the CP and for other commits' flushes. So the lock is
         * tried with NOWAIT, in a loop on the server (a caught error leaves
         * nothing in the server log), until a moment when no decision is in
         * flight; commits then wait for the restore points alone. If no
         * such moment comes within half the timeout, the plain LOCK (with
         * lock_timeout) takes it. The time spent trying holds nobody and is
         * not counted in the pause: that runs from the grant, which the
         * server stamps (after the loop: a plain LOCK's wait is counted),
         * to the COMMIT's answer. */
        char sql[1024];
        catalog_commit_log_barrier_sql(sql, sizeof(sql), timeout_ms / 2);
        PGresult *r = PQexec(conns[0], sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        {
            rc = error_set(err, "meta primary: taking the commit log barrier failed: %s", PQerrorMessage(conns[0]));
            PGresult *rb = PQexec(conns[0], "ROLLBACK");
            PQclear(rb);
        }
        else
        {
            in_barrier = true;
            /* The answer left the server (held) ms after the grant; the
             * COMMIT's answer, like this one, arrives a one-way trip after
             * the server sent it, so the two trips cancel out. */
            double held_ms = strtod(PQgetvalue(r, 0, 1), NULL);
            t0 = now_seconds() - (held_ms > 0 ? held_ms / 1000.0 : 0);
            out->barrier_tries_ms = strtod(PQgetvalue(r, 0, 0), NULL);
        }
        PQclear(r);
    }
    if (rc == 0)
    {
        /* All restore points at once: the pause is the slowest one, not the sum. */
        const char *params[] = {name};
        double deadline = t0 + timeout_ms / 1000.0;
        for (size_t i = 0; i < n && rc == 0; i++)
        {
            /* One clock reading for both forms of the CP's time: two calls
             * of clock_timestamp() differ by microseconds, and a restore to
             * the text time would then miss the CP by that much. */
            const char *sql = i == 0 ? "SELECT lsn, t::text, extract(epoch from t)::text FROM "
                                       "(SELECT pg_create_restore_point($1)::text AS lsn, clock_timestamp() AS t) cp"
                                     : "SELECT pg_create_restore_point($1)::text";
            if (!PQsendQueryParams(conns[i], sql, 1, NULL, params, NULL, NULL, 0))
                rc = error_set(err, "%s primary: cannot send the restore point: %s", members[i].set,
                               PQerrorMessage(conns[i]));
        }
        if (rc == 0)
            rc = collect_restore_points(conns, out->members, n, deadline, out->time_text, sizeof(out->time_text),
                                        &out->time, err);
    }
    if (in_barrier)
    {
        /* Release: COMMIT on success, otherwise ROLLBACK; a broken meta
         * connection releases the lock by ending the session. */
        PGresult *r = PQexec(conns[0], rc == 0 ? "COMMIT" : "ROLLBACK");
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = error_set(err, "meta primary: releasing the barrier failed: %s", PQerrorMessage(conns[0]));
        PQclear(r);
        out->pause_ms = (now_seconds() - t0) * 1000.0;
    }
    /* Closing, not cancelling: a node that hangs would hang a cancel too. */
    for (size_t i = 0; i < n; i++)
        PQfinish(conns[i]);
    free(conns);
    if (rc != 0)
        cp_free(out);
    return rc;
}
