/* Where every command's options come from, in one place (docs/cli.md,
 * "Configuration file"): the command line first, then the environment
 * (STRATA_<OPTION>), then strata.conf. Every command parses its options
 * with getopt_long, which cli.h maps to cli_getopt_long below: it first
 * hands the command the options it takes that the environment or the file
 * set and the command line does not, then the command line's own. So an
 * option added to any command can be set in the file at once, and option
 * abbreviations (getopt_long takes "--poo" for "--pool") are refused for
 * every command. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config_file.h"
#include "common/log.h"
#include "common/util.h"

#undef getopt_long

/* Options the command line alone gives: what one run is to do (a restore
 * target, --force), never a standing setting. */
static const char *const command_line_only[] = {
    "help", "config", "force", "latest", "time", "xid", "lsn", "name", "immediate", "gtxid", "cp",
    "backup", "id", "cancel", "init", "target-dir", "to", NULL,
};

/* Options every command takes, handled here. */
enum
{
    OWN_CONFIG = 0x7f00,
    OWN_LOG_LEVEL,
    OWN_LOG_FILE,
    OWN_OUTPUT,
};

typedef struct Injected
{
    const struct option *opt;
    const char *value;       /* optarg; NULL for a flag */
    char origin[256];        /* "FILE:LINE" or "environment STRATA_X" */
} Injected;

static struct
{
    const char *command;
    bool have_file;
    ConfigFile file;
    const char *node;        /* selects [NODE] */
    const char *cluster;     /* selects [cluster:NAME] */
    const char *config_path; /* the file read, or NULL */
} settings;

/* The state of the parse loop cli_getopt_long serves. */
static struct
{
    char **argv;
    enum { IDLE, INJECTING, REAL } phase;
    Injected *inj;
    size_t ninj, next;
    struct option *ext;      /* the command's table plus OWN_* */
    const char *origin;      /* of the option just returned, for errors */
} parse;

bool
cli_option_is_command_line_only(const char *name)
{
    for (size_t i = 0; command_line_only[i]; i++)
        if (!strcmp(name, command_line_only[i]))
            return true;
    return false;
}

/* "--NAME VALUE" or "--NAME=VALUE" before "--", by a plain scan: used
 * before the command's option table is known. */
static const char *
scan_argv(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (int i = 1; i < argc; i++)
    {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
            continue;
        if (a[2 + n] == '=')
            found = a + 3 + n;
        else if (a[2 + n] == '\0' && i + 1 < argc)
            found = argv[++i];
    }
    return found;
}

static char *
env_name(const char *option)
{
    char *e = xprintf("STRATA_%s", option);
    for (char *p = e + 7; *p; p++)
        *p = *p == '-' ? '_' : (char) toupper((unsigned char) *p);
    return e;
}

static const char *
env_value(const char *option)
{
    char *name = env_name(option);
    const char *v = getenv(name);
    free(name);
    return v && *v ? v : NULL;
}

static bool
section_applies(const char *section)
{
    if (!strcmp(section, "global"))
        return true;
    if (!strncmp(section, "global:", 7))
        return !strcmp(section + 7, settings.command);
    if (!strncmp(section, "cluster:", 8))
        return settings.cluster && !strcmp(section + 8, settings.cluster);
    return settings.node && !strchr(section, ':') && !strcmp(section, settings.node);
}

/* Most specific first: the node's, the cluster's, the command's, [global]. */
static int
section_rank(const char *section)
{
    if (!strcmp(section, "global"))
        return 3;
    if (!strncmp(section, "global:", 7))
        return 2;
    if (!strncmp(section, "cluster:", 8))
        return 1;
    return 0;
}

/* The file's entries for KEY in the most specific applying section that
 * has it: first index into *first, how many into the return value. */
