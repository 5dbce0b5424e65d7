/* Command-line plumbing shared by every subcommand. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include <json-c/json.h>

#include "common/error.h"

#define EXIT_USAGE 2
/* Returned by option parsers when the command should go on. */
#define CLI_CONTINUE (-1)

/* Options every pool command takes. */
typedef struct CommonOptions
{
    const char *pool;
    const char *node;
    bool quiet;
    bool json;
} CommonOptions;

enum
{
    OPT_POOL = 1000,
    OPT_NODE,
    OPT_QUIET,
    OPT_OUTPUT,
    OPT_HELP,
    OPT_KEY_FILE,
    OPT_PASSPHRASE_FILE,
    OPT_FIRST_COMMAND_OPTION   /* commands number their own options from here */
};

#define COMMON_LONG_OPTIONS                                    \
    {"pool", required_argument, NULL, OPT_POOL},               \
    {"node", required_argument, NULL, OPT_NODE},               \
    {"quiet", no_argument, NULL, OPT_QUIET},                   \
    {"output", required_argument, NULL, OPT_OUTPUT},           \
    {"help", no_argument, NULL, OPT_HELP},                     \
    {"key-file", required_argument, NULL, OPT_KEY_FILE},       \
    {"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE}

void common_options_init(CommonOptions *o);
/* Handles a common option; returns 1 if handled, 0 if not one, or the exit
 * code (EXIT_USAGE) through *exit_code for a bad value or --help. */
int common_option(CommonOptions *o, int c, const char *arg, const char *cmd, const char *usage, int *exit_code);
/* The part of it every command shares, the manager client's too: --quiet,
 * --output text|json, --help. Same return convention. */
int output_option(bool *quiet, bool *json, int c, const char *arg, const char *cmd, const char *usage, int *exit_code);
/* For getopt's '?' and ':' returns: names the bad flag, returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv, int c);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A runtime failure: prints the error, returns 1. */
int cli_fail(const Error *err);

/* ---- where options come from (cli/options.c) ----
 * Every command's getopt_long is cli_getopt_long: the options the command
 * line leaves unset come from the environment (STRATA_<OPTION>) or from
 * strata.conf (cli/config_file.h); abbreviated long options are refused;
 * --config, --log-level, --log-file and --output are taken by every
 * command. */
int cli_getopt_long(int argc, char *const argv[], const char *shortopts, const struct option *longopts,
                    int *longindex);
#define getopt_long cli_getopt_long
/* Before the command runs: reads the configuration file, applies
 * --log-level / --log-file, notes --output json. CLI_CONTINUE or the exit code. */
int cli_setup(const char *command, int argc, char **argv);
/* An option's standing value: the environment's, else the file's (for
 * choices made before parsing, like whether to use the cluster manager). */
const char *cli_setting(const char *option);
/* The configuration file read (INI or a daemon's JSON), or NULL. */
const char *cli_config_path(void);
const char *cli_command_name(void);
/* Where the option being handled came from when not the command line
 * ("FILE:LINE", "environment STRATA_X"), else NULL: usage errors name it. */
const char *cli_option_origin(void);
bool cli_option_is_command_line_only(const char *name);

/* ---- --output json: one document on stdout ----
 * A command gives its result to cli_json_result; cli_finish prints it once
 * the command returned, with the error that made it fail added, or an
 * error document when the command failed before it had a result. */
void cli_set_json(bool on);
bool cli_json(void);
/* Takes `doc`; a second result replaces the first. */
void cli_json_result(json_object *doc);
/* For commands that report as they go (cp create --every): one line per
 * document, printed now (JSON Lines). Takes `doc`. */
void cli_json_stream(json_object *doc);
/* Prints what --output json owes and returns rc. */
int cli_finish(int rc);

/* Subcommands. */
int cmd_pool_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_wal_push(int argc, char **argv);
int cmd_wal_get(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_workload(int argc, char **argv);
int cmd_check_consistency(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_cluster_manager(int argc, char **argv);
int cmd_node_manager(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_expire(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_wal_index(int argc, char **argv);

#endif
