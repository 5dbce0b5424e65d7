/* The request codec: the same restore request through command-line flags
 * and through JSON gives the same validated request (compared as
 * restore_request_to_json output), and the same bad input the same error. */
#include <string.h>

#include "request/backup_request.h"
#include "request/restore_request.h"
#include "unit.h"

/* Parses argv (NULL-terminated after "restore") or JSON text, validates
 * (place `where`); returns the to_json text (caller frees) or NULL with the
 * error in msg. */
static char *
through_argv(const char **args, RestoreRequestPlace where, char *msg, size_t len)
{
    char *argv[32] = {"restore"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *) args[argc - 1];
    RestoreRequest r;
    restore_request_init(&r);
    Error err;
    char *out = NULL;
    if (restore_request_from_argv(argc, argv, &r, &err) == 0 && restore_request_validate(&r, where, &err) == 0)
    {
        json_object *j = restore_request_to_json(&r);
        out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
    }
    else
        snprintf(msg, len, "%s", err.msg);
    restore_request_free(&r);
    return out;
}

static char *
through_json(const char *text, RestoreRequestPlace where, char *msg, size_t len)
{
    json_object *body = json_tokener_parse(text);
    RestoreRequest r;
    restore_request_init(&r);
    Error err;
    char *out = NULL;
    if (restore_request_from_json(body, &r, &err) == 0 && restore_request_validate(&r, where, &err) == 0)
    {
        json_object *j = restore_request_to_json(&r);
        out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
    }
    else
        snprintf(msg, len, "%s", err.msg);
    json_object_put(body);
    restore_request_free(&r);
    return out;
}

/* Both paths accept and agree, or both refuse; the JSON error is the
 * flag's error with "key" for --key (and _ for -). */
static void
same(const char *name, const char **args, const char *json, RestoreRequestPlace where, bool ok, const char *expect)
{
    char m1[4096] = "", m2[4096] = "";
    char *a = through_argv(args, where, m1, sizeof(m1));
    char *b = through_json(json, where, m2, sizeof(m2));
    char label[9000];
    snprintf(label, sizeof(label), "%s: %s", name, ok ? "accepted by both" : "refused by both");
    CHECK(ok ? a && b : !a && !b, label);
    if (ok && a && b)
    {
        snprintf(label, sizeof(label), "%s: same validated request (%s)", name, a);
        CHECK(!strcmp(a, b), label);
    }
    if (!ok)
    {
        snprintf(label, sizeof(label), "%s: flag error '%s' says '%s'", name, m1, expect);
        CHECK(strstr(m1, expect) != NULL, label);
        snprintf(label, sizeof(label), "%s: JSON error '%s' says '%s'", name, m2, expect);
        CHECK(strstr(m2, expect) != NULL, label);
    }
    free(a);
    free(b);
}

/* The same for backup requests. */
static char *
backup_through(const char **args, const char *json, BackupRequestPlace where, char *msg, size_t len)
{
    BackupRequest r;
    backup_request_init(&r);
    Error err;
    int rc;
    json_object *body = NULL;
    if (args)
    {
        char *argv[32] = {"backup"};
        int argc = 1;
        for (; args[argc - 1]; argc++)
            argv[argc] = (char *) args[argc - 1];
        rc = backup_request_from_argv(argc, argv, &r, &err);
    }
    else
    {
        body = json_tokener_parse(json);
        rc = backup_request_from_json(body, &r, &err);
    }
    char *out = NULL;
    if (rc == 0 && backup_request_validate(&r, where, &err) == 0)
    {
        json_object *j = backup_request_to_json(&r);
        out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
    }
    else
        snprintf(msg, len, "%s", err.msg);
    json_object_put(body);
    backup_request_free(&r);
    return out;
}

