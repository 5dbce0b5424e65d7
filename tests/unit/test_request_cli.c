/* The expire and CP requests' codecs: the same request through the
 * command line (request/cli_options.c, the parser `strata expire` and
 * `strata cp` run) and through JSON (the manager's expire job, POST
 * .../cps) gives the same validated request, and the same bad input the
 * same error. */
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "request/cli_options.h"
#include "request/codec.h"
#include "request/cp_request.h"
#include "request/expire_request.h"
#include "unit.h"

/* One request type, through void pointers: the harness is shared. */
typedef struct Kind
{
    const char *cmd;
    const RequestSchema *(*schema)(void);
    void (*init)(void *r);
    void (*free)(void *r);
    int (*set_flag)(void *r, const char *flag, const char *value, Error *err);
    int (*from_json)(json_object *body, void *r, Error *err);
    int (*validate)(const void *r, int where, Error *err);
    json_object *(*to_json)(const void *r);
} Kind;

static void e_init(void *r) { expire_request_init(r); }
static void e_free(void *r) { expire_request_free(r); }
static int e_set(void *r, const char *f, const char *v, Error *err) { return expire_request_set_flag(r, f, v, err); }
static int e_json(json_object *b, void *r, Error *err) { return expire_request_from_json(b, r, err); }
static int e_valid(const void *r, int w, Error *err) { return expire_request_validate(r, (ExpireRequestPlace) w, err); }
static json_object *e_out(const void *r) { return expire_request_to_json(r); }
static const Kind expire_kind = {"expire", expire_request_schema, e_init, e_free, e_set, e_json, e_valid, e_out};

static void c_init(void *r) { cp_request_init(r); }
static void c_free(void *r) { cp_request_free(r); }
static int c_set(void *r, const char *f, const char *v, Error *err) { return cp_request_set_flag(r, f, v, err); }
static int c_json(json_object *b, void *r, Error *err) { return cp_request_from_json(b, r, err); }
static int c_valid(const void *r, int w, Error *err) { return cp_request_validate(r, (CpRequestPlace) w, err); }
static json_object *c_out(const void *r) { return cp_request_to_json(r); }
static const Kind cp_kind = {"cp", cp_request_schema, c_init, c_free, c_set, c_json, c_valid, c_out};

/* Room for either request. */
typedef union AnyRequest
{
    ExpireRequest e;
    CpRequest c;
} AnyRequest;

static char *
validated(const Kind *k, AnyRequest *r, int where, char *msg, size_t len)
{
    Error err;
    if (k->validate(r, where, &err) != 0)
    {
        snprintf(msg, len, "%s", err.msg);
        return NULL;
    }
    json_object *j = k->to_json(r);
    char *out = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
    return out;
}

/* The validated request as JSON text (caller frees), or NULL with the
 * error in msg (the usage error the command line printed). args:
 * NULL-terminated flags after the command; --node goes through the common
 * options, as in cmd_expire. */
static char *
through_cli(const Kind *k, const char **args, int where, char *msg, size_t len)
{
    char *argv[32] = {(char *) k->cmd};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *) args[argc - 1];
    CommonOptions co;
    common_options_init(&co);
    co.node = NULL;
    AnyRequest r;
    k->init(&r);
    Error err;
    char *out = NULL;
    /* a usage error is printed on stderr: read it back */
    fflush(stderr);
    FILE *cap = tmpfile();
    int saved = dup(2);
    dup2(fileno(cap), 2);
    int code = cli_request_options(k->cmd, "usage\n", k->schema(), &r, &co, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(cap);
    size_t n = fread(msg, 1, len - 1, cap);
    msg[n] = '\0';
    fclose(cap);
    for (char *ch = msg; *ch; ch++)
        *ch = *ch == '\n' ? ' ' : *ch;
    if (code == CLI_CONTINUE && co.node && k->set_flag(&r, "node", co.node, &err) != 0)
        snprintf(msg, len, "%s", err.msg);
    else if (code == CLI_CONTINUE)
        out = validated(k, &r, where, msg, len);
    k->free(&r);
    return out;
}

static char *
through_json(const Kind *k, const char *text, int where, char *msg, size_t len)
{
    json_object *body = json_tokener_parse(text);
    AnyRequest r;
    k->init(&r);
    Error err;
    char *out = NULL;
    if (k->from_json(body, &r, &err) == 0)
        out = validated(k, &r, where, msg, len);
    else
        snprintf(msg, len, "%s", err.msg);
    json_object_put(body);
    k->free(&r);
    return out;
}

