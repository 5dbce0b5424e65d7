/* The longest name of a cluster, a shard, a node or a consistency point. Here rather than in
 * cluster/topology.h because the command line's seed flags (cli/) derive a
 * cluster name too, and cli/ sits below cluster/. */
#ifndef STRATA_NAME_LIMITS_H
#define STRATA_NAME_LIMITS_H

#define TOPO_NAME_MAX 63
/* A consistency point's name: also a pool object's (clusters/C/cps/NAME.json). */
#define CP_NAME_MAX 63

#endif
