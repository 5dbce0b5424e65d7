/* The bank that `strata workload` runs and `strata check-consistency`
 * checks (DESIGN §5): accounts and transfers on every shard, the initial
 * total in strata.workload of the cluster's own metadata database.
 *
 * Naming: a cross-shard transfer's transfer_id is its gtxid and starts
 * with "g-"; a single-shard transfer's starts with "s-". Shard k (topology
 * order, from 0) holds account ids [k*BANK_SHARD_SPAN, k*BANK_SHARD_SPAN +
 * accounts). */
#ifndef STRATA_BANK_H
#define STRATA_BANK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/topology.h"
#include "common/error.h"

#define BANK_SHARD_SPAN 1000000
#define BANK_INITIAL_BALANCE 1000
#define BANK_CROSS_PREFIX "g-"
#define BANK_SINGLE_PREFIX "s-"

typedef struct BankInfo
{
    char *key;              /* the strata.workload row's cluster name */
    int64_t initial_total;
    long accounts;          /* per shard */
} BankInfo;

/* Connections to a registered cluster: the metadata primary (its own
 * metadata database, where the commit log is) and every shard primary. */
typedef struct ClusterConns
{
    Topology topo;
    char *meta_conninfo;
    char **shard_conninfo; /* [topo.nshards] */
    PGconn *meta;
    PGconn **shards;       /* [topo.nshards]; NULL unless connect_shards */
} ClusterConns;

/* Reads the topology of `cluster` from the catalog at catalog_conninfo
 * and connects to the cluster's metadata primary (and, with
 * connect_shards, to every shard primary). */
int cluster_conns_open(const char *catalog_conninfo, const char *cluster, bool connect_shards, ClusterConns *cc,
                       Error *err);
void cluster_conns_close(ClusterConns *cc);

/* The workload row of the cluster, from its own metadata database: under
 * the cluster's name, else under its origin's (a restored cluster
 * registered under a new name carries its source's row). exists=false
 * when there is none. */
int bank_info_load(PGconn *meta, const Topology *t, BankInfo *out, bool *exists, Error *err);
void bank_info_free(BankInfo *b);

#endif
