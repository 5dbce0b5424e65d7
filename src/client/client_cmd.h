/* Commands through the cluster manager (client_cmd.c). Each takes the
 * command's argv (argv[0] the command name) and returns the exit code. */
#ifndef STRATA_CLIENT_CMD_H
#define STRATA_CLIENT_CMD_H

#include <stdbool.h>

/* backup / restore: --manager on the command line, or STRATA_MANAGER set
 * with --cluster and without --pool (a --pool asks for a local run). */
bool client_wanted(int argc, char **argv);
/* info: --manager or --cluster on the command line, or STRATA_MANAGER set
 * and no pool (neither --pool nor STRATA_POOL). */
bool client_wanted_for_info(int argc, char **argv);

int client_backup(int argc, char **argv);
int client_restore(int argc, char **argv);
int client_info(int argc, char **argv);

#endif
