/* strata expire: the command line over expire_run(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "request/cli_options.h"
#include "common/util.h"
#include "expire/expire.h"
#include "pool/lease.h"

static const char usage_text[] =
    "usage: strata expire --pool POOL --cluster C [--shard S] (--keep N | --keep-days D)\n"
    "                     [--meta-conn CONNINFO] [--interrupted-after DURATION] [--dry-run] [--output json]\n"
    "       strata expire --pool POOL --node NODE (--keep N | --keep-days D) [--interrupted-after DURATION]\n"
    "                     [--dry-run] [--output json]\n"
    "  Removes backups beyond the retention (a cluster backup: its cluster.manifest first, then\n"
    "  every node backup it references), the WAL that no kept backup needs, and (cluster mode)\n"
    "  the consistency points older than the oldest kept backup's end CP.\n"
    "  --cluster C       whole-cluster backups of C (with --shard S: the shard backups of S)\n"
    "  --node NODE       the backups of one pool node (not those that are part of a cluster backup)\n"
    "  --keep N          keep the newest N complete backups\n"
    "  --keep-days D     keep what restores to any moment of the last D days: the backups\n"
    "                    started in them and the newest one before\n"
    "  --meta-conn CONN  the metadata database: expired backups are marked 'expired' in\n"
    "                    strata.backups (optional; the pool is the reference)\n"
    "  --interrupted-after DURATION\n"
    "                    a backup without a manifest whose lease was not renewed for this long\n"
    "                    (90s, 30min, 2h; default 30min, at least 20s) was interrupted: it is\n"
    "                    removed, and so are the node backups of an interrupted cluster backup\n"
    "  --dry-run         say what would be removed, remove nothing\n"
    "  The newest complete backup is never removed. A backup in progress (its lease renewed\n"
    "  every 10 s) is left alone, and so is the WAL it may need.\n";

static void
print_text(json_object *r)
{
    json_object *v;
    bool dry = json_object_object_get_ex(r, "dry_run", &v) && json_object_get_boolean(v);
    const char *verb = dry ? "would remove" : "removed";
    json_object *a;
    json_object_object_get_ex(r, "removed_backups", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
    {
        json_object *b = json_object_array_get_idx(a, i), *nodes;
        printf("%s backup %s", verb, json_object_get_string(json_object_object_get(b, "id")));
        if (json_object_object_get_ex(b, "nodes", &nodes))
        {
            printf(" (");
            for (size_t k = 0; k < json_object_array_length(nodes); k++)
            {
                json_object *n = json_object_array_get_idx(nodes, k);
                printf("%s%s %s", k ? ", " : "", json_object_get_string(json_object_object_get(n, "node")),
                       json_object_get_string(json_object_object_get(n, "backup")));
            }
            printf(")");
        }
        printf("\n");
    }
    json_object_object_get_ex(r, "removed_wal", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
    {
        json_object *w = json_object_array_get_idx(a, i);
        char sz[32];
        format_bytes((uint64_t) json_object_get_int64(json_object_object_get(w, "stored_bytes")), sz, sizeof(sz));
        printf("%s WAL of %s: %lld segment(s) %s .. %s (%s); kept from %s, the start of backup %s\n", verb,
               json_object_get_string(json_object_object_get(w, "node")),
               (long long) json_object_get_int64(json_object_object_get(w, "segments")),
               json_object_get_string(json_object_object_get(w, "first")),
               json_object_get_string(json_object_object_get(w, "last")), sz,
               json_object_get_string(json_object_object_get(w, "kept_from")),
               json_object_get_string(json_object_object_get(w, "oldest_kept_backup")));
    }
    json_object_object_get_ex(r, "removed_cps", &a);
    if (json_object_array_length(a) > 0)
        printf("%s %zu consistency point(s): %s .. %s\n", verb, json_object_array_length(a),
               json_object_get_string(json_object_array_get_idx(a, 0)),
               json_object_get_string(json_object_array_get_idx(a, json_object_array_length(a) - 1)));
    json_object_object_get_ex(r, "kept", &a);
    printf("kept %zu backup(s):", json_object_array_length(a));
    for (size_t i = 0; i < json_object_array_length(a); i++)
        printf(" %s", json_object_get_string(json_object_array_get_idx(a, i)));
    printf("\n");
    json_object_object_get_ex(r, "removed_interrupted", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
    {
        json_object *b = json_object_array_get_idx(a, i), *node;
        bool is_node = json_object_object_get_ex(b, "node", &node);
        printf("%s %s %s of %s: %s\n", verb, is_node ? "backup" : "cluster backup",
               json_object_get_string(json_object_object_get(b, "id")),
               json_object_get_string(is_node ? node : json_object_object_get(b, "cluster")),
               json_object_get_string(json_object_object_get(b, "why")));
    }
    json_object_object_get_ex(r, "incomplete", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
    {
        json_object *b = json_object_array_get_idx(a, i);
        printf("left incomplete backup %s of %s: %s\n", json_object_get_string(json_object_object_get(b, "id")),
               json_object_get_string(json_object_object_get(b, "node")),
               json_object_get_string(json_object_object_get(b, "problem")));
    }
    json_object_object_get_ex(r, "notes", &a);
    for (size_t i = 0; i < json_object_array_length(a); i++)
        printf("note: %s\n", json_object_get_string(json_object_array_get_idx(a, i)));
    if (json_object_object_get_ex(r, "catalog", &v) && strcmp(json_object_get_string(v), "not given"))
        printf("catalog: %s\n", json_object_get_string(v));
}

int
cmd_expire(int argc, char **argv)
{
    CommonOptions co;
    common_options_init(&co);
    co.node = NULL;   /* STRATA_NODE would silently pick single-node mode */
    ExpireRequest req;
    expire_request_init(&req);
    Error err;
    int code = cli_request_options("expire", usage_text, expire_request_schema(), &req, &co, argc, argv);
    if (code == CLI_CONTINUE && co.node && expire_request_set_flag(&req, "node", co.node, &err) != 0)
        code = cli_usage_error("expire", "%s", err.msg);
    if (code == CLI_CONTINUE && !co.pool)
        code = cli_usage_error("expire", "--pool is required (or STRATA_POOL)");
    if (code == CLI_CONTINUE && expire_request_validate(&req, EXPIRE_AT_LOCAL, &err) != 0)
        code = cli_usage_error("expire", "%s", err.msg);
    if (code != CLI_CONTINUE)
    {
        expire_request_free(&req);
        return code;
    }
    ExpireOptions o;
    expire_options_from_request(&o, &req, co.pool);
    json_object *report;
    int rc = expire_run(&o, &report, &err);
    if (report)
    {
        if (co.json)
            cli_json_result(json_object_get(report));
        else if (rc == 0 || json_object_array_length(json_object_object_get(report, "removed_backups")) > 0)
            print_text(report);
        json_object_put(report);
    }
    int ret = rc == 0 ? 0 : cli_fail(&err);
    expire_request_free(&req);
    return ret;
}
