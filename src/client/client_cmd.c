/* The commands that drive the cluster manager (docs/cli.md, "Through the
 * cluster manager"): backup and restore submitted as jobs and followed to
 * their end, jobs listed, clusters and backups listed. backup.c,
 * restore.c and info.c hand off here when --manager (or STRATA_MANAGER)
 * applies; `strata jobs` is only this. */
#include "client/client_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/manager_client.h"
#include "cluster/topology.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "request/backup_request.h"
#include "request/restore_request.h"
#include "restore/target.h"

enum
{
    OPT_MANAGER = OPT_FIRST_COMMAND_OPTION,
    OPT_TOKEN_FILE,
    OPT_CACERT,
    OPT_CLUSTER,
    OPT_SHARD,
    OPT_NO_WAIT,
    OPT_TO,
    OPT_CP,
    OPT_TIME,
    OPT_LATEST,
    OPT_BASE_PORT,
    OPT_DIR,
    OPT_ID,
    OPT_WAIT,
    OPT_CANCEL,
    OPT_GTXID,
    OPT_PLACEMENT,
    OPT_HOSTS,
};

#define CLIENT_LONG_OPTIONS                                          \
    {"manager", required_argument, NULL, OPT_MANAGER},               \
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},         \
    {"cacert", required_argument, NULL, OPT_CACERT},                 \
    {"quiet", no_argument, NULL, OPT_QUIET},                         \
    {"output", required_argument, NULL, OPT_OUTPUT},                 \
    {"help", no_argument, NULL, OPT_HELP}

#define CLIENT_USAGE_COMMON                                                                            \
    "  --manager URL           the cluster manager (default: STRATA_MANAGER)\n"                       \
    "  --token-file FILE       its API token, first line of FILE (default: STRATA_TOKEN_FILE)\n"      \
    "  --cacert FILE           CA certificate for an https manager (default: STRATA_MANAGER_CACERT)\n" \
    "  --quiet, --output json\n"

static const char backup_usage[] =
    "usage: strata backup --manager URL --token-file FILE --cluster C [--shard S] [--no-wait]\n"
    "  A cluster backup run by the cluster manager as a job, followed to its end.\n"
    "  --no-wait               print the job id and return\n" CLIENT_USAGE_COMMON;
static const char restore_usage[] =
    "usage: strata restore --manager URL --token-file FILE --cluster C --to NEW [--shard S]\n"
    "                      [--cp NAME | --time T | --gtxid G | --latest (default)] [--base-port P] [--dir DIR]\n"
    "                      [--no-wait]\n"
    "  A cluster restore (or one shard's) run by the cluster manager as a job, followed to its end.\n"
    "  --base-port, --dir      where the new cluster goes (default: the manager's restore_ports / restore_root)\n"
    "  --hosts H1,H2,...       or on these hosts: node managers offering a data_root and ports (docs/deployment.md)\n"
    "  --placement FILE        or as a placement file on the manager's host says (hosts, data roots, ports)\n"
    "  --no-wait               print the job id and return\n" CLIENT_USAGE_COMMON;
static const char jobs_usage[] =
    "usage: strata jobs [--id N [--cancel] [--wait]] [--cluster C] --manager URL --token-file FILE\n"
    "  The cluster manager's jobs, newest first, or one job.\n"
    "  --cancel                with --id: cancel the job (a queued job at once; a running backup stops\n"
    "                          within a few seconds and removes what it wrote; a running restore or\n"
    "                          expire cannot be cancelled)\n"
    "  --wait                  with --id: follow the job to its end (exit 1 unless it succeeded)\n" CLIENT_USAGE_COMMON;
static const char info_usage[] =
    "usage: strata info --manager URL --token-file FILE [--cluster C]\n"
    "  The registered clusters, or one cluster's recoverable window and complete backups.\n" CLIENT_USAGE_COMMON;

/* ---- options ---- */

static void
client_options_init(ClientOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->manager = getenv("STRATA_MANAGER");
    o->token_file = getenv("STRATA_TOKEN_FILE");
    o->cacert = getenv("STRATA_MANAGER_CACERT");
}

