/* strata: globally consistent, online, physical backup and restore for
 * (sharded) PostgreSQL. One binary; the first argument names the command. */
#include <stdio.h>
#include <string.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "cli/config_file.h"
#include "wal/index_pool.h"

#define STRATA_VERSION "0.1.0"

typedef struct Command
{
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static int
cmd_version(int argc, char **argv)
{
    (void) argc;
    (void) argv;
    if (cli_json())
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "version", json_object_new_string(STRATA_VERSION));
        cli_json_result(doc);
    }
    else
        printf("strata %s\n", STRATA_VERSION);
    return 0;
}

static const Command commands[] = {
    {"pool-init", cmd_pool_init, "create an empty backup pool"},
    {"backup", cmd_backup, "online full backup of one PostgreSQL instance (a standby or a primary)"},
    {"restore", cmd_restore, "restore a backup into a new data directory, to a point in time"},
    {"wal-push", cmd_wal_push, "archive one WAL file (archive_command)"},
    {"wal-get", cmd_wal_get, "fetch one WAL file (restore_command)"},
    {"wal-index", cmd_wal_index, "build, show or search the WAL index of a node's archive (restore points, changed blocks)"},
    {"check", cmd_check, "check WAL archiving and the archive's continuity"},
    {"info", cmd_info, "list backups and the archived WAL range"},
    {"verify", cmd_verify, "re-read the pool and check every checksum and the WAL continuity"},
    {"key", cmd_key, "the pool's encryption keys: generate a key file, rotate the key (re-wraps data keys)"},
    {"expire", cmd_expire, "retention: remove backups beyond --keep N / --keep-days D, and the WAL and CPs no kept backup needs"},
    {"cp", cmd_cp, "consistency points: create (once or on a schedule), list"},
    {"cluster", cmd_cluster, "register and show a sharded cluster's topology (register, show, list)"},
    {"workload", cmd_workload, "run the bank workload (2PC transfers between shards) on a cluster"},
    {"check-consistency", cmd_check_consistency, "check a cluster's global consistency (balances, 2PC atomicity)"},
    {"jobs", cmd_jobs, "the cluster manager's jobs: list them, show or follow one (--manager URL)"},
    {"cluster-manager", cmd_cluster_manager, "the cluster manager daemon: HTTP/JSON API, jobs, metrics"},
    {"node-manager", cmd_node_manager, "the node manager daemon: runs the cluster manager's tasks (node backups, start/stop) on its host"},
    {"version", cmd_version, "print the version"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
    int width = 0;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if ((int) strlen(commands[i].name) > width)
            width = (int) strlen(commands[i].name);
    fprintf(out, "usage: strata COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
    fprintf(out, "\n'strata COMMAND --help' (or -h, or 'strata help COMMAND') describes a command's options.\n"
                 "Every command also takes --config FILE (default %s, or STRATA_CONFIG),\n"
                 "--log-level error|warn|info|detail|debug, --log-file FILE and --output text|json;\n"
                 "options not on the command line come from STRATA_<OPTION> or the file (docs/cli.md).\n",
            CONFIG_DEFAULT_PATH);
}

static const Command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* `strata cp -h`: the commands with subcommands look at their first
 * argument before parsing options. Elsewhere getopt's parse maps -h to
 * --help (cli/options.c), where it knows an option's value from an option. */
static void
short_help_is_help(int argc, char **argv)
{
    static char help[] = "--help";
    if (argc > 1 && !strcmp(argv[1], "-h"))
        argv[1] = help;
}

/* `strata help CMD`: CMD's --help. */
static int
run_help(int argc, char **argv)
{
    if (argc < 3)
    {
        usage(stdout);
        return 0;
    }
    const Command *c = find_command(argv[2]);
    if (!c)
    {
        fprintf(stderr, "strata help: unknown command '%s'\n", argv[2]);
        usage(stderr);
        return EXIT_USAGE;
    }
    char help[] = "--help";
    char *args[] = {argv[2], help, NULL};
    return c->run(2, args);
}

int
main(int argc, char **argv)
{
    archive_after_push = wal_index_after_push;   /* wal-push indexes what it archives */
    if (argc < 2)
    {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
    {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "help"))
        return run_help(argc, argv);
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc, argv);
    const Command *c = find_command(argv[1]);
    if (!c)
    {
        fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    short_help_is_help(argc - 1, argv + 1);
    int rc = cli_setup(c->name, argc - 1, argv + 1);
    if (rc == CLI_CONTINUE)
        rc = c->run(argc - 1, argv + 1);
    return cli_finish(rc);
}
