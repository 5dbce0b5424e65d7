/* A fresh instance for a restored compute node: initdb, its settings and
 * pg_hba lines, started. Run by cluster_restore for a node on this host,
 * by the node manager of the node's host otherwise (task "init"). */
#ifndef STRATA_COMPUTE_INIT_H
#define STRATA_COMPUTE_INIT_H

#include <stddef.h>

#include "common/error.h"

/* initdb -D data_dir (-A trust for local connections: the instance's own
 * host), port, listen_addresses = listen, unix_socket_directories =
 * sockdir, the hba lines appended to pg_hba.conf (the hosts that reach it:
 * the cluster manager, clients), then pg_ctl start. bin: PostgreSQL's
 * binary directory. A non-empty data_dir is refused. */
int compute_instance_init(const char *bin, const char *data_dir, int port, const char *listen, const char *sockdir,
                          const char *const *hba, size_t nhba, Error *err);

#endif