/* 1 handled, 0 not a client option, -1 stop with *code. */
static int
client_option(ClientOptions *o, int c, const char *arg, const char *cmd, const char *usage, int *code)
{
    switch (c)
    {
        case OPT_MANAGER: o->manager = arg; return 1;
        case OPT_TOKEN_FILE: o->token_file = arg; return 1;
        case OPT_CACERT: o->cacert = arg; return 1;
        default: return output_option(&o->quiet, &o->json, c, arg, cmd, usage, code);
    }
}

/* An option getopt did not know: with --manager, the local options
 * (--pool, --pgdata, ...) do not apply; say so rather than "unknown". */
static int
bad_option(const char *cmd, char **argv, int c)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return cli_usage_error(cmd, "option %s needs a value", arg);
    return cli_usage_error(cmd, "%s does not apply through the cluster manager (it runs the job with its own pool "
                                "and catalog); without --manager/STRATA_MANAGER the command runs locally", arg);
}

static bool
has_arg(int argc, char **argv, const char *opt)
{
    size_t n = strlen(opt);
    for (int i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strncmp(argv[i], opt, n) && (argv[i][n] == '\0' || argv[i][n] == '='))
            return true;
    }
    return false;
}

bool
client_wanted(int argc, char **argv)
{
    if (client_manager_arg(argc, argv))
        return true;
    const char *env = cli_setting("manager");
    /* STRATA_MANAGER sends cluster commands to the manager; a --pool on
     * the command line asks for a local run. */
    return env && *env && has_arg(argc, argv, "--cluster") && !has_arg(argc, argv, "--pool");
}

bool
client_wanted_for_info(int argc, char **argv)
{
    if (client_manager_arg(argc, argv) || has_arg(argc, argv, "--cluster"))
        return true;
    const char *env = cli_setting("manager");
    const char *pool = cli_setting("pool");
    return env && *env && !has_arg(argc, argv, "--pool") && !(pool && *pool);
}

static int
open_client(ManagerClient *c, const ClientOptions *o, const char *cmd)
{
    Error err;
    if (!o->manager || !*o->manager)
        return cli_usage_error(cmd, "no cluster manager: give --manager URL or set STRATA_MANAGER");
    if (client_open(c, o, &err) != 0)
        return cli_fail(&err);
    return CLI_CONTINUE;
}

/* ---- results ---- */

static void
print_json(json_object *o)
{
    cli_json_result(json_object_get(o));
}

/* The scalar members of a job's result, one "key: value" line each (the
 * topology and other nested objects are in --output json). */
static void
print_result_scalars(json_object *result)
{
    json_object_object_foreach(result, key, v)
    {
        if (!v)
            continue;
        if (json_object_is_type(v, json_type_object) && json_member_string(v, "name"))
            printf("%s: %s\n", key, json_member_string(v, "name"));   /* a CP: its name */
        else if (json_object_is_type(v, json_type_string))
            printf("%s: %s\n", key, json_object_get_string(v));
        else if (!json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array))
            printf("%s: %s\n", key, json_object_to_json_string(v));
    }
}

/* Submits with POST path body, follows the job unless no_wait, prints the
 * outcome. `what` ("backup of c1") for messages. */
static int
run_job(ManagerClient *c, const ClientOptions *o, const char *path, json_object *body, bool no_wait,
        const char *what, bool print_backup_id)
{
    Error err;
    json_object *answer, *v;
    int status;
    if (client_request(c, "POST", path, body, &status, &answer, &err) != 0)
        return cli_fail(&err);
    if (!json_object_object_get_ex(answer, "job", &v) || !json_object_is_type(v, json_type_int))
    {
        json_object_put(answer);
        error_set(&err, "the cluster manager at %s accepted the %s but named no job id", c->url, what);
        return cli_fail(&err);
    }
    long long id = (long long) json_object_get_int64(v);
    json_object_put(answer);
    if (no_wait)
    {
        if (o->json)
        {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "job", json_object_new_int64(id));
            cli_json_result(d);
        }
        else
            printf("%lld\n", id);
        return 0;
    }
    log_info("%s: job %lld on %s", what, id, c->url);
    json_object *job;
    if (client_follow_job(c, id, o->quiet || o->json, &job, &err) != 0)
        return cli_fail(&err);
    const char *state = json_member_string(job, "state");
    int rc = 0;
    json_object *result = NULL;
    json_object_object_get_ex(job, "result", &result);
    if (o->json)
        print_json(job);
    if (!state || strcmp(state, "succeeded") != 0)
    {
        const char *reason = json_member_string(job, "reason");
        log_error("job %lld (%s) failed: %s", id, what, reason ? reason : "the cluster manager gave no reason");
        rc = 1;
    }
    else if (!o->json)
    {
        if (print_backup_id && json_member_string(result, "backup"))
            printf("%s\n", json_member_string(result, "backup"));
        else if (result)
            print_result_scalars(result);
    }
    json_object_put(job);
    return rc;
}

