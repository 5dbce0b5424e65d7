/* strata: globally consistent, online, physical backup and restore for
 * (sharded) PostgreSQL. One binary; the first argument names the command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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
    printf("strata %s\n", STRATA_VERSION);
    return 0;
}

static const Command commands[] = {
    {"pool-init", cmd_pool_init, "create an empty backup pool"},
    {"backup", cmd_backup, "online full backup of one PostgreSQL instance (a standby or a primary)"},
    {"restore", cmd_restore, "restore a backup into a new data directory, to a point in time"},
    {"wal-push", cmd_wal_push, "archive one WAL file (archive_command)"},
    {"wal-get", cmd_wal_get, "fetch one WAL file (restore_command)"},
    {"check", cmd_check, "check WAL archiving and the archive's continuity"},
    {"info", cmd_info, "list backups and the archived WAL range"},
    {"verify", cmd_verify, "re-read the pool and check every checksum and the WAL continuity"},
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

static void
usage(FILE *out)
{
    fprintf(out, "usage: strata COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'strata COMMAND --help' describes a command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2)
    {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h"))
    {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc, argv);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    {
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
