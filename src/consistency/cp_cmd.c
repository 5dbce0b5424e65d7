/* strata cp create | list: consistency points on demand or on a schedule. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "catalog/catalog.h"
#include "common/log.h"
#include "consistency/cp_store.h"
#include "request/cli_options.h"
#include "request/cp_request.h"

static const char usage_text[] =
    "usage: strata cp create --meta-conn CONNINFO --cluster NAME [--name CP] [--timeout-ms MS]\n"
    "                        [--pool POOL] [--every SEC [--count N]] [--output json]\n"
    "       strata cp list --pool POOL --cluster NAME [--output json]\n"
    "  create: takes the commit log barrier on the metadata primary, creates the restore point\n"
    "  on it and on every shard primary, records the CP in the catalog (and the pool).\n"
    "  --timeout-ms bounds the barrier (default 2000): a node that does not answer fails the CP\n"
    "  and releases the barrier. --every takes one every SEC seconds, --count N times (0: until\n"
    "  interrupted).\n";

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

/* --output json: one CP is the result; with --every, each CP is a line
 * as it is taken (JSON Lines). */
static bool cp_streaming;

static void
print_cp(const ConsistencyPoint *cp, bool json)
{
    if (json)
    {
        json_object *o = cp_to_json(cp);
        if (cp_streaming)
            cli_json_stream(o);
        else
            cli_json_result(o);
    }
    else
    {
        printf("%s  %s  pause %.2f ms ", cp->name, cp->time_text, cp->pause_ms);
        for (size_t i = 0; i < cp->nmembers; i++)
        {
            char lsn[32];
            lsn_format(cp->members[i].lsn, lsn);
            printf(" %s=%s", cp->members[i].set, lsn);
        }
        printf("\n");
    }
    fflush(stdout);
}

static int
take_one(PGconn *meta, const Topology *t, Pool *pool, const char *name, int timeout_ms, bool json, Error *err)
{
    CpMember *members;
    size_t n;
    if (cp_members_from_topology(t, &members, &n, err) != 0)
        return -1;
    char cp_name[CP_NAME_MAX + 1];
    if (name)
        snprintf(cp_name, sizeof(cp_name), "%s", name);
    else
        cp_default_name(t->name, cp_name);
    ConsistencyPoint cp;
    int rc = cp_create(t->name, cp_name, members, n, timeout_ms, &cp, err);
    cp_members_free(members, n);
    if (rc != 0)
        return error_prefix(err, "consistency point %s of cluster %s: ", cp_name, t->name);
    rc = cp_save_catalog(meta, &cp, err);
    if (rc == 0 && pool)
        rc = cp_save_pool(pool, &cp, err);
    if (rc == 0)
        print_cp(&cp, json);
    cp_free(&cp);
    return rc;
}

static int
cp_create_cmd(const CommonOptions *co, const char *meta_conn, const char *cluster, const char *name, int timeout_ms,
              int every, long count)
{
    Error err;
    PGconn *meta = catalog_connect(meta_conn, false, &err);
    if (!meta)
        return cli_fail(&err);
    Topology t;
    if (topology_load(meta, cluster, &t, &err) != 0)
    {
        PQfinish(meta);
        return cli_fail(&err);
    }
    Pool *pool = NULL;
    if (co->pool && pool_open(co->pool, &pool, &err) != 0)
    {
        topology_free(&t);
        PQfinish(meta);
        return cli_fail(&err);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    long taken = 0, failed = 0;
    cp_streaming = every > 0;
    for (;;)
    {
        double t0 = now_seconds();
        if (take_one(meta, &t, pool, every ? NULL : name, timeout_ms, co->json, &err) != 0)
        {
            log_error("%s", err.msg);
            failed++;
            if (!every)
                break;
        }
        else
            taken++;
        if (!every || stop_requested || (count > 0 && taken + failed >= count))
            break;
        /* Sleep to the next tick, waking for a stop request. */
        while (!stop_requested && now_seconds() < t0 + every)
        {
            sleep_ms(50);
        }
        if (stop_requested)
            break;
        if (PQstatus(meta) != CONNECTION_OK)
            PQreset(meta);
    }
    pool_close(pool);
    topology_free(&t);
    PQfinish(meta);
    return failed ? 1 : 0;
}

static int
cp_list_cmd(const CommonOptions *co, const char *cluster)
{
    Error err;
    Pool *pool;
    if (pool_open(co->pool, &pool, &err) != 0)
        return cli_fail(&err);
    ConsistencyPoint *cps;
    size_t n;
    int rc = cp_list_pool(pool, cluster, &cps, &n, &err);
    if (rc == 0)
    {
        json_object *list = co->json ? json_object_new_array() : NULL;
        for (size_t i = 0; i < n; i++)
        {
            if (list)
                json_object_array_add(list, cp_to_json(&cps[i]));
            else
                print_cp(&cps[i], false);
        }
        if (list)
        {
            json_object *doc = json_object_new_object();
            json_object_object_add(doc, "cluster", json_object_new_string(cluster));
            json_object_object_add(doc, "consistency_points", list);
            cli_json_result(doc);
        }
        if (n == 0 && !co->json)
            printf("no consistency points for cluster %s in pool %s\n", cluster, co->pool);
        cp_list_free(cps, n);
    }
    pool_close(pool);
    return rc == 0 ? 0 : cli_fail(&err);
}

int
cmd_cp(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "create") && strcmp(argv[1], "list")))
    {
        if (argc >= 2 && !strcmp(argv[1], "--help"))
        {
            fputs(usage_text, stdout);
            return 0;
        }
        return cli_usage_error("cp", "expected 'create' or 'list'");
    }
    bool create = !strcmp(argv[1], "create");
    CommonOptions co;
    common_options_init(&co);
    CpRequest req;
    cp_request_init(&req);
    Error err;
    int code = cli_request_options("cp", usage_text, cp_request_schema(), &req, &co, argc - 1, argv + 1);
    if (code == CLI_CONTINUE && cp_request_validate(&req, create ? CP_CREATE_AT_LOCAL : CP_LIST_AT_LOCAL, &err) != 0)
        code = cli_usage_error("cp", "%s", err.msg);
    if (code == CLI_CONTINUE && !create && !co.pool)
        code = cli_usage_error("cp", "list needs --pool");
    if (code == CLI_CONTINUE)
        code = create ? cp_create_cmd(&co, req.meta_conn, req.cluster, req.name, req.timeout_ms, req.every, req.count)
                      : cp_list_cmd(&co, req.cluster);
    cp_request_free(&req);
    return code;
}
