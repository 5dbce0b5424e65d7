/* A standby from pg_basebackup, for restored clusters (standby.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        for (size_t i = 0; i < nsettings; i++)
        {
            const char *eq = strchr(settings[i], '=');
            if (!eq)
                continue;
            buffer_appendf(&conf, "%.*s = '", (int) (eq - settings[i]), settings[i]);
            for (const char *c = eq + 1; *c; c++)
            {
                if (*c == '\'')
                    buffer_append(&conf, "'", 1);   /* a quote doubled */
                buffer_append(&conf, c, 1);
            }
            buffer_append(&conf, "'\n", 2);
        }
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