static size_t
file_entries(const char *key, const ConfigEntry **out, size_t max)
{
    if (!settings.have_file)
        return 0;
    int best = 99;
    for (size_t i = 0; i < settings.file.count; i++)
    {
        const ConfigEntry *e = &settings.file.entries[i];
        if (!strcmp(e->key, key) && section_applies(e->section) && section_rank(e->section) < best)
            best = section_rank(e->section);
    }
    size_t n = 0;
    for (size_t i = 0; i < settings.file.count && n < max; i++)
    {
        const ConfigEntry *e = &settings.file.entries[i];
        if (!strcmp(e->key, key) && section_applies(e->section) && section_rank(e->section) == best)
            out[n++] = e;
    }
    return n;
}

const char *
cli_setting(const char *key)
{
    const char *v = env_value(key);
    if (v)
        return v;
    const ConfigEntry *e;
    return file_entries(key, &e, 1) ? e->value : NULL;
}

const char *
cli_config_path(void)
{
    return settings.config_path;
}

const char *
cli_command_name(void)
{
    return settings.command ? settings.command : "strata";
}

/* A configuration that cannot be used: exit 1, as for the daemons' files. */
static int
setup_error(const char *fmt, const char *arg)
{
    log_error(fmt, arg);
    return 1;
}

/* A daemon's JSON configuration: not INI, and read by the daemon itself. */
static bool
file_is_json(const char *path)
{
    FILE *f = fopen(path, "r");
    char head[256];
    size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f)
        fclose(f);
    return config_text_is_json(head, n);
}

/* --config FILE, else STRATA_CONFIG, else the default file if it exists. */
static int
load_config(int argc, char **argv)
{
    const char *path = scan_argv(argc, argv, "config");
    const char *env = getenv("STRATA_CONFIG");
    if (!path && env && *env)
        path = env;
    if (!path)
    {
        if (access(CONFIG_DEFAULT_PATH, F_OK) != 0)
            return CLI_CONTINUE;
        path = CONFIG_DEFAULT_PATH;
    }
    settings.config_path = path;
    if (file_is_json(path))
        return CLI_CONTINUE;
    Error err;
    ConfigFile f;
    if (config_file_read(path, &f, &err) != 0)
        return setup_error("%s", err.msg);
    for (size_t i = 0; i < f.count; i++)
    {
        if (cli_option_is_command_line_only(f.entries[i].key))
        {
            snprintf(err.msg, sizeof(err.msg), "%s:%d: --%s is given on the command line only (it says what one "
                                               "run does, not a standing setting)", f.path, f.entries[i].line,
                     f.entries[i].key);
            config_file_free(&f);
            return setup_error("%s", err.msg);
        }
    }
    settings.file = f;
    settings.have_file = true;
    return CLI_CONTINUE;
}

static int
apply_log_options(int argc, char **argv)
{
    const char *level = scan_argv(argc, argv, "log-level");
    if (!level)
        level = cli_setting("log-level");
    Error err;
    if (level)
    {
        LogLevel l;
        if (log_parse_level(level, &l, &err) != 0)
            return cli_usage_error(cli_command_name(), "%s", err.msg);
        log_set_level(l);
    }
    const char *file = scan_argv(argc, argv, "log-file");
    if (!file)
        file = cli_setting("log-file");
    if (file && log_open_file(file, &err) != 0)
        return setup_error("%s", err.msg);
    return CLI_CONTINUE;
}