/* ---- backup ---- */

int
client_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_LONG_OPTIONS,
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
        {NULL, 0, NULL, 0},
    };
    ClientOptions o;
    client_options_init(&o);
    /* The request the manager's API parses with the same codec
     * (request/backup_request.h), sent as backup_request_to_json makes it. */
    BackupRequest req;
    backup_request_init(&req);
    bool no_wait = false;
    int c, code = CLI_CONTINUE;
    Error err;
    opterr = 0;
    optind = 1;
    while (code == CLI_CONTINUE && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = client_option(&o, c, optarg, "backup", backup_usage, &code);
        if (h < 0)
        {
            backup_request_free(&req);
            return code;
        }
        if (h)
            continue;
        if (c == OPT_NO_WAIT)
            no_wait = true;
        else if (c == OPT_CLUSTER || c == OPT_SHARD)
        {
            if (backup_request_set_flag(&req, c == OPT_CLUSTER ? "cluster" : "shard", optarg, &err) != 0)
                code = cli_usage_error("backup", "%s", err.msg);
        }
        else
            code = bad_option("backup", argv, c);
    }
    if (code == CLI_CONTINUE && optind != argc)
        code = cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    if (code == CLI_CONTINUE && backup_request_validate(&req, BACKUP_AT_MANAGER, &err) != 0)
        code = cli_usage_error("backup", "%s", err.msg);
    ManagerClient mc;
    if (code == CLI_CONTINUE)
        code = open_client(&mc, &o, "backup");
    if (code != CLI_CONTINUE)
    {
        backup_request_free(&req);
        return code;
    }
    /* Checked by topology_name_check: [A-Za-z0-9_.-], nothing to escape in a path. */
    char *path = xprintf("/api/v1/clusters/%s/backups", req.cluster);
    char *what = req.shard ? xprintf("backup of shard %s of %s", req.shard, req.cluster)
                           : xprintf("backup of %s", req.cluster);
    json_object *body = backup_request_to_json(&req);
    int rc = run_job(&mc, &o, path, body, no_wait, what, true);
    json_object_put(body);
    free(what);
    free(path);
    client_close(&mc);
    backup_request_free(&req);
    return rc;
}

/* ---- restore ---- */

