/* A fresh compute instance (compute_init.h). */
#include "restore/compute_init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/quote.h"
#include "common/spawn.h"
#include "common/util.h"
#include "restore/standby.h"

static int
hba_append(const char *data_dir, const char *const *hba, size_t nhba, Error *err)
{
    if (nhba == 0)
        return 0;
    char *path = xprintf("%s/pg_hba.conf", data_dir);
    FILE *f = fopen(path, "a");
    int rc = f ? 0 : error_errno(err, "opening %s", path);
    if (f)
        fputs("\n# strata restore: the placement's hba lines\n", f);
    for (size_t i = 0; f && i < nhba; i++)
    {
        /* one line each: validated by the placement (restore/placement.c) and again here */
        if (strchr(hba[i], '\n') || strchr(hba[i], '\r'))
        {
            rc = error_set(err, "%s: hba line %zu holds a line break", path, i + 1);
            break;
        }
        fprintf(f, "%s\n", hba[i]);
    }
    if (f && fclose(f) != 0 && rc == 0)
        rc = error_errno(err, "writing %s", path);
    free(path);
    return rc;
}

int
compute_instance_init(const char *bin, const char *data_dir, int port, const char *listen, const char *sockdir,
                      const char *const *hba, size_t nhba, Error *err)
{
    bool empty;
    if (dir_is_empty(data_dir, &empty, err) != 0)
        return -1;
    if (!empty)
        return error_set(err, "directory %s (a new compute node) is not empty", data_dir);
    char *initdb = xprintf("%s/initdb", bin), *log = xprintf("%s.initdb.log", data_dir);
    int rc = mkdir_p(data_dir, 0700, err);
    char *const argv[] = {initdb, "-D", (char *) data_dir, "-A", "trust", "--no-sync", NULL};
    if (rc == 0)
        rc = spawn_wait(argv, log, err);
    if (rc == 0)
    {
        unlink(log);
        Buffer conf = {0};
        buffer_appendf(&conf, "port = %d\nshared_buffers = 16MB\nmax_connections = 40\n", port);
        rc = pg_conf_line(&conf, "listen_addresses", listen, err);
        if (rc == 0)
            rc = pg_conf_line(&conf, "unix_socket_directories", sockdir, err);
        if (rc == 0)
            rc = auto_conf_append(data_dir, conf.data, err);
        buffer_free(&conf);
    }
    if (rc == 0)
        rc = hba_append(data_dir, hba, nhba, err);
    if (rc == 0)
        rc = instance_pg_ctl_start(bin, data_dir, err);
    free(initdb);
    free(log);
    return rc;
}
