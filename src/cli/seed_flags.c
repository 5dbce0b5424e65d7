/* The seed tools' flags as aliases (seed_flags.h, docs/cli.md).
 *
 * What each seed flag means in strata, and why:
 *   backup
 *     -clustername C        --cluster C
 *     -shardname S          --shard S
 *     -backuptype storage   the normal (storage) backup
 *     -backuptype compute   nothing to back up: compute nodes hold no data
 *                           (DESIGN §1), every cluster restore rebuilds them
 *                           from the restored topology. Said, exit 0.
 *     -coldstoragetype T    the pool's kind. A directory pool is the only
 *                           kind strata has: file/dir/directory/posix/local
 *                           are accepted; s3, hdfs and sftp are refused
 *                           ("not supported yet"), never silently mapped.
 *     -workdir D            in the seed, a local directory where the backup
 *                           is staged (xtrabackup output, tarballs) before it
 *                           goes to cold storage. strata streams every file
 *                           straight into the pool and stages nothing, so
 *                           the directory is accepted and not used. It is
 *                           not taken as the pool: that would turn a scratch
 *                           path into the place backups live.
 *   restore
 *     -origclustername C    --cluster C
 *     -origshardname S      --shard S
 *     -restoretime T        --time T (the latest CP at or before T)
 *     -metaclusterconnstr X --meta-conn X
 *     -restoretype storage  the cluster restore
 *     -restoretype compute  refused: compute nodes are recreated by every
 *                           cluster restore; alone there is nothing to
 *                           restore them from.
 *     -enable-globalconsistent [true]  the cluster restore to a consistency
 *                           point with 2PC resolution: strata's only kind.
 *     -enable-globalconsistent false   refused: per-shard time cuts would
 *                           leave distributed transactions committed on some
 *                           shards and not others (DESIGN §3).
 *   The seed names no new cluster; when -origclustername is given without
 *   --to (and without a shard), the new cluster is named C-restore-<epoch>,
 *   as the seed named its restore directory restore-C-<epoch>. */
#include "cli/seed_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/name_limits.h"
#include "common/util.h"

typedef enum SeedKind
{
    SEED_RENAME,             /* value passed on under strata's name */
    SEED_BACKUPTYPE,
    SEED_COLDSTORAGETYPE,
    SEED_WORKDIR,
    SEED_RESTORETYPE,
    SEED_GLOBALCONSISTENT,   /* a Go bool flag: the value is optional */
} SeedKind;

typedef struct SeedFlag
{
    const char *name;
    SeedKind kind;
    const char *strata;      /* SEED_RENAME: the strata option */
} SeedFlag;

static const SeedFlag backup_flags[] = {
    {"clustername", SEED_RENAME, "--cluster"},
    {"shardname", SEED_RENAME, "--shard"},
    {"backuptype", SEED_BACKUPTYPE, NULL},
    {"coldstoragetype", SEED_COLDSTORAGETYPE, NULL},
    {"workdir", SEED_WORKDIR, NULL},
    {NULL, 0, NULL},
};

static const SeedFlag restore_flags[] = {
    {"origclustername", SEED_RENAME, "--cluster"},
    {"origshardname", SEED_RENAME, "--shard"},
    {"restoretime", SEED_RENAME, "--time"},
    {"metaclusterconnstr", SEED_RENAME, "--meta-conn"},
    {"restoretype", SEED_RESTORETYPE, NULL},
    {"enable-globalconsistent", SEED_GLOBALCONSISTENT, NULL},
    {NULL, 0, NULL},
};

/* Pool kinds that name a directory pool: the kind strata has. */
static const char *const directory_kinds[] = {"file", "dir", "directory", "posix", "local", NULL};
/* Kinds the seed knows and strata's pool does not (yet). */
static const char *const unsupported_kinds[] = {"s3", "hdfs", "sftp", NULL};

static bool
in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return true;
    return false;
}

static void
push(SeedArgs *a, const char *s)
{
    a->argv = xrealloc(a->argv, (size_t) (a->argc + 2) * sizeof(char *));
    a->argv[a->argc++] = xstrdup(s);
    a->argv[a->argc] = NULL;
}

/* The seed flag that `arg` names ("-name", "--name", "-name=v", "--name=v"),
 * or NULL. *value: what follows '=', or NULL. */
static const SeedFlag *
match(const SeedFlag *table, const char *arg, const char **value)
{
    if (arg[0] != '-')
        return NULL;
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t) (eq - name) : strlen(name);
    for (const SeedFlag *f = table; f->name; f++)
    {
        if (strlen(f->name) == len && !strncmp(f->name, name, len))
        {
            *value = eq ? eq + 1 : NULL;
            return f;
        }
    }
    return NULL;
}

static bool
has_option(const SeedArgs *a, const char *opt)
{
    size_t n = strlen(opt);
    for (int i = 1; i < a->argc; i++)
    {
        if (!strcmp(a->argv[i], "--"))
            break;
        if (!strncmp(a->argv[i], opt, n) && (a->argv[i][n] == '\0' || a->argv[i][n] == '='))
            return true;
    }
    return false;
}