int
client_restore(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_LONG_OPTIONS,
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"to", required_argument, NULL, OPT_TO},
        {"cp", required_argument, NULL, OPT_CP},
        {"time", required_argument, NULL, OPT_TIME},
        {"latest", no_argument, NULL, OPT_LATEST},
        {"gtxid", required_argument, NULL, OPT_GTXID},
        {"base-port", required_argument, NULL, OPT_BASE_PORT},
        {"dir", required_argument, NULL, OPT_DIR},
        {"placement", required_argument, NULL, OPT_PLACEMENT},
        {"hosts", required_argument, NULL, OPT_HOSTS},
        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
        {NULL, 0, NULL, 0},
    };
    ClientOptions o;
    client_options_init(&o);
    /* The request the manager's API parses with the same codec
     * (request/restore_request.h), sent as restore_request_to_json makes it. */
    RestoreRequest req;
    restore_request_init(&req);
    bool no_wait = false;
    int c, code = CLI_CONTINUE;
    Error err;
    opterr = 0;
    optind = 1;
    while (code == CLI_CONTINUE && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = client_option(&o, c, optarg, "restore", restore_usage, &code);
        if (h < 0)
        {
            restore_request_free(&req);
            return code;
        }
        if (h)
            continue;
        const char *name = NULL;
        for (const struct option *p = opts; !name && p->name; p++)
            if (p->val == c && c != OPT_NO_WAIT)
                name = p->name;
        if (c == OPT_NO_WAIT)
            no_wait = true;
        else if (!name)
            code = bad_option("restore", argv, c);
        else if (restore_request_set_flag(&req, name, optarg, &err) != 0)
            code = cli_usage_error("restore", "%s", err.msg);
    }
    if (code == CLI_CONTINUE && optind != argc)
        code = cli_usage_error("restore", "unexpected argument '%s'", argv[optind]);
    /* Checked here too, by the rules the manager applies, so that a typo is
     * a usage error, not a refused job. */
    if (code == CLI_CONTINUE && restore_request_validate(&req, RESTORE_AT_MANAGER, &err) != 0)
        code = cli_usage_error("restore", "%s", err.msg);
    ManagerClient mc;
    if (code == CLI_CONTINUE)
        code = open_client(&mc, &o, "restore");
    if (code != CLI_CONTINUE)
    {
        restore_request_free(&req);
        return code;
    }
    json_object *body = restore_request_to_json(&req);
    char *path = xprintf("/api/v1/clusters/%s/restores", req.cluster);
    char *what = req.shard ? xprintf("restore of shard %s of %s into %s", req.shard, req.cluster, req.to)
                           : xprintf("restore of %s into %s", req.cluster, req.to);
    int rc = run_job(&mc, &o, path, body, no_wait, what, false);
    json_object_put(body);
    free(what);
    free(path);
    client_close(&mc);
    restore_request_free(&req);
    return rc;
}

/* ---- jobs ---- */

static void
print_job_row(json_object *j)
{
    json_object *id, *result;
    json_object_object_get_ex(j, "id", &id);
    const char *state = json_member_string(j, "state");
    const char *detail = "";
    char *owned = NULL;
    if (state && (!strcmp(state, "failed") || !strcmp(state, "cancelled")) && json_member_string(j, "reason"))
        detail = json_member_string(j, "reason");
    else if (json_object_object_get_ex(j, "result", &result) && result)
    {
        if (json_member_string(result, "backup"))
            detail = owned = xprintf("backup %s", json_member_string(result, "backup"));
        else if (json_member_string(result, "cluster"))
            detail = owned = xprintf("cluster %s", json_member_string(result, "cluster"));
    }
    const char *created = json_member_string(j, "created_at");
    printf("%-6s %-16s %-8s %-10s %-24.24s %s\n", id ? json_object_to_json_string(id) : "?",
           json_member_string(j, "cluster") ? json_member_string(j, "cluster") : "-", json_member_string(j, "kind") ? json_member_string(j, "kind") : "-",
           state ? state : "-", created ? created : "-", detail);
    free(owned);
}