/* Both accept the same request, or both refuse it saying `expect`. */
static void
same_as(const Kind *k, const char *name, const char **args, const char *json, int where, bool ok, const char *expect)
{
    char m1[4096] = "", m2[4096] = "", label[9000];
    char *a = through_cli(k, args, where, m1, sizeof(m1));
    char *b = through_json(k, json, where, m2, sizeof(m2));
    snprintf(label, sizeof(label), "%s %s: %s", k->cmd, name, ok ? "accepted by both" : "refused by both");
    CHECK(ok ? a && b : !a && !b, label);
    if (ok && a && b)
    {
        snprintf(label, sizeof(label), "%s %s: same validated request (%s / %s)", k->cmd, name, a, b);
        CHECK(!strcmp(a, b), label);
    }
    if (!ok)
    {
        snprintf(label, sizeof(label), "%s %s: flag error '%s' says '%s'", k->cmd, name, m1, expect);
        CHECK(strstr(m1, expect) != NULL, label);
        snprintf(label, sizeof(label), "%s %s: JSON error '%s' says '%s'", k->cmd, name, m2, expect);
        CHECK(strstr(m2, expect) != NULL, label);
    }
    free(a);
    free(b);
}

static void
same(const char *name, const char **args, const char *json, ExpireRequestPlace where, bool ok, const char *expect)
{
    same_as(&expire_kind, name, args, json, (int) where, ok, expect);
}

static void
cp_cases(void)
{
    const char *every[] = {"--cluster", "c1", "--meta-conn", "host=meta", "--every", "5", "--count", "3",
                           "--timeout-ms", "500", NULL};
    same_as(&cp_kind, "every 5 s, 3 times", every,
            "{\"cluster\": \"c1\", \"meta_conn\": \"host=meta\", \"every\": 5, \"count\": 3, \"timeout_ms\": 500}",
            CP_CREATE_AT_LOCAL, true, NULL);
    const char *named[] = {"--cluster", "c1", "--name", "before-upgrade", NULL};
    same_as(&cp_kind, "a named CP through the manager", named,
            "{\"cluster\": \"c1\", \"name\": \"before-upgrade\"}", CP_CREATE_AT_MANAGER, true, NULL);
    const char *no_meta[] = {"--cluster", "c1", NULL};
    same_as(&cp_kind, "create without meta-conn", no_meta, "{\"cluster\": \"c1\"}", CP_CREATE_AT_LOCAL, false,
            "needs meta-conn");
    const char *bad_name[] = {"--cluster", "c1", "--meta-conn", "x", "--name", "../etc", NULL};
    same_as(&cp_kind, "a name that is no pool object's", bad_name,
            "{\"cluster\": \"c1\", \"meta_conn\": \"x\", \"name\": \"../etc\"}", CP_CREATE_AT_LOCAL, false,
            "consistency point name");
    const char *name_every[] = {"--cluster", "c1", "--meta-conn", "x", "--name", "a", "--every", "2", NULL};
    same_as(&cp_kind, "a name with every", name_every,
            "{\"cluster\": \"c1\", \"meta_conn\": \"x\", \"name\": \"a\", \"every\": 2}", CP_CREATE_AT_LOCAL,
            false, "names are generated");
    const char *manager_every[] = {"--cluster", "c1", "--every", "2", NULL};
    same_as(&cp_kind, "every through the manager", manager_every, "{\"cluster\": \"c1\", \"every\": 2}",
            CP_CREATE_AT_MANAGER, false, "does not apply");
    const char *list_name[] = {"--cluster", "c1", "--name", "a", NULL};
    same_as(&cp_kind, "a name when listing", list_name, "{\"cluster\": \"c1\", \"name\": \"a\"}",
            CP_LIST_AT_LOCAL, false, "does not apply to listing");
    const char *slow[] = {"--cluster", "c1", "--meta-conn", "x", "--timeout-ms", "5", NULL};
    same_as(&cp_kind, "a barrier bound below 10 ms", slow,
            "{\"cluster\": \"c1\", \"meta_conn\": \"x\", \"timeout_ms\": 5}", CP_CREATE_AT_LOCAL, false,
            "out of range");
}

/* What the command line takes besides the request: --pool, and a flag
 * the request has not is refused (EXIT_USAGE). */