int
cli_setup(const char *command, int argc, char **argv)
{
    settings.command = command;
    log_set_tag(command);
    const char *output = scan_argv(argc, argv, "output");
    if (!output)
        output = env_value("output");
    if (output && !strcmp(output, "json"))
        cli_set_json(true);
    int rc = load_config(argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    settings.node = scan_argv(argc, argv, "node");
    if (!settings.node)
        settings.node = cli_setting("node");
    settings.cluster = scan_argv(argc, argv, "cluster");
    if (!settings.cluster)
        settings.cluster = cli_setting("cluster");
    if (!scan_argv(argc, argv, "output") && cli_setting("output") && !strcmp(cli_setting("output"), "json"))
        cli_set_json(true);
    return apply_log_options(argc, argv);
}

/* ---- the parse loop ---- */

static const struct option *
find_long(const struct option *opts, const char *name, size_t len)
{
    for (const struct option *o = opts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static bool
short_takes_arg(const char *shortopts, char c)
{
    const char *p = strchr(shortopts, c);
    return c != ':' && p && p[1] == ':';
}

/* Walks the command line as getopt_long will: marks the options it gives
 * (by value, so aliases count) and finds the first abbreviated or unknown
 * long option. Returns its index, or 0. */
static int
scan_command_line(int argc, char **argv, const char *shortopts, const struct option *opts, bool *given, size_t nopts)
{
    for (int i = 1; i < argc; i++)
    {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (a[0] != '-' || a[1] == '\0')
            continue;
        if (a[1] != '-')
        {
            for (const char *p = a + 1; *p; p++)
                if (short_takes_arg(shortopts, *p))
                {
                    if (p[1] == '\0')
                        i++;
                    break;
                }
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t) (eq - (a + 2)) : strlen(a + 2);
        const struct option *o = find_long(opts, a + 2, len);
        if (!o)
            return i;
        for (size_t k = 0; k < nopts; k++)
            if (opts[k].val == o->val && opts[k].flag == o->flag)
                given[k] = true;
        if (o->has_arg == required_argument && !eq)
            i++;
    }
    return 0;
}

static bool
bool_value(const char *v, bool *out)
{
    static const char *const yes[] = {"y", "yes", "true", "on", "1", NULL};
    static const char *const no[] = {"n", "no", "false", "off", "0", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (!strcasecmp(v, yes[i]))
            return (*out = true), true;
    for (size_t i = 0; no[i]; i++)
        if (!strcasecmp(v, no[i]))
            return (*out = false), true;
    return false;
}

/* Exits: a bad value in the file or the environment stops the command
 * before it did anything. */
static void
injected_bad_bool(const Injected *in)
{
    int rc = cli_usage_error(cli_command_name(), "--%s takes no value; '%s' (%s) must be y or n", in->opt->name,
                             in->value, in->origin);
    exit(cli_finish(rc));
}

static void
add_injected(const struct option *o, const char *value, const char *origin)
{
    Injected in = {.opt = o, .value = value};
    snprintf(in.origin, sizeof(in.origin), "%s", origin);
    if (o->has_arg == no_argument)
    {
        bool on;
        if (!bool_value(value, &on))
            injected_bad_bool(&in);
        if (!on)
            return;
        in.value = NULL;
    }
    parse.inj = xrealloc(parse.inj, (parse.ninj + 1) * sizeof(Injected));
    parse.inj[parse.ninj++] = in;
}

/* The options of OPTS the command line leaves unset, from the environment
 * or, failing that, from the file. */
static void
collect_injected(const struct option *opts, const bool *given, size_t nopts)
{
    for (size_t k = 0; k < nopts; k++)
    {
        const struct option *o = &opts[k];
        if (given[k] || cli_option_is_command_line_only(o->name))
            continue;
        /* An alias of an option already set (same value) is not set twice. */
        bool dup = false;
        for (size_t j = 0; j < parse.ninj && !dup; j++)
            dup = parse.inj[j].opt->val == o->val && parse.inj[j].opt->flag == o->flag;
        if (dup)
            continue;
        const char *v = env_value(o->name);
        if (v)
        {
            char *name = env_name(o->name);
            char origin[128];
            snprintf(origin, sizeof(origin), "environment %s", name);
            free(name);
            add_injected(o, v, origin);
            continue;
        }
        const ConfigEntry *e[64];
        size_t n = file_entries(o->name, e, 64);
        for (size_t i = 0; i < n; i++)
        {
            char origin[256];
            snprintf(origin, sizeof(origin), "%s:%d", settings.file.path, e[i]->line);
            add_injected(o, e[i]->value, origin);
        }
    }
}

static void
build_extended_table(const struct option *opts, size_t nopts)
{
    static const struct option own[] = {
        {"config", required_argument, NULL, OWN_CONFIG},
        {"log-level", required_argument, NULL, OWN_LOG_LEVEL},
        {"log-file", required_argument, NULL, OWN_LOG_FILE},
        {"output", required_argument, NULL, OWN_OUTPUT},
    };
    free(parse.ext);
    parse.ext = xcalloc(nopts + 5, sizeof(struct option));
    memcpy(parse.ext, opts, nopts * sizeof(struct option));
    size_t n = nopts;
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (!find_long(opts, own[i].name, strlen(own[i].name)))
            parse.ext[n++] = own[i];
}

static int
begin_parse(int argc, char **argv, const char *shortopts, const struct option *opts)
{
    size_t nopts = 0;
    while (opts[nopts].name)
        nopts++;
    build_extended_table(opts, nopts);
    size_t next = 0;
    while (parse.ext[next].name)
        next++;
    bool *given = xcalloc(next + 1, sizeof(bool));
    int bad = scan_command_line(argc, argv, shortopts, parse.ext, given, next);
    free(parse.inj);
    parse.inj = NULL;
    parse.ninj = parse.next = 0;
    parse.argv = argv;
    parse.origin = NULL;
    if (bad)
    {
        free(given);
        parse.phase = IDLE;
        /* argv[optind - 1] is what the command's error names. */
        optind = bad + 1;
        optopt = 0;
        return '?';
    }
    collect_injected(opts, given, nopts);
    /* A daemon's --config: from STRATA_CONFIG or the default file. */
    const struct option *cfg = find_long(opts, "config", 6);
    if (cfg && settings.config_path)
    {
        size_t k = (size_t) (cfg - opts);
        if (!given[k])
            add_injected(cfg, settings.config_path, "STRATA_CONFIG or " CONFIG_DEFAULT_PATH);
    }
    free(given);
    parse.phase = INJECTING;
    return 0;
}

static int
next_injected(int *longindex)
{
    const Injected *in = &parse.inj[parse.next++];
    parse.origin = in->origin;
    optarg = (char *) in->value;
    if (longindex)
        *longindex = 0;
    if (in->opt->flag)
    {
        *in->opt->flag = in->opt->val;
        return 0;
    }
    return in->opt->val;
}

/* An option of the extended table handled here; 0 when it is the command's. */
static int
own_option(int c)
{
    switch (c)
    {
        case OWN_CONFIG:
        case OWN_LOG_LEVEL:
        case OWN_LOG_FILE:
            return 1;   /* applied by cli_setup before the command ran */
        case OWN_OUTPUT:
            if (strcmp(optarg, "json") && strcmp(optarg, "text"))
                exit(cli_finish(cli_usage_error(cli_command_name(), "--output: '%s' is not text or json", optarg)));
            cli_set_json(!strcmp(optarg, "json"));
            return 1;
        default:
            return 0;
    }
}

int
cli_getopt_long(int argc, char *const argv[], const char *shortopts, const struct option *opts, int *longindex)
{
    bool fresh = parse.phase == IDLE || parse.argv != (char **) argv || (parse.phase == REAL && optind <= 1);
    if (fresh)
    {
        int bad = begin_parse(argc, (char **) argv, shortopts, opts);
        if (bad)
            return bad;
    }
    if (parse.phase == INJECTING)
    {
        if (parse.next < parse.ninj)
            return next_injected(longindex);
        parse.phase = REAL;
        parse.origin = NULL;
        optind = 0;   /* glibc: start over, from argv[1] */
    }
    for (;;)
    {
        int c = getopt_long(argc, argv, shortopts, parse.ext, longindex);
        if (c == -1)
            parse.phase = IDLE;
        /* -h is --help for every command (none has a short option -h). */
        const struct option *help = find_long(opts, "help", 4);
        if (c == '?' && optopt == 'h' && help && !strchr(shortopts, 'h') && !help->flag)
            return help->val;
        /* An unknown short option inside "-abc": getopt leaves optind on
         * that argument, so argv[optind - 1], which errors name, would be
         * the one before. */
        if (c == '?' && optopt > 0 && optopt < 128 && optind < argc && argv[optind][0] == '-' &&
            argv[optind][1] != '-' && strchr(argv[optind], optopt))
            optind++;
        if (!own_option(c))
            return c;
    }
}

const char *
cli_option_origin(void)
{
    return parse.phase == INJECTING ? parse.origin : NULL;
}
