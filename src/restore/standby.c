/* A standby from pg_basebackup, for restored clusters (standby.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/quote.h"
#include "common/spawn.h"
#include "common/util.h"
#include "restore/standby.h"

int
instance_pg_ctl_start(const char *bin, const char *data_dir, Error *err)
{
    char *pg_ctl = xprintf("%s/pg_ctl", bin), *log = xprintf("%s/strata-start.log", data_dir);
    char *const argv[] = {pg_ctl, "start", "-w", "-t", "120", "-D", (char *) data_dir, "-l", log, NULL};
    int rc = spawn_wait(argv, NULL, err);
    free(pg_ctl);
    free(log);
    return rc;
}

int
auto_conf_append(const char *data_dir, const char *text, Error *err)
{
    char *path = xprintf("%s/postgresql.auto.conf", data_dir);
    Buffer b = {0};
    int rc = read_small_file(path, &b, err);
    if (rc == 0)
    {
        buffer_append(&b, text, strlen(text));
        rc = write_file_atomic(path, b.data, b.len, 0600, err);
    }
    buffer_free(&b);
    free(path);
    return rc;
}

int
hba_prepend(const char *data_dir, const char *const *lines, size_t n, Error *err)
{
    if (n == 0)
        return 0;
    char *path = xprintf("%s/pg_hba.conf", data_dir);
    Buffer b = {0}, old = {0};
    int rc = read_small_file(path, &old, err);
    buffer_appendf(&b, "# strata restore: the restore's hba lines, first\n");
    for (size_t i = 0; rc == 0 && i < n; i++)
    {
        if (strchr(lines[i], '\n') || strchr(lines[i], '\r'))
            rc = error_set(err, "%s: hba line %zu holds a line break", path, i + 1);
        else
            buffer_appendf(&b, "%s\n", lines[i]);
    }
    if (rc == 0)
    {
        buffer_appendf(&b, "# the restored node's own lines\n");
        buffer_append(&b, old.data, old.len);
        rc = write_file_atomic(path, b.data, b.len, 0600, err);
    }
    buffer_free(&b);
    buffer_free(&old);
    free(path);
    return rc;
}

int
standby_build(const char *bin, const char *primary_host, int primary_port, const char *data_dir, int port,
              const char *const *settings, size_t nsettings, Error *err)
{
    if (mkdir_p(data_dir, 0700, err) != 0)
        return -1;
    char *bb = xprintf("%s/pg_basebackup", bin), *pport = xprintf("%d", primary_port);
    char *log = xprintf("%s.basebackup.log", data_dir);
    char *const argv[] = {bb, "-h", (char *) primary_host, "-p", pport, "-D", (char *) data_dir, "-R", "-X", "stream",
                          "-c", "fast", "-d", "dbname=postgres", NULL};
    int rc = spawn_wait(argv, log, err);
    if (rc == 0)
    {
        unlink(log);
        Buffer conf = {0};
        buffer_appendf(&conf, "\n# standby rebuilt by strata restore\nport = %d\n", port);
        /* pg_basebackup copied the primary's recovery target (its restore
         * stopped there): a standby that starts past an LSN target refuses
         * to start, one that reaches any target would promote. Unset. */
        buffer_appendf(&conf, "recovery_target = ''\nrecovery_target_lsn = ''\nrecovery_target_name = ''\n"
                              "recovery_target_time = ''\nrecovery_target_xid = ''\n");
        for (size_t i = 0; i < nsettings && rc == 0; i++)
            rc = pg_conf_assignment_line(&conf, settings[i], err);
        if (rc == 0)
            rc = auto_conf_append(data_dir, conf.data, err);
        buffer_free(&conf);
    }
    if (rc == 0)
        rc = instance_pg_ctl_start(bin, data_dir, err);
    free(bb);
    free(pport);
    free(log);
    return rc;
}
