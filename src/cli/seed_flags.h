/* The seed tools' flags (Klustron's `backup` and `restore`) as aliases of
 * strata's own options (docs/cli.md, "Seed-compatible flags").
 *
 * The seed tools parse Go-style flags: one dash or two, the value as the
 * next argument or after '='. They are rewritten into strata's long
 * options before getopt sees the command line; flags that have no strata
 * equivalent are decided here (accepted, noted or refused with a reason). */
#ifndef STRATA_SEED_FLAGS_H
#define STRATA_SEED_FLAGS_H

#include <stdbool.h>

#include "common/error.h"

typedef struct SeedArgs
{
    int argc;
    char **argv;            /* the rewritten command line, NULL-terminated; owned */
    bool seen;              /* at least one seed flag was given */
    bool compute_only;      /* backup -backuptype compute: nothing to back up */
    char *workdir;          /* backup -workdir: accepted, not used (see seed_flags.c) */
    char *default_to;       /* restore: the new cluster's name chosen here, or NULL */
    char *cluster;          /* the cluster a seed flag named, or NULL */
    bool quiet;             /* --quiet is on the command line */
} SeedArgs;

/* Rewrite argv (argv[0] is the command name) of `strata backup` / `strata
 * restore`. On error (an unsupported value, a missing value) *err names
 * the flag and the cause, *out is left empty and -1 is returned. */
int seed_backup_args(int argc, char **argv, SeedArgs *out, Error *err);
int seed_restore_args(int argc, char **argv, SeedArgs *out, Error *err);
void seed_args_free(SeedArgs *a);

/* Prints what compute nodes are in strata (stateless); for -backuptype compute. */
void seed_print_compute_stateless(const char *cluster);

#endif
