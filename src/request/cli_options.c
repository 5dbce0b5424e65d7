#include <stdlib.h>
#include <string.h>

#include "request/cli_options.h"
#include "common/util.h"

/* COMMON_LONG_OPTIONS, then the schema's fields not named by one of them,
 * numbered from OPT_FIRST_COMMAND_OPTION by their index in the schema. */
static struct option *
long_options(const RequestSchema *s)
{
    static const struct option common[] = {COMMON_LONG_OPTIONS};
    const size_t ncommon = sizeof(common) / sizeof(common[0]);
    struct option *opts = xcalloc(ncommon + s->nfields + 1, sizeof(*opts));
    size_t n = 0;
    for (size_t i = 0; i < ncommon; i++)
        opts[n++] = common[i];
    for (size_t i = 0; i < s->nfields; i++)
    {
        bool shadowed = false;
        for (size_t k = 0; k < ncommon; k++)
            shadowed = shadowed || !strcmp(common[k].name, s->fields[i].flag);
        if (!shadowed)
            opts[n++] = (struct option) {s->fields[i].flag,
                                         s->fields[i].type == FIELD_FLAG ? no_argument : required_argument, NULL,
                                         OPT_FIRST_COMMAND_OPTION + (int) i};
    }
    return opts;
}

int
cli_request_options(const char *cmd, const char *usage, const RequestSchema *schema, void *req, CommonOptions *co,
                    int argc, char **argv)
{
    struct option *opts = long_options(schema);
    Error err;
    int c, code = CLI_CONTINUE;
    opterr = 0;
    optind = 1;
    while (code == CLI_CONTINUE && (c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(co, c, optarg, cmd, usage, &code);
        if (h != 0)
            continue;   /* handled, or code set */
        size_t f = (size_t) (c - OPT_FIRST_COMMAND_OPTION);
        if (c < OPT_FIRST_COMMAND_OPTION || f >= schema->nfields)
            code = cli_bad_option(cmd, argv, c);
        else if (request_set_flag(schema, req, schema->fields[f].flag, optarg, &err) != 0)
            code = cli_usage_error(cmd, "%s", err.msg);
    }
    if (code == CLI_CONTINUE && optind != argc)
        code = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    free(opts);
    return code;
}
