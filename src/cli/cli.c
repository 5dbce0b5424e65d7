#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

void
common_options_init(CommonOptions *o)
{
    o->pool = getenv("STRATA_POOL");
    o->node = getenv("STRATA_NODE");
    o->quiet = false;
    o->json = false;
}

int
common_option(CommonOptions *o, int c, const char *arg, const char *cmd, const char *usage, int *exit_code)
{
    switch (c)
    {
        case OPT_POOL: o->pool = arg; return 1;
        case OPT_NODE: o->node = arg; return 1;
        default: return output_option(&o->quiet, &o->json, c, arg, cmd, usage, exit_code);
    }
}

int
output_option(bool *quiet, bool *json, int c, const char *arg, const char *cmd, const char *usage, int *exit_code)
{
    switch (c)
    {
        case OPT_QUIET:
            *quiet = true;
            log_quiet = true;
            return 1;
        case OPT_OUTPUT:
            if (!strcmp(arg, "json"))
                *json = true;
            else if (!strcmp(arg, "text"))
                *json = false;
            else
            {
                *exit_code = cli_usage_error(cmd, "--output: '%s' is not text or json", arg);
                return -1;
            }
            return 1;
        case OPT_HELP:
            fputs(usage, stdout);
            *exit_code = 0;
            return -1;
        default:
            return 0;
    }
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "strata %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'strata %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int
cli_bad_option(const char *cmd, char **argv, int c)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return cli_usage_error(cmd, "option %s needs a value", arg);
    return cli_usage_error(cmd, "unknown option %s", arg);
}

int
cli_fail(const Error *err)
{
    log_error("%s", err->msg);
    return 1;
}
