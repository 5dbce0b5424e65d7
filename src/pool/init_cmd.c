/* strata pool-init: a pool is created on purpose, never by a typo in --pool. */
#include <stdio.h>

#include "cli/cli.h"
#include "common/log.h"
#include "pool/pool.h"

static const char usage_text[] = "usage: strata pool-init --pool PATH\n"
                                 "  Creates an empty backup pool (a new or empty directory).\n";

int
cmd_pool_init(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    CommonOptions co;
    common_options_init(&co);
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "pool-init", usage_text, &code);
        if (h < 0)
            return code;
        if (!h)
            return cli_bad_option("pool-init", argv, c);
    }
    if (optind != argc)
        return cli_usage_error("pool-init", "unexpected argument '%s'", argv[optind]);
    if (!co.pool)
        return cli_usage_error("pool-init", "--pool is required");
    Error err;
    if (pool_init(co.pool, &err) != 0)
        return cli_fail(&err);
    log_info("created pool %s", co.pool);
    if (co.json)
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "pool", json_object_new_string(co.pool));
        json_object_object_add(doc, "created", json_object_new_boolean(1));
        cli_json_result(doc);
    }
    return 0;
}