static void
backup_same(const char *name, const char **args, const char *json, BackupRequestPlace where, bool ok,
            const char *expect)
{
    char m1[4096] = "", m2[4096] = "", label[9000];
    char *a = backup_through(args, NULL, where, m1, sizeof(m1));
    char *b = backup_through(NULL, json, where, m2, sizeof(m2));
    snprintf(label, sizeof(label), "backup %s: %s", name, ok ? "accepted by both" : "refused by both");
    CHECK(ok ? a && b : !a && !b, label);
    if (ok && a && b)
    {
        snprintf(label, sizeof(label), "backup %s: same validated request (%s)", name, a);
        CHECK(!strcmp(a, b), label);
    }
    if (!ok)
    {
        snprintf(label, sizeof(label), "backup %s: flag error '%s' says '%s'", name, m1, expect);
        CHECK(strstr(m1, expect) != NULL, label);
        snprintf(label, sizeof(label), "backup %s: JSON error '%s' says '%s'", name, m2, expect);
        CHECK(strstr(m2, expect) != NULL, label);
    }
    free(a);
    free(b);
}

static void
backup_cases(void)
{
    const char *node[] = {"--node", "c1/shard1", "--pgdata", "/srv/pg", "--compress", "lz4", "--jobs", "3",
                          "--max-rate", "10M", "--label", "nightly", "--cipher", "none", NULL};
    backup_same("node backup", node,
                "{\"node\": \"c1/shard1\", \"pgdata\": \"/srv/pg\", \"compress\": \"lz4\", \"jobs\": 3,"
                " \"max_rate\": \"10M\", \"label\": \"nightly\", \"cipher\": \"none\"}", BACKUP_AT_LOCAL, true, NULL);
    const char *shard[] = {"--cluster", "c1", "--shard", "shard2", NULL};
    backup_same("manager shard backup", shard, "{\"cluster\": \"c1\", \"shard\": \"shard2\"}",
                BACKUP_AT_MANAGER, true, NULL);
    const char *no_meta[] = {"--cluster", "c1", NULL};
    backup_same("local cluster without meta-conn", no_meta, "{\"cluster\": \"c1\"}", BACKUP_AT_LOCAL, false,
                "needs meta-conn");
    const char *mixed[] = {"--cluster", "c1", "--meta-conn", "host=x", "--pgdata", "/d", NULL};
    backup_same("cluster with pgdata", mixed,
                "{\"cluster\": \"c1\", \"meta_conn\": \"host=x\", \"pgdata\": \"/d\"}", BACKUP_AT_LOCAL,
                false, "do not apply");
    const char *level[] = {"--node", "c1/s", "--pgdata", "/d", "--compress-level", "99", NULL};
    backup_same("level out of range", level, "{\"node\": \"c1/s\", \"pgdata\": \"/d\", \"compress_level\": 99}",
                BACKUP_AT_LOCAL, false, "99");
    const char *unknown[] = {"--cluster", "c1", "--colour", "red", NULL};
    backup_same("unknown field", unknown, "{\"cluster\": \"c1\", \"colour\": \"red\"}", BACKUP_AT_MANAGER,
                false, "colour");
    const char *wrong[] = {"--node", "c1/s", "--pgdata", "/d", "--jobs", "many", NULL};
    backup_same("wrong type", wrong, "{\"node\": \"c1/s\", \"pgdata\": \"/d\", \"jobs\": \"many\"}",
                BACKUP_AT_LOCAL, false, "jobs");
    const char *at_manager[] = {"--cluster", "c1", "--jobs", "4", NULL};
    backup_same("node field through the manager", at_manager, "{\"cluster\": \"c1\", \"jobs\": 4}",
                BACKUP_AT_MANAGER, false, "not taken by a backup through the cluster manager");
    const char *cl_incr[] = {"--cluster", "c1", "--type", "incr", NULL};
    backup_same("incremental cluster backup through the manager", cl_incr, "{\"cluster\": \"c1\", \"type\": \"incr\"}",
                BACKUP_AT_MANAGER, true, NULL);
    const char *parent[] = {"--node", "c1/s", "--pgdata", "/d", "--type", "diff", "--parent", "20261202-101500F", NULL};
    backup_same("diff on a named parent", parent,
                "{\"node\": \"c1/s\", \"pgdata\": \"/d\", \"type\": \"diff\", \"parent\": \"20261202-101500F\"}",
                BACKUP_AT_LOCAL, true, NULL);
    const char *full_parent[] = {"--node", "c1/s", "--pgdata", "/d", "--parent", "20261202-101500F", NULL};
    backup_same("a full with a parent", full_parent,
                "{\"node\": \"c1/s\", \"pgdata\": \"/d\", \"parent\": \"20261202-101500F\"}", BACKUP_AT_LOCAL,
                false, "a full backup has no parent");
    const char *cl_parent[] = {"--cluster", "c1", "--meta-conn", "host=x", "--type", "incr", "--parent", "x", NULL};
    backup_same("a cluster with a parent", cl_parent,
                "{\"cluster\": \"c1\", \"meta_conn\": \"host=x\", \"type\": \"incr\", \"parent\": \"x\"}",
                BACKUP_AT_LOCAL, false, "chooses each replica set's parent itself");
}