/* One seed flag with its value. Returns 0 or -1 with *err. */
static int
apply(SeedArgs *a, const SeedFlag *f, const char *flag, const char *value, const char **cluster, Error *err)
{
    switch (f->kind)
    {
        case SEED_RENAME:
            push(a, f->strata);
            push(a, value);
            if (!strcmp(f->strata, "--cluster"))
                *cluster = value;
            return 0;
        case SEED_BACKUPTYPE:
            if (!strcmp(value, "storage"))
                return 0;
            if (!strcmp(value, "compute"))
            {
                a->compute_only = true;
                return 0;
            }
            return error_set(err, "%s '%s': not storage or compute", flag, value);
        case SEED_COLDSTORAGETYPE:
            if (in_list(directory_kinds, value))
                return 0;
            if (in_list(unsupported_kinds, value))
                return error_set(err, "%s '%s': not supported yet; strata's pool is a directory "
                                      "(file, dir, posix), given with --pool or STRATA_POOL", flag, value);
            return error_set(err, "%s '%s': not a storage type (file, dir, directory, posix or local)", flag, value);
        case SEED_WORKDIR:
            if (!*value)
                return error_set(err, "%s: the directory is empty", flag);
            free(a->workdir);
            a->workdir = xstrdup(value);
            return 0;
        case SEED_RESTORETYPE:
            if (!strcmp(value, "storage"))
                return 0;
            if (!strcmp(value, "compute"))
                return error_set(err, "%s compute: compute nodes hold no data and are recreated from the "
                                      "restored topology by every cluster restore; restore the cluster "
                                      "(-restoretype storage) instead", flag);
            return error_set(err, "%s '%s': not storage or compute", flag, value);
        case SEED_GLOBALCONSISTENT:
            if (!strcmp(value, "true") || !strcmp(value, "1"))
                return 0;
            if (!strcmp(value, "false") || !strcmp(value, "0"))
                return error_set(err, "%s false: strata restores a cluster only to a consistency point, with "
                                      "prepared transactions resolved; cutting each shard at its own time "
                                      "would leave distributed transactions committed on some shards only",
                                 flag);
            return error_set(err, "%s '%s': not true or false", flag, value);
    }
    return 0;
}

static int
translate(const SeedFlag *table, bool restore, int argc, char **argv, SeedArgs *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    push(out, argc > 0 ? argv[0] : "strata");
    const char *cluster = NULL;
    for (int i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--"))
        {
            for (; i < argc; i++)
                push(out, argv[i]);
            break;
        }
        const char *value;
        const SeedFlag *f = match(table, argv[i], &value);
        if (!f)
        {
            if (!strcmp(argv[i], "--quiet"))
                out->quiet = true;
            push(out, argv[i]);
            continue;
        }
        out->seen = true;
        char *flag = xprintf("%.*s", (int) strcspn(argv[i], "="), argv[i]);
        if (!value && f->kind == SEED_GLOBALCONSISTENT)
        {
            /* A Go bool flag alone means true; "true"/"false" may follow. */
            value = "true";
            if (i + 1 < argc && (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false")))
                value = argv[++i];
        }
        else if (!value)
        {
            if (i + 1 >= argc)
            {
                error_set(err, "option %s needs a value", flag);
                free(flag);
                seed_args_free(out);
                return -1;
            }
            value = argv[++i];
        }
        int rc = apply(out, f, flag, value, &cluster, err);
        free(flag);
        if (rc != 0)
        {
            seed_args_free(out);
            return -1;
        }
    }
    if (restore && cluster && !has_option(out, "--to") && !has_option(out, "--shard"))
    {
        /* The seed names no new cluster: name it after the source and the
         * time, as the seed named its restore directory. */
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "-restore-%ld", (long) time(NULL));
        int keep = TOPO_NAME_MAX - (int) strlen(suffix);
        out->default_to = xprintf("%.*s%s", keep, cluster, suffix);
        /* Right after the command name: before any "--". */
        out->argv = xrealloc(out->argv, (size_t) (out->argc + 3) * sizeof(char *));
        memmove(out->argv + 3, out->argv + 1, (size_t) out->argc * sizeof(char *));   /* with the NULL */
        out->argv[1] = xstrdup("--to");
        out->argv[2] = xstrdup(out->default_to);
        out->argc += 2;
    }
    if (cluster)
        out->cluster = xstrdup(cluster);
    return 0;
}

int
seed_backup_args(int argc, char **argv, SeedArgs *out, Error *err)
{
    return translate(backup_flags, false, argc, argv, out, err);
}

int
seed_restore_args(int argc, char **argv, SeedArgs *out, Error *err)
{
    return translate(restore_flags, true, argc, argv, out, err);
}

void
seed_args_free(SeedArgs *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    free(a->workdir);
    free(a->default_to);
    free(a->cluster);
    memset(a, 0, sizeof(*a));
}

void
seed_print_compute_stateless(const char *cluster)
{
    printf("compute nodes%s%s are stateless: no data to back up on its own. Every cluster backup records "
           "their schema (pg_dumpall --schema-only) and every cluster restore rebuilds them from it, their "
           "postgres_fdw servers pointed at the new shards.\n",
           cluster ? " of cluster " : "", cluster ? cluster : "");
}
