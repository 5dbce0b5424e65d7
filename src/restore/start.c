#include "restore/start.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive/wal_prefetch.h"
#include "common/log.h"
#include "common/quote.h"
#include "common/spawn.h"
#include "common/util.h"
#include "pg/conn.h"

/* postmaster.pid: pid, data dir, start time, port, socket dir, ... */
static bool
read_postmaster_pid(const char *data_dir, long *pid, int *port, char *sockdir, size_t n)
{
    char *path = xprintf("%s/postmaster.pid", data_dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return false;
    char line[4096];
    int lineno = 0;
    bool ok = false;
    sockdir[0] = '\0';
    while (fgets(line, sizeof(line), f))
    {
        line[strcspn(line, "\n")] = '\0';
        lineno++;
        if (lineno == 1)
            *pid = atol(line);
        else if (lineno == 4)
            *port = atoi(line);
        else if (lineno == 5)
        {
            /* Written empty first, the socket directory filled in once
             * the postmaster listens: until then there is nothing to
             * connect to. */
            snprintf(sockdir, n, "%s", line);
            ok = line[0] != '\0';
        }
    }
    fclose(f);
    return ok && *pid > 0;
}

static bool
alive(long pid)
{
    return pid > 0 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

static void
log_tail(const char *log_path, char *out, size_t n)
{
    Buffer b = {0};
    Error e;
    out[0] = '\0';
    if (read_small_file(log_path, &b, &e) != 0)
        return;
    /* The last few lines say why recovery stopped. */
    size_t start = b.len, lines = 0;
    while (start > 0 && lines < 6)
        if (b.data[--start] == '\n')
            lines++;
    snprintf(out, n, "%s", b.data + start);
    buffer_free(&b);
}

static int
run_pg_ctl(const char *bin, const char *data_dir, const char *log_path, Error *err)
{
    char *pg_ctl = xprintf("%s/pg_ctl", bin);
    /* -W: strata does its own waiting, for the target rather than for
     * connections; pg_ctl's output goes to /dev/null, the server's to the log. */
    char *const argv[] = {pg_ctl, "start", "-D", (char *) data_dir, "-l", (char *) log_path, "-W", NULL};
    int rc = spawn_wait(argv, NULL, err);
    free(pg_ctl);
    return rc;
}

int
instance_start_and_wait(const StartRequest *req, StartResult *res, Error *err)
{
    memset(res, 0, sizeof(*res));
    char *bin = pg_bin_dir(req->pg_bin, req->pg_version_num);
    char *log_path = xprintf("%s/strata-start.log", req->data_dir);
    int rc = run_pg_ctl(bin, req->data_dir, log_path, err);
    free(bin);
    if (rc != 0)
    {
        free(log_path);
        return -1;
    }
    double started = now_seconds(), deadline = started + req->timeout;
    long pid = 0;
    int port = 0;
    char sockdir[4096] = "";
    PGconn *conn = NULL;
    bool pausing = !strcmp(req->action, "pause") && req->target_kind != TARGET_LATEST;
    bool shutting = !strcmp(req->action, "shutdown") && req->target_kind != TARGET_LATEST;
    while (rc == 0)
    {
        if (now_seconds() > deadline)
        {
            char tail[2048];
            log_tail(log_path, tail, sizeof(tail));
            rc = error_set(err, "the restored instance in %s did not reach its target within %d s (pid %ld); the end "
                                "of %s says:\n%s", req->data_dir, req->timeout, pid, log_path, tail);
            break;
        }
        sleep_ms(200);
        if (!sockdir[0] && !read_postmaster_pid(req->data_dir, &pid, &port, sockdir, sizeof(sockdir)))
        {
            sockdir[0] = '\0';
            /* The postmaster writes its pid file first thing; none after a
             * few seconds means it has already exited. */
            if (now_seconds() - started < 5 || (pid > 0 && alive(pid)))
                continue;
            char tail[2048];
            log_tail(log_path, tail, sizeof(tail));
            if (shutting && strstr(tail, "database system is shut down"))
            {
                snprintf(res->state, sizeof(res->state), "shut down");
                break;
            }
            rc = error_set(err, "the restored instance in %s exited during start-up or recovery; the end of %s says:\n%s",
                           req->data_dir, log_path, tail);
            break;
        }
        if (!alive(pid))
        {
            if (shutting)
            {
                snprintf(res->state, sizeof(res->state), "shut down");
                break;
            }
            char tail[2048];
            log_tail(log_path, tail, sizeof(tail));
            rc = error_set(err, "the restored instance in %s stopped during recovery; the end of %s says:\n%s",
                           req->data_dir, log_path, tail);
            break;
        }
        if (shutting)
            continue;
        if (!conn)
        {
            Buffer ci = {0};
            buffer_append(&ci, "host=", 5);
            conninfo_quote(&ci, sockdir);
            buffer_appendf(&ci, " port=%d dbname=postgres connect_timeout=5", port);
            conn = PQconnectdb(ci.data);
            buffer_free(&ci);
            if (PQstatus(conn) != CONNECTION_OK)
            {
                PQfinish(conn);   /* not accepting connections before consistency */
                conn = NULL;
                continue;
            }
        }
        PGresult *r = PQexec(conn, "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() "
                                   "THEN pg_get_wal_replay_pause_state() ELSE 'not paused' END, "
                                   "coalesce(pg_last_wal_replay_lsn()::text, ''), "
                                   "coalesce(pg_last_xact_replay_timestamp()::text, ''), "
                                   "(SELECT timeline_id FROM pg_control_checkpoint())");
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
        {
            PQclear(r);
            PQfinish(conn);
            conn = NULL;
            continue;
        }
        bool in_recovery = !strcmp(PQgetvalue(r, 0, 0), "t");
        bool paused = !strcmp(PQgetvalue(r, 0, 1), "paused");
        if ((!in_recovery && !pausing) || (pausing && paused))
        {
            snprintf(res->state, sizeof(res->state), "%s", in_recovery ? "paused" : "promoted");
            snprintf(res->reached_lsn, sizeof(res->reached_lsn), "%s", PQgetvalue(r, 0, 2));
            snprintf(res->reached_time, sizeof(res->reached_time), "%s", PQgetvalue(r, 0, 3));
            res->timeline = (uint32_t) strtoul(PQgetvalue(r, 0, 4), NULL, 10);
            PQclear(r);
            if (!in_recovery)
            {
                /* After promotion the checkpoint may still name the old
                 * timeline for a moment; the WAL insert position does not. */
                PGresult *t = PQexec(conn, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)");
                if (PQresultStatus(t) == PGRES_TUPLES_OK)
                    res->timeline = (uint32_t) strtoul(PQgetvalue(t, 0, 0), NULL, 16);
                PQclear(t);
                /* Recovery is over: what wal-get read ahead is never asked for. */
                char *recoveryxlog = xprintf("%s/pg_wal/RECOVERYXLOG", req->data_dir);
                wal_prefetch_drop(recoveryxlog);
                free(recoveryxlog);
            }
            break;
        }
        PQclear(r);
        if (pausing && !in_recovery)
        {
            rc = error_set(err, "the restored instance in %s promoted instead of pausing at the target (was the "
                                "target reached?); see %s", req->data_dir, log_path);
            break;
        }
    }
    PQfinish(conn);
    if (rc == 0)
    {
        res->started = true;
        res->pid = pid;
        res->port = port;
    }
    free(log_path);
    return rc;
}

void
instance_stop(const char *data_dir)
{
    long pid = 0;
    int port;
    char sockdir[4096];
    if (!read_postmaster_pid(data_dir, &pid, &port, sockdir, sizeof(sockdir)) && pid <= 0)
        return;
    /* Immediate shutdown: what it leaves is removed right after. */
    if (!alive(pid) || kill((pid_t) pid, SIGQUIT) != 0)
        return;
    for (int i = 0; i < 100 && alive(pid); i++)
    {
        sleep_ms(100);
    }
    if (alive(pid))
    {
        log_warn("PostgreSQL (pid %ld) in %s did not stop within 10 s of SIGQUIT: killing it", pid, data_dir);
        kill((pid_t) pid, SIGKILL);
        for (int i = 0; i < 50 && alive(pid); i++)
        {
            sleep_ms(100);
        }
    }
}
