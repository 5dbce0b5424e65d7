/* Where a cluster restore puts the new cluster when it runs on several
 * hosts (docs/deployment.md "Placement"): on the hosts the user gives, as
 * a placement file or as the node managers registered with the cluster
 * manager, each with a data directory root and a port range:
 *
 *   {"hosts": [{"host": "198.51.100.21", "data_root": "/srv/strata",
 *               "ports": "26000-26999"}, ...],
 *    "hba": ["host all all 198.51.100.0/24 scram-sha-256"]}
 *
 * "host" is the address the new nodes listen on and the key of that
 * host's node manager; "hba" lines go into the pg_hba.conf of every new
 * compute node (fresh instances: the restored primaries and standbys keep
 * the source's pg_hba.conf). The decision (placement_plan) is a pure
 * function, apart from cluster_restore.c, so that it is unit-tested. */
#ifndef STRATA_RESTORE_PLACEMENT_H
#define STRATA_RESTORE_PLACEMENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster/topology.h"
#include "common/error.h"

#define PLACEMENT_MAX_HOSTS 1024
#define PLACEMENT_MAX_HBA 64

typedef struct PlacementHost
{
    char *host;       /* address (or name) of the host, as topologies and node managers name it */
    char *data_root;  /* absolute: the new cluster goes in DATA_ROOT/<to>/<set>/<node> */
    int port_from, port_to;
} PlacementHost;

typedef struct Placement
{
    PlacementHost *hosts;
    size_t n;
    char **hba;       /* pg_hba.conf lines for new compute nodes */
    size_t nhba;
} Placement;

/* A port already taken on a host (a registered cluster's node). */
typedef struct PlacementUsed
{
    const char *host;
    int port;
} PlacementUsed;

/* Parses the document above; `what` names it in errors (a file path).
 * Every field is checked: a host name of letters, digits, '.', '-', ':';
 * an absolute data_root without '..'; "FROM-TO" ports in 1024-65535; hba
 * lines of one line each starting with local/host/hostssl/hostnossl. */
int placement_from_json(json_object *j, const char *what, Placement *out, Error *err);
int placement_load_file(const char *path, Placement *out, Error *err);
/* One host entry (for the manager's "node_managers" resources). */
int placement_host_from_json(json_object *j, const char *what, const char *host, PlacementHost *out, Error *err);
/* Keeps only the hosts named in `list` (comma-separated), in list order; a
 * name that is not in p is an error naming it. */
int placement_select(Placement *p, const char *list, Error *err);
void placement_free(Placement *p);
/* One pg_hba.conf line: starts with a connection type, no control characters. */
bool placement_hba_line_ok(const char *line);
void placement_host_free(PlacementHost *h);

/* The new cluster `to` from `src` on p's hosts: same sets and nodes; the
 * nodes of each replica set on distinct hosts while there are hosts enough
 * (set k starts at host k mod n, so that primaries spread), the compute
 * nodes after them round-robin; on each host, ports from its port_from up,
 * skipping `used`; data_dir DATA_ROOT/<to>/<set>/<node>. Fails naming the
 * host whose port range is exhausted, or when p has no host. */
int placement_plan(const Topology *src, const char *to, const Placement *p, const PlacementUsed *used, size_t nused,
                   Topology *out, Error *err);

/* Is host this machine's loopback (127.0.0.0/8, ::1, localhost)? Only
 * such a node may be worked on in-process; any other needs its node manager. */
bool host_is_loopback(const char *host);

#endif
