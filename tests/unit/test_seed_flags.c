/* The seed tools' flags (Klustron backup/restore) rewritten into strata's
 * options: names, value forms, refusals (cli/seed_flags.c). */
#include <string.h>

#include "cli/seed_flags.h"
#include "unit.h"

/* The rewritten command line joined with single spaces. */
static const char *
joined(const SeedArgs *a)
{
    static char buf[1024];
    buf[0] = '\0';
    for (int i = 0; i < a->argc; i++)
    {
        if (i)
            strcat(buf, " ");
        strcat(buf, a->argv[i]);
    }
    return buf;
}

#define ARGV(...) (char *[]){__VA_ARGS__, NULL}

static int
backup(char **argv, int argc, SeedArgs *a, Error *err)
{
    return seed_backup_args(argc, argv, a, err);
}

static int
restore(char **argv, int argc, SeedArgs *a, Error *err)
{
    return seed_restore_args(argc, argv, a, err);
}

int main(void)
{
    SeedArgs a;
    Error err;
    int rc;

    /* backup */
    char **v1 = ARGV("backup", "-clustername", "c1", "-shardname", "shard1", "-backuptype", "storage",
                     "-coldstoragetype", "file", "-workdir", "/tmp/w", "--manager", "http://h:1");
    rc = backup(v1, 13, &a, &err);
    CHECK(rc == 0 && !strcmp(joined(&a), "backup --cluster c1 --shard shard1 --manager http://h:1"),
          "backup: -clustername/-shardname become --cluster/--shard, the rest passes through");
    CHECK(rc == 0 && a.seen && !a.compute_only && a.workdir && !strcmp(a.workdir, "/tmp/w") && !a.default_to,
          "backup: -workdir kept aside (not the pool), storage is not compute");
    CHECK(rc == 0 && a.cluster && !strcmp(a.cluster, "c1"), "backup: the cluster named is recorded");
    CHECK(rc == 0 && a.argv[a.argc] == NULL, "backup: argv stays NULL-terminated");
    seed_args_free(&a);

    char **v2 = ARGV("backup", "--clustername=c2", "--backuptype=storage", "--coldstoragetype=posix", "--quiet");
    rc = backup(v2, 5, &a, &err);
    CHECK(rc == 0 && !strcmp(joined(&a), "backup --cluster c2 --quiet") && a.quiet,
          "backup: --flag=value double-dash forms");
    seed_args_free(&a);

    char **v3 = ARGV("backup", "-clustername=c3", "-backuptype", "compute");
    rc = backup(v3, 4, &a, &err);
    CHECK(rc == 0 && a.compute_only, "backup: -backuptype compute is compute only");
    seed_args_free(&a);

    char **v4 = ARGV("backup", "-clustername", "c1", "-coldstoragetype", "s3");
    rc = backup(v4, 5, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "-coldstoragetype 's3'") && strstr(err.msg, "not supported yet"),
          "backup: -coldstoragetype s3 refused, not supported yet");
    CHECK(a.argv == NULL && a.argc == 0, "backup: nothing left allocated on error");
    rc = backup(ARGV("backup", "-coldstoragetype=hdfs"), 2, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "hdfs") && strstr(err.msg, "not supported yet"), "backup: hdfs refused");
    rc = backup(ARGV("backup", "-coldstoragetype", "tape"), 3, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "'tape': not a storage type"), "backup: an unknown storage type refused");
    rc = backup(ARGV("backup", "-backuptype", "full"), 3, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "-backuptype 'full': not storage or compute"), "backup: -backuptype full refused");
    rc = backup(ARGV("backup", "-clustername"), 2, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "-clustername needs a value"), "backup: a seed flag without its value");

    char **v5 = ARGV("backup", "--pool", "/p", "--label", "x", "--", "-clustername");
    rc = backup(v5, 7, &a, &err);
    CHECK(rc == 0 && !a.seen && !strcmp(joined(&a), "backup --pool /p --label x -- -clustername"),
          "backup: strata's own flags untouched, nothing rewritten after --");
    seed_args_free(&a);

    /* restore */
    char **v6 = ARGV("restore", "-origclustername", "c1", "-origshardname", "shard1", "-restoretime",
                     "2026-01-02 03:04:05", "-restoretype", "storage", "-enable-globalconsistent", "true");
    rc = restore(v6, 11, &a, &err);
    CHECK(rc == 0 && !strcmp(joined(&a), "restore --cluster c1 --shard shard1 --time 2026-01-02 03:04:05"),
          "restore: -origclustername/-origshardname/-restoretime, storage, globally consistent");
    CHECK(rc == 0 && !a.default_to, "restore: a shard restore gets no default --to");
    seed_args_free(&a);

    char **v7 = ARGV("restore", "-origclustername", "c1", "-restoretime", "2026-01-02 03:04:05",
                     "-enable-globalconsistent", "--dir", "/d", "-metaclusterconnstr", "host=x");
    rc = restore(v7, 10, &a, &err);
    CHECK(rc == 0 && a.default_to && !strncmp(a.default_to, "c1-restore-", 11),
          "restore: no --to: the new cluster is named C-restore-<epoch>");
    CHECK(rc == 0 && a.argc == 11 && !strcmp(a.argv[1], "--to") && !strcmp(a.argv[2], a.default_to) &&
              !strcmp(a.argv[3], "--cluster") && !strcmp(a.argv[9], "--meta-conn") && a.argv[11] == NULL,
          "restore: --to NAME inserted first; -enable-globalconsistent alone is true; -metaclusterconnstr is --meta-conn");
    seed_args_free(&a);

    char **v8 = ARGV("restore", "-origclustername=c1", "--to", "new1", "--latest", "-enable-globalconsistent=true");
    rc = restore(v8, 6, &a, &err);
    CHECK(rc == 0 && !a.default_to && !strcmp(joined(&a), "restore --cluster c1 --to new1 --latest"),
          "restore: an explicit --to is kept");
    seed_args_free(&a);

    rc = restore(ARGV("restore", "-origclustername", "c1", "-enable-globalconsistent", "false"), 5, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "-enable-globalconsistent false") && strstr(err.msg, "consistency point"),
          "restore: -enable-globalconsistent false refused with the reason");
    rc = restore(ARGV("restore", "-enable-globalconsistent=0"), 2, &a, &err);
    CHECK(rc != 0, "restore: -enable-globalconsistent=0 refused");
    rc = restore(ARGV("restore", "-enable-globalconsistent=maybe"), 2, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "not true or false"), "restore: -enable-globalconsistent=maybe refused");
    rc = restore(ARGV("restore", "-origclustername", "c1", "-restoretype", "compute"), 5, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "-restoretype compute") && strstr(err.msg, "recreated"),
          "restore: -restoretype compute alone refused: compute nodes are recreated by a cluster restore");
    rc = restore(ARGV("restore", "-restoretype", "both"), 3, &a, &err);
    CHECK(rc != 0 && strstr(err.msg, "not storage or compute"), "restore: -restoretype both refused");

    char long_name[80];
    memset(long_name, 'x', 63);
    long_name[63] = '\0';
    rc = restore(ARGV("restore", "-origclustername", long_name), 3, &a, &err);
    CHECK(rc == 0 && a.default_to && strlen(a.default_to) == 63, "restore: the default name fits 63 characters");
    seed_args_free(&a);

    /* backup flags are not restore flags and the other way round */
    rc = restore(ARGV("restore", "-clustername", "c1"), 3, &a, &err);
    CHECK(rc == 0 && !a.seen && !strcmp(joined(&a), "restore -clustername c1"),
          "restore: -clustername is not a restore flag (left for getopt to refuse)");
    seed_args_free(&a);
    UNIT_DONE();
}