int
main(void)
{
    const char *node_time[] = {"--node", "c1/shard1", "--target-dir", "/tmp/d", "--time", "2026-11-24 15:50:37+00",
                               "--jobs", "4", "--set", "work_mem=8MB", "--max-rate", "10M", "--start", NULL};
    same("node restore to a time", node_time,
         "{\"node\": \"c1/shard1\", \"target_dir\": \"/tmp/d\", \"time\": \"2026-11-24 15:50:37+00\", \"jobs\": 4,"
         " \"settings\": [\"work_mem=8MB\"], \"max_rate\": \"10M\", \"start\": true}",
         RESTORE_AT_LOCAL, true, NULL);
    const char *node_default[] = {"--node", "c1/shard1", "--target-dir", "/tmp/d", NULL};
    same("no target: latest", node_default, "{\"node\": \"c1/shard1\", \"target_dir\": \"/tmp/d\", \"latest\": true}",
         RESTORE_AT_LOCAL, true, NULL);
    const char *shard_gtxid[] = {"--cluster", "c1", "--shard", "shard2", "--to", "c2", "--gtxid", "42:7", NULL};
    same("manager shard restore to a gtxid", shard_gtxid,
         "{\"cluster\": \"c1\", \"shard\": \"shard2\", \"to\": \"c2\", \"gtxid\": \"42:7\"}", RESTORE_AT_MANAGER, true,
         NULL);
    /* the cut of --time/--gtxid (docs/design.md, "Exact cluster targets") */
    const char *cut_exact[] = {"--cluster", "c1", "--to", "c2", "--time", "2026-11-24 15:50:37+00", "--cut", "exact",
                               "--primaries-only", "--dir", "/srv/c2", "--base-port", "26000", NULL};
    same("cluster restore, exact cut, primaries only", cut_exact,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"time\": \"2026-11-24 15:50:37+00\", \"cut\": \"exact\","
         " \"primaries_only\": true, \"dir\": \"/srv/c2\", \"base_port\": 26000}", RESTORE_AT_LOCAL, true, NULL);
    const char *cut_bad[] = {"--cluster", "c1", "--to", "c2", "--time", "2026-11-24 15:50:37+00", "--cut", "fast",
                             "--dir", "/srv/c2", "--base-port", "26000", NULL};
    same("a cut that is none", cut_bad,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"time\": \"2026-11-24 15:50:37+00\", \"cut\": \"fast\","
         " \"dir\": \"/srv/c2\", \"base_port\": 26000}", RESTORE_AT_LOCAL, false, "is not auto, exact or cp");
    const char *cut_cp_target[] = {"--cluster", "c1", "--to", "c2", "--cp", "cp-1", "--cut", "exact", "--dir", "/srv/c2",
                                   "--base-port", "26000", NULL};
    same("an exact cut of a CP target", cut_cp_target,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"cp\": \"cp-1\", \"cut\": \"exact\", \"dir\": \"/srv/c2\","
         " \"base_port\": 26000}", RESTORE_AT_LOCAL, false, "applies to time and gtxid targets only");
    const char *cluster_cp[] = {"--cluster", "c1", "--to", "c2", "--cp", "cp-1", "--dir", "/srv/c2", "--base-port",
                                "26000", NULL};
    same("local cluster restore to a CP", cluster_cp,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"cp\": \"cp-1\", \"dir\": \"/srv/c2\", \"base_port\": 26000}",
         RESTORE_AT_LOCAL, true, NULL);

    const char *placed[] = {"--cluster", "c1", "--to", "c2", "--placement", "/etc/strata/p.json", "--hosts",
                            "db1,db2", NULL};
    same("cluster restore on a placement's hosts", placed,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"placement\": \"/etc/strata/p.json\", \"hosts\": \"db1,db2\"}",
         RESTORE_AT_LOCAL, true, NULL);
    const char *hosts_only[] = {"--cluster", "c1", "--to", "c2", "--hosts", "10.0.1.21,10.0.1.22", NULL};
    same("manager restore on node managers' hosts", hosts_only,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"hosts\": \"10.0.1.21,10.0.1.22\"}", RESTORE_AT_MANAGER, true,
         NULL);
    const char *placed_dir[] = {"--cluster", "c1", "--to", "c2", "--placement", "/p.json", "--dir", "/srv", NULL};
    same("placement with dir", placed_dir, "{\"cluster\": \"c1\", \"to\": \"c2\", \"placement\": \"/p.json\", \"dir\": \"/srv\"}",
         RESTORE_AT_LOCAL, false, "not with dir");
    const char *bad_hosts[] = {"--cluster", "c1", "--to", "c2", "--hosts", "db1,,db2", NULL};
    same("hosts with an empty name", bad_hosts, "{\"cluster\": \"c1\", \"to\": \"c2\", \"hosts\": \"db1,,db2\"}",
         RESTORE_AT_MANAGER, false, "separated by commas");
    const char *rel_placement[] = {"--cluster", "c1", "--to", "c2", "--placement", "p.json", NULL};
    same("relative placement", rel_placement, "{\"cluster\": \"c1\", \"to\": \"c2\", \"placement\": \"p.json\"}",
         RESTORE_AT_MANAGER, false, "absolute path");

    const char *two[] = {"--cluster", "c1", "--to", "c2", "--cp", "a", "--latest", NULL};
    same("two targets", two, "{\"cluster\": \"c1\", \"to\": \"c2\", \"cp\": \"a\", \"latest\": true}",
         RESTORE_AT_MANAGER, false, "give one target at most");
    const char *no_to[] = {"--cluster", "c1", NULL};
    same("no new name", no_to, "{\"cluster\": \"c1\"}", RESTORE_AT_MANAGER, false, "needs \"to\"");
    const char *bad_lsn[] = {"--node", "c1/s", "--target-dir", "/d", "--lsn", "zz", NULL};
    same("bad LSN", bad_lsn, "{\"node\": \"c1/s\", \"target_dir\": \"/d\", \"lsn\": \"zz\"}", RESTORE_AT_LOCAL, false,
         "'zz' is not an LSN");
    const char *bad_time[] = {"--cluster", "c1", "--to", "c2", "--time", "yesterday", NULL};
    same("bad time", bad_time, "{\"cluster\": \"c1\", \"to\": \"c2\", \"time\": \"yesterday\"}", RESTORE_AT_MANAGER,
         false, "'yesterday' is not a time");
    const char *unknown[] = {"--cluster", "c1", "--to", "c2", "--colour", "red", NULL};
    same("unknown field", unknown, "{\"cluster\": \"c1\", \"to\": \"c2\", \"colour\": \"red\"}", RESTORE_AT_MANAGER,
         false, "colour");
    const char *wrong_type[] = {"--cluster", "c1", "--to", "c2", "--base-port", "many", NULL};
    same("wrong type", wrong_type, "{\"cluster\": \"c1\", \"to\": \"c2\", \"base_port\": \"many\"}",
         RESTORE_AT_MANAGER, false, "base");
    const char *xid_cluster[] = {"--cluster", "c1", "--to", "c2", "--xid", "1234", NULL};
    same("per-shard target on a cluster", xid_cluster, "{\"cluster\": \"c1\", \"to\": \"c2\", \"xid\": \"1234\"}",
         RESTORE_AT_LOCAL, false, "restores to a consistency point");
    const char *node_at_manager[] = {"--cluster", "c1", "--to", "c2", "--jobs", "3", NULL};
    same("node-only field through the manager", node_at_manager,
         "{\"cluster\": \"c1\", \"to\": \"c2\", \"jobs\": 3}", RESTORE_AT_MANAGER, false,
         "not taken by a restore through the cluster manager");
    backup_cases();
    UNIT_DONE();
}
