/* Building a streaming standby of a running primary with pg_basebackup:
 * shared by cluster restores run in-process (step 4 of cluster_restore.c)
 * and the node manager's "standby" task, so both build it the same way. */
#ifndef STRATA_STANDBY_H
#define STRATA_STANDBY_H

#include <stddef.h>

#include "common/error.h"

/* pg_basebackup -R -X stream of primary_host:primary_port into data_dir
 * (new or empty), then `port` and the "name=value" settings appended to
 * its postgresql.auto.conf, then started with pg_ctl. bin is PostgreSQL's
 * binary directory. */
int standby_build(const char *bin, const char *primary_host, int primary_port, const char *data_dir, int port,
                  const char *const *settings, size_t nsettings, Error *err);

/* pg_ctl start -w of data_dir, its log in <data_dir>/strata-start.log. */
int instance_pg_ctl_start(const char *bin, const char *data_dir, Error *err);

/* Appends text to <data_dir>/postgresql.auto.conf (later lines win). */
int auto_conf_append(const char *data_dir, const char *text, Error *err);

/* Puts the n pg_hba.conf lines (one line each, no line break) before the
 * lines of <data_dir>/pg_hba.conf: a restore's hba lines, which must
 * decide for the connections they match (the first matching line does). */
int hba_prepend(const char *data_dir, const char *const *lines, size_t n, Error *err);

#endif
