#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "crypto/kek.h"

void
common_options_init(CommonOptions *o)
{
    o->pool = getenv("STRATA_POOL");
    o->node = getenv("STRATA_NODE");
    o->quiet = false;
    o->json = false;
    key_source_from_env();
}

int
common_option(CommonOptions *o, int c, const char *arg, const char *cmd, const char *usage, int *exit_code)
{
    switch (c)
    {
        case OPT_POOL: o->pool = arg; return 1;
        case OPT_NODE: o->node = arg; return 1;
        /* The pool's key: a file, never the key itself on a command line. */
        case OPT_KEY_FILE: key_source_set_key_file(arg); return 1;
        case OPT_PASSPHRASE_FILE: key_source_set_passphrase_file(arg); return 1;
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
            if (!strcmp(arg, "json") || !strcmp(arg, "text"))
                cli_set_json(*json);
            else
            {
                *exit_code = cli_usage_error(cmd, "--output: '%s' is not text or json", arg);
                return -1;
            }
            return 1;
        case OPT_HELP:
            if (cli_json())
            {
                json_object *doc = json_object_new_object();
                json_object_object_add(doc, "usage", json_object_new_string(usage));
                cli_json_result(doc);
            }
            else
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
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *origin = cli_option_origin();
    if (origin)
    {
        size_t n = strlen(msg);
        snprintf(msg + n, sizeof(msg) - n, " (set in %s)", origin);
    }
    log_record_error(msg);
    fprintf(stderr, "strata %s: %s\nTry 'strata %s --help'.\n", cmd, msg, cmd);
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

/* ---- --output json ---- */

static bool json_mode;
static json_object *json_doc;
static bool json_streamed;

void
cli_set_json(bool on)
{
    json_mode = on;
}

bool
cli_json(void)
{
    return json_mode;
}

void
cli_json_result(json_object *doc)
{
    json_object_put(json_doc);
    json_doc = doc;
}

static void
print_doc(json_object *doc, int flags)
{
    printf("%s\n", json_object_to_json_string_ext(doc, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

void
cli_json_stream(json_object *doc)
{
    print_doc(doc, JSON_C_TO_STRING_PLAIN);
    json_object_put(doc);
    json_streamed = true;
}

int
cli_finish(int rc)
{
    if (!json_mode)
    {
        json_object_put(json_doc);
        json_doc = NULL;
        return rc;
    }
    if (json_streamed && !json_doc && rc == 0)
        return rc;
    json_object *doc = json_doc ? json_doc : json_object_new_object();
    json_doc = NULL;
    if (!json_object_is_type(doc, json_type_object))
    {
        /* A list: wrapped so the error and the exit code have a place. */
        json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, "result", doc);
        doc = wrap;
    }
    char msg[ERROR_MSG_MAX];
    log_last_error(msg, sizeof(msg));
    if (rc != 0 && *msg && !json_object_object_get_ex(doc, "error", NULL))
        json_object_object_add(doc, "error", json_object_new_string(msg));
    if (rc != 0 || json_object_object_length(doc) == 0)
    {
        json_object_object_add(doc, "command", json_object_new_string(cli_command_name()));
        json_object_object_add(doc, "exit_code", json_object_new_int(rc));
    }
    print_doc(doc, JSON_C_TO_STRING_PRETTY);
    json_object_put(doc);
    return rc;
}