int
cmd_jobs(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_LONG_OPTIONS,
        {"id", required_argument, NULL, OPT_ID},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"cancel", no_argument, NULL, OPT_CANCEL},
        {NULL, 0, NULL, 0},
    };
    ClientOptions o;
    client_options_init(&o);
    long id = 0;
    const char *cluster = NULL;
    bool wait = false, cancel = false;
    int c, code;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = client_option(&o, c, optarg, "jobs", jobs_usage, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_ID:
                if (parse_int_range(optarg, 1, LONG_MAX, &id, &err) != 0)
                    return cli_usage_error("jobs", "--id: %s", err.msg);
                break;
            case OPT_CLUSTER: cluster = optarg; break;
            case OPT_WAIT: wait = true; break;
            case OPT_CANCEL: cancel = true; break;
            case ':': return cli_usage_error("jobs", "option %s needs a value", argv[optind - 1]);
            default: return cli_bad_option("jobs", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("jobs", "unexpected argument '%s'", argv[optind]);
    if (wait && !id)
        return cli_usage_error("jobs", "--wait follows one job: give --id N");
    if (cancel && !id)
        return cli_usage_error("jobs", "--cancel needs the job: give --id N");
    ManagerClient mc;
    if ((code = open_client(&mc, &o, "jobs")) != CLI_CONTINUE)
        return code;
    int rc = 0, status;
    json_object *answer = NULL;
    if (cancel)
    {
        char *path = xprintf("/api/v1/jobs/%ld/cancel", id);
        json_object *empty = json_object_new_object();
        if (client_request(&mc, "POST", path, empty, &status, &answer, &err) != 0)
            rc = cli_fail(&err);
        else if (!o.quiet && !o.json)
            fprintf(stderr, "strata: job %ld: %s\n", id,
                    status == 200 ? "cancelled before it started" : "cancelling (a running backup stops at its next read)");
        json_object_put(empty);
        free(path);
        json_object_put(answer);
        answer = NULL;
        if (rc == 0 && !wait)
        {
            client_close(&mc);
            return 0;
        }
    }
    if (rc != 0)
        ;
    else if (id && wait)
    {
        if (client_follow_job(&mc, id, o.quiet || o.json, &answer, &err) != 0)
            rc = cli_fail(&err);
    }
    else if (id)
    {
        char *path = xprintf("/api/v1/jobs/%ld", id);
        if (client_request(&mc, "GET", path, NULL, &status, &answer, &err) != 0)
            rc = cli_fail(&err);
        free(path);
    }
    else if (client_request(&mc, "GET", "/api/v1/jobs", NULL, &status, &answer, &err) != 0)
        rc = cli_fail(&err);
    if (rc == 0 && id)
    {
        if (o.json)
            print_json(answer);
        else
            client_print_job(answer);
        const char *state = json_member_string(answer, "state");
        if (wait && (!state || strcmp(state, "succeeded") != 0))
            rc = 1;
    }
    else if (rc == 0)
    {
        json_object *list, *kept = json_object_new_array();
        if (json_object_object_get_ex(answer, "jobs", &list) && json_object_is_type(list, json_type_array))
            for (size_t i = 0; i < json_object_array_length(list); i++)
            {
                json_object *j = json_object_array_get_idx(list, i);
                const char *jc = json_member_string(j, "cluster");
                if (!cluster || (jc && !strcmp(jc, cluster)))
                    json_object_array_add(kept, json_object_get(j));
            }
        if (o.json)
        {
            json_object *out = json_object_new_object();
            json_object_object_add(out, "jobs", kept);
            print_json(out);
            json_object_put(out);
        }
        else
        {
            printf("%-6s %-16s %-8s %-10s %-24s %s\n", "ID", "CLUSTER", "KIND", "STATE", "CREATED", "RESULT / REASON");
            for (size_t i = 0; i < json_object_array_length(kept); i++)
                print_job_row(json_object_array_get_idx(kept, i));
            json_object_put(kept);
        }
    }
    json_object_put(answer);
    client_close(&mc);
    return rc;
}

/* ---- info ---- */

static void
print_backup_row(json_object *b)
{
    json_object *v, *cp = NULL;
    char size[32] = "-", stored[32] = "-";
    if (json_object_object_get_ex(b, "size", &v))
        format_bytes((uint64_t) json_object_get_int64(v), size, sizeof(size));
    if (json_object_object_get_ex(b, "stored_size", &v))
        format_bytes((uint64_t) json_object_get_int64(v), stored, sizeof(stored));
    double duration = json_object_object_get_ex(b, "duration", &v) ? json_object_get_double(v) : 0;
    json_object_object_get_ex(b, "end_cp", &cp);
    const char *scope = json_member_string(b, "scope");
    char *what = scope && !strcmp(scope, "shard") && json_member_string(b, "shard") ? xprintf("shard %s", json_member_string(b, "shard"))
                                                                      : xstrdup(scope ? scope : "-");
    printf("%-20s %-14s %10s %10s %8.1fs  %s (%s)\n", json_member_string(b, "id") ? json_member_string(b, "id") : "?", what, size, stored,
           duration, json_member_string(cp, "name") ? json_member_string(cp, "name") : "-", json_member_string(cp, "time") ? json_member_string(cp, "time") : "-");
    free(what);
}

int
client_info(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_LONG_OPTIONS,
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {NULL, 0, NULL, 0},
    };
    ClientOptions o;
    client_options_init(&o);
    const char *cluster = NULL;
    int c, code;
    Error err;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = client_option(&o, c, optarg, "info", info_usage, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_CLUSTER: cluster = optarg; break;
            default: return bad_option("info", argv, c);
        }
    }
    if (optind != argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    if (cluster && topology_name_check("--cluster", cluster, &err) != 0)
        return cli_usage_error("info", "%s", err.msg);
    if (!o.manager || !*o.manager)
        return cli_usage_error("info", "%s needs the cluster manager: give --manager URL or set STRATA_MANAGER "
                                       "(strata info --pool POOL lists the pool's nodes locally)",
                               cluster ? "--cluster" : "listing clusters");
    ManagerClient mc;
    if ((code = open_client(&mc, &o, "info")) != CLI_CONTINUE)
        return code;
    int rc = 0, status;
    json_object *clusters = NULL, *backups = NULL, *window = NULL;
    if (!cluster)
    {
        if (client_request(&mc, "GET", "/api/v1/clusters", NULL, &status, &clusters, &err) != 0)
            rc = cli_fail(&err);
        else if (o.json)
            print_json(clusters);
        else
        {
            json_object *list, *v;
            printf("%-20s %-7s %-24s %s\n", "CLUSTER", "SHARDS", "CREATED", "ORIGIN");
            if (json_object_object_get_ex(clusters, "clusters", &list) && json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list); i++)
                {
                    json_object *cl = json_object_array_get_idx(list, i);
                    json_object_object_get_ex(cl, "shards", &v);
                    printf("%-20s %-7s %-24s %s\n", json_member_string(cl, "name") ? json_member_string(cl, "name") : "?",
                           v ? json_object_to_json_string(v) : "-", json_member_string(cl, "created_at") ? json_member_string(cl, "created_at") : "-",
                           json_member_string(cl, "origin") ? json_member_string(cl, "origin") : "-");
                }
        }
    }
    else
    {
        char *bpath = xprintf("/api/v1/clusters/%s/backups", cluster);
        char *wpath = xprintf("/api/v1/clusters/%s/window", cluster);
        if (client_request(&mc, "GET", bpath, NULL, &status, &backups, &err) != 0 ||
            client_request(&mc, "GET", wpath, NULL, &status, &window, &err) != 0)
            rc = cli_fail(&err);
        else if (o.json)
        {
            json_object *out = json_object_new_object(), *list;
            json_object_object_add(out, "cluster", json_object_new_string(cluster));
            json_object_object_add(out, "window", json_object_get(window));
            if (json_object_object_get_ex(backups, "backups", &list))
                json_object_object_add(out, "backups", json_object_get(list));
            print_json(out);
            json_object_put(out);
        }
        else
        {
            const char *from = json_member_string(window, "from"), *to = json_member_string(window, "to");
            if (from && to)
                printf("cluster %s: recoverable from %s to %s\n", cluster, from, to);
            else
                printf("cluster %s: nothing recoverable yet%s%s\n", cluster, json_member_string(window, "reason") ? ": " : "",
                       json_member_string(window, "reason") ? json_member_string(window, "reason") : "");
            json_object *list;
            if (json_object_object_get_ex(backups, "backups", &list) && json_object_is_type(list, json_type_array) &&
                json_object_array_length(list) > 0)
            {
                printf("%-20s %-14s %10s %10s %9s  %s\n", "BACKUP", "SCOPE", "SIZE", "STORED", "DURATION",
                       "END CP (time)");
                for (size_t i = 0; i < json_object_array_length(list); i++)
                    print_backup_row(json_object_array_get_idx(list, i));
            }
            else
                printf("no complete backups\n");
        }
        free(bpath);
        free(wpath);
    }
    json_object_put(clusters);
    json_object_put(backups);
    json_object_put(window);
    client_close(&mc);
    return rc;
}
