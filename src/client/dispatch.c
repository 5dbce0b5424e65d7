/* Where backup, restore and info go: the seed tools' flags rewritten
 * first (cli/seed_flags.c), then the cluster manager (client_cmd.c) or
 * the command's local implementation. */
#include "client/dispatch.h"

#include "backup/backup.h"
#include "cli/cli.h"
#include "cli/seed_flags.h"
#include "client/client_cmd.h"
#include "common/log.h"
#include "expire/auto_expire.h"
#include "restore/restore.h"

int
dispatch_backup(int argc, char **argv, int (*local)(int, char **))
{
    SeedArgs seed;
    Error err;
    if (seed_backup_args(argc, argv, &seed, &err) != 0)
        return cli_usage_error("backup", "%s", err.msg);
    int rc;
    if (seed.compute_only)
    {
        /* Nothing is touched: not the pool, not the manager. */
        seed_print_compute_stateless(seed.cluster);
        rc = 0;
    }
    else
    {
        if (seed.workdir && !seed.quiet)
            log_info("-workdir %s: not used; strata streams each file straight into the pool and stages nothing "
                     "locally", seed.workdir);
        rc = client_wanted(seed.argc, seed.argv) ? client_backup(seed.argc, seed.argv) : local(seed.argc, seed.argv);
    }
    seed_args_free(&seed);
    return rc;
}

int
dispatch_restore(int argc, char **argv, int (*local)(int, char **))
{
    SeedArgs seed;
    Error err;
    if (seed_restore_args(argc, argv, &seed, &err) != 0)
        return cli_usage_error("restore", "%s", err.msg);
    if (seed.default_to && !seed.quiet)
        log_info("the new cluster is named %s (no --to given)", seed.default_to);
    int rc = client_wanted(seed.argc, seed.argv) ? client_restore(seed.argc, seed.argv) : local(seed.argc, seed.argv);
    seed_args_free(&seed);
    return rc;
}

/* The commands' entry points (main.c): the engines' folders hold only the
 * local commands, so that they need not include this front end. */
/* A backup run here, then the retention its options or policy set. */
static int
backup_then_expire(int argc, char **argv)
{
    return cmd_backup_local_then(argc, argv, auto_expire_after_backup);
}

int
cmd_backup(int argc, char **argv)
{
    return dispatch_backup(argc, argv, backup_then_expire);
}

int
cmd_restore(int argc, char **argv)
{
    return dispatch_restore(argc, argv, cmd_restore_local);
}

int
dispatch_info(int argc, char **argv, int (*local)(int, char **))
{
    return client_wanted_for_info(argc, argv) ? client_info(argc, argv) : local(argc, argv);
}
