/* Command-line plumbing shared by every subcommand. */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <getopt.h>
#include <stdbool.h>

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
    OPT_FIRST_COMMAND_OPTION   /* commands number their own options from here */
};

#define COMMON_LONG_OPTIONS                                    \
    {"pool", required_argument, NULL, OPT_POOL},               \
    {"node", required_argument, NULL, OPT_NODE},               \
    {"quiet", no_argument, NULL, OPT_QUIET},                   \
    {"output", required_argument, NULL, OPT_OUTPUT},           \
    {"help", no_argument, NULL, OPT_HELP}

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

#endif