static void
cli_cases(void)
{
    char *argv[] = {"expire", "--pool", "/srv/pool", "--cluster", "c1", "--keep", "3", "--dry-run", NULL};
    CommonOptions co;
    common_options_init(&co);
    ExpireRequest r;
    expire_request_init(&r);
    int code = cli_request_options("expire", "usage\n", expire_request_schema(), &r, &co, 8, argv);
    CHECK(code == CLI_CONTINUE && co.pool && !strcmp(co.pool, "/srv/pool"), "expire: --pool is a common option");
    CHECK(r.keep == 3 && r.dry_run && r.cluster && !strcmp(r.cluster, "c1"), "expire: the flags set the request");
    expire_request_free(&r);

    char *bad[] = {"expire", "--cluster", "c1", "--keep-last", "3", NULL};
    expire_request_init(&r);
    code = cli_request_options("expire", "usage\n", expire_request_schema(), &r, &co, 5, bad);
    CHECK(code == EXIT_USAGE, "expire: a flag the request has not is a usage error");
    expire_request_free(&r);

    char *abbrev[] = {"expire", "--clus", "c1", "--keep", "3", NULL};
    expire_request_init(&r);
    code = cli_request_options("expire", "usage\n", expire_request_schema(), &r, &co, 5, abbrev);
    CHECK(code == EXIT_USAGE, "expire: an abbreviated flag is refused");
    expire_request_free(&r);
}

int
main(void)
{
    const char *cluster[] = {"--cluster", "c1", "--shard", "shard2", "--keep-days", "7", "--interrupted-after",
                             "2h", NULL};
    same("shard retention by days", cluster,
         "{\"cluster\": \"c1\", \"shard\": \"shard2\", \"keep_days\": 7, \"interrupted_after\": \"2h\"}",
         EXPIRE_AT_MANAGER, true, NULL);
    const char *node[] = {"--node", "c1/shard1", "--keep", "2", "--dry-run", NULL};
    same("node retention, dry run", node, "{\"node\": \"c1/shard1\", \"keep\": 2, \"dry_run\": true}",
         EXPIRE_AT_LOCAL, true, NULL);
    const char *meta[] = {"--cluster", "c1", "--keep", "2", "--meta-conn", "host=meta", NULL};
    same("cluster with its catalog", meta, "{\"cluster\": \"c1\", \"keep\": 2, \"meta_conn\": \"host=meta\"}",
         EXPIRE_AT_LOCAL, true, NULL);

    const char *both[] = {"--cluster", "c1", "--keep", "2", "--keep-days", "3", NULL};
    same("two retentions", both, "{\"cluster\": \"c1\", \"keep\": 2, \"keep_days\": 3}", EXPIRE_AT_LOCAL, false,
         "one of them");
    const char *none[] = {"--cluster", "c1", NULL};
    same("no retention", none, "{\"cluster\": \"c1\"}", EXPIRE_AT_LOCAL, false, "give the retention");
    const char *whose[] = {"--keep", "2", NULL};
    same("neither cluster nor node", whose, "{\"keep\": 2}", EXPIRE_AT_LOCAL, false, "give --cluster C or --node");
    const char *two[] = {"--cluster", "c1", "--node", "c1/shard1", "--keep", "2", NULL};
    same("cluster and node", two, "{\"cluster\": \"c1\", \"node\": \"c1/shard1\", \"keep\": 2}", EXPIRE_AT_LOCAL,
         false, "give --cluster C or --node");
    const char *shard[] = {"--node", "c1/shard1", "--shard", "s2", "--keep", "2", NULL};
    same("shard without cluster", shard, "{\"node\": \"c1/shard1\", \"shard\": \"s2\", \"keep\": 2}",
         EXPIRE_AT_LOCAL, false, "shard needs --cluster");
    const char *zero[] = {"--cluster", "c1", "--keep", "0", NULL};
    same("keep 0", zero, "{\"cluster\": \"c1\", \"keep\": 0}", EXPIRE_AT_LOCAL, false, "keep");
    const char *quick[] = {"--cluster", "c1", "--keep", "1", "--interrupted-after", "5s", NULL};
    same("a lease younger than two renewals", quick, "{\"cluster\": \"c1\", \"keep\": 1, \"interrupted_after\": \"5s\"}",
         EXPIRE_AT_LOCAL, false, "out of range");
    const char *bad_name[] = {"--cluster", "c1;drop", "--keep", "1", NULL};
    same("a cluster name that is none", bad_name, "{\"cluster\": \"c1;drop\", \"keep\": 1}", EXPIRE_AT_LOCAL, false,
         "cluster");
    const char *manager_meta[] = {"--cluster", "c1", "--keep", "1", "--meta-conn", "host=x", NULL};
    same("meta-conn through the manager", manager_meta, "{\"cluster\": \"c1\", \"keep\": 1, \"meta_conn\": \"host=x\"}",
         EXPIRE_AT_MANAGER, false, "not taken by an expire through the cluster manager");
    cli_cases();
    cp_cases();
    UNIT_DONE();
}
