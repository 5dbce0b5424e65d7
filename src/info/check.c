/* strata check: is the node's archive whole, and does the instance archive
 * into it? With --pg-conn on a primary, a segment switch is forced and
 * strata waits for that segment to arrive: the end-to-end proof that
 * archive_command works, not just that it is set. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "common/log.h"
#include "info/continuity.h"
#include "info/node_state.h"
#include "pg/conn.h"
#include "pool/manifest.h"

static const char usage_text[] =
    "usage: strata check --pool POOL --node NODE [--pg-conn CONNINFO] [--archive-timeout SEC]\n";

enum { OPT_PGCONN = OPT_FIRST_COMMAND_OPTION, OPT_ARCHIVE_TIMEOUT };

typedef struct Report
{
    size_t problems;
    json_object *doc;        /* --output json: problems and findings gather here */
} Report;

static void
report_problem(void *ctx, const char *fmt, ...)
{
    Report *r = ctx;
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->doc)
        json_object_array_add(json_object_object_get(r->doc, "problems"), json_object_new_string(msg));
    else
        printf("PROBLEM %s\n", msg);
    r->problems++;
}

/* A finding that is not a problem: a line of text, or a member of the JSON. */
static void
report_finding(Report *r, const char *key, json_object *value, const char *fmt, ...)
{
    if (r->doc)
    {
        json_object_object_add(r->doc, key, value);
        return;
    }
    json_object_put(value);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void
check_instance(Pool *pool, const char *node, const char *conninfo, int timeout, Report *rep)
{
    Error err;
    PGconn *conn = pg_connect(conninfo, "instance", &err);
    if (!conn)
    {
        report_problem(rep, "%s", err.msg);
        return;
    }
    PGresult *r = pg_exec(conn, "instance",
                          "SELECT pg_is_in_recovery(), current_setting('archive_mode'), "
                          "current_setting('archive_command'), (pg_control_system()).system_identifier, "
                          "coalesce(last_failed_wal, ''), failed_count, coalesce(last_failed_time::text, ''), "
                          "coalesce(last_archived_time::text, '') FROM pg_stat_archiver",
                          0, NULL, &err);
    if (!r)
    {
        report_problem(rep, "%s", err.msg);
        PQfinish(conn);
        return;
    }
    bool standby = !strcmp(PQgetvalue(r, 0, 0), "t");
    char *mode = xstrdup(PQgetvalue(r, 0, 1)), *command = xstrdup(PQgetvalue(r, 0, 2));
    uint64_t sysid = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
    NodeInfo ni;
    bool exists;
    if (node_info_read(pool, node, &ni, &exists, &err) == 0 && exists && ni.system_identifier != sysid)
        report_problem(rep, "the instance is PostgreSQL system %" PRIu64 ", but node %s holds system %" PRIu64, sysid,
                       node, ni.system_identifier);
    /* Without --pool (or --node) in the command, wal-push takes it from
     * strata.conf or the environment: the segment switch below proves it. */
    bool archives_here = strstr(command, "wal-push") && (strstr(command, node) || !strstr(command, "--node")) &&
                         (strstr(command, pool->location) || !strstr(command, "--pool"));
    if (standby && strcmp(mode, "always") != 0)
        report_finding(rep, "standby", json_object_new_boolean(1),
                       "instance is a standby (archive_mode=%s): its primary archives the WAL", mode);
    else if (!strcmp(mode, "off"))
        report_problem(rep, "archive_mode is off on the instance: WAL is not archived");
    else if (!archives_here)
        report_problem(rep, "archive_command is '%s': it does not run 'strata wal-push --pool %s --node %s %%p'",
                       command, pool->location, node);
    if (*PQgetvalue(r, 0, 4) && strcmp(PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 7)) > 0)
        report_problem(rep, "the last archive attempt failed: WAL %s at %s (%s failures so far); see the server log",
                       PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 5));
    PQclear(r);
    if (!standby && strcmp(mode, "off") != 0 && archives_here)
    {
        /* Write something so the switch is not a no-op, then switch. */
        PGresult *s = pg_exec(conn, "instance",
                              "SELECT pg_walfile_name(pg_switch_wal()) FROM (SELECT pg_create_restore_point('strata "
                              "check')) AS rp",
                              0, NULL, &err);
        if (!s)
            report_problem(rep, "%s", err.msg);
        else
        {
            char *segment = xstrdup(PQgetvalue(s, 0, 0));
            PQclear(s);
            double deadline = now_seconds() + timeout;
            bool arrived = false;
            while (!arrived && now_seconds() < deadline)
            {
                WalObject o;
                if (archive_find(pool, node, segment, &o, &arrived, &err) != 0)
                {
                    report_problem(rep, "%s", err.msg);
                    break;
                }
                if (arrived)
                    wal_object_free(&o);
                else
                {
                    sleep_ms(100);
                }
            }
            if (arrived)
                report_finding(rep, "archived_segment", json_object_new_string(segment),
                               "archiving works: segment %s reached the pool", segment);
            else
                report_problem(rep, "segment %s did not reach pool %s node %s within %d s: archiving is not working",
                               segment, pool->location, node, timeout);
            free(segment);
        }
    }
    free(mode);
    free(command);
    PQfinish(conn);
}

int
cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"pg-conn", required_argument, NULL, OPT_PGCONN},
        {"archive-timeout", required_argument, NULL, OPT_ARCHIVE_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    CommonOptions co;
    common_options_init(&co);
    const char *conninfo = NULL;
    int timeout = 60, c, code;
    long v;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "check", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_PGCONN: conninfo = optarg; break;
            case OPT_ARCHIVE_TIMEOUT:
                if (parse_int_range(optarg, 1, 86400, &v, &err) != 0)
                    return cli_usage_error("check", "--archive-timeout: %s", err.msg);
                timeout = (int) v;
                break;
            default: return cli_bad_option("check", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
    if (node_name_check(co.node, &err) != 0)
        return cli_usage_error("check", "%s", err.msg);
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    Report rep = {0};
    if (co.json)
    {
        rep.doc = json_object_new_object();
        json_object_object_add(rep.doc, "node", json_object_new_string(co.node));
        json_object_object_add(rep.doc, "problems", json_object_new_array());
    }
    /* The instance first: its forced segment switch may be the node's
     * first WAL in the pool, which the archive check then sees. */
    if (conninfo)
        check_instance(pool, co.node, conninfo, timeout, &rep);
    NodeState ns;
    if (node_state_load(pool, co.node, &ns, &err) != 0)
        report_problem(&rep, "%s", err.msg);
    else
    {
        size_t n = wal_continuity_check(pool, co.node, ns.info.wal_segment_size, &ns.wal, &ns.backups, NULL,
                                        report_problem, &rep);
        size_t segs = 0;
        for (size_t i = 0; i < ns.wal.count; i++)
            segs += ns.wal.items[i].is_segment;
        if (rep.doc)
            json_object_object_add(rep.doc, "segments", json_object_new_int64((int64_t) segs));
        else if (n == 0)
            printf("archive of node %s: %zu segment(s), no gaps, every backup reaches the end along the timeline "
                   "history\n", co.node, segs);
        node_state_free(&ns);
    }
    pool_close(pool);
    if (rep.doc)
    {
        json_object_object_add(rep.doc, "ok", json_object_new_boolean(rep.problems == 0));
        cli_json_result(rep.doc);
    }
    if (rep.problems)
    {
        log_error("check found %zu problem(s)", rep.problems);
        return 1;
    }
    return 0;
}
