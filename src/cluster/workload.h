/* strata workload's pieces (workload.c: the command): the state its
 * client threads and its resolver thread share, the round trips they
 * make, and the threads themselves. */
#ifndef STRATA_CLUSTER_WORKLOAD_H
#define STRATA_CLUSTER_WORKLOAD_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* A global transaction that its client abandoned (on purpose or because a
 * connection broke mid-protocol): the resolver's work list. */
typedef struct InDoubt
{
    char gtxid[160];
    int shard[2];
    long long account[2];
    double since;
    struct InDoubt *next;
} InDoubt;

typedef struct Shared
{
    const char *catalog_conninfo;
    char *cluster;
    size_t nshards;
    char **shard_names;
    char *meta_conninfo;   /* guarded by lock: replaced when the topology changes */
    char **shard_conninfo; /* [nshards], guarded by lock */
    long accounts;
    int clients;
    double cross_ratio, ab_prep, ab_dec, resolve_after;
    bool leave_in_doubt;
    char run_id[96];

    atomic_bool stop;         /* clients: finish the current transfer and return; resolver: hurry */
    atomic_bool clients_done; /* resolver: nothing new will come, return once done */
    atomic_ullong committed_cross, committed_single, abandoned_prep, abandoned_dec, errors, resolved_commit,
        resolved_rollback, reconnects;
    atomic_ullong in_doubt;

    pthread_mutex_t lock;
    InDoubt *pending;
    bool failed;
    Error fatal;
} Shared;

/* workload_shared.c */
/* The first fatal error (fmt with two strings) is kept; every thread is
 * told to stop. */
void set_fatal(Shared *s, const char *fmt, const char *a, const char *b);

typedef enum
{
    Q_OK,
    Q_SQL_ERROR,  /* the server refused; the connection is fine */
    Q_CONN_ERROR  /* the connection broke: the outcome is unknown */
} QStatus;

typedef struct QResult
{
    QStatus st;
    char sqlstate[6];
    char msg[512];
    int inserted_one;   /* INSERT results that inserted exactly one row */
    char last_tag[64];  /* command tag of the last result */
} QResult;

/* Runs one or more statements in one round trip (simple query protocol)
 * and looks at every result, not just the last one. */
QStatus run_sql(PGconn *c, const char *sql, QResult *q);
/* Errors that retrying cannot cure: the bank is not there (no --init),
 * or strata's catalog is missing. Everything else (lock timeouts,
 * deadlocks, serialization failures, shutdowns) is counted and retried. */
bool sqlstate_is_fatal(const char *ss);
/* Leaves no open transaction behind after an error. */
void session_reset(PGconn *c);
/* Connection slot `idx` (a shard, or nshards for the metadata primary);
 * retries until connected or told to stop, re-reading the topology in
 * between. */
PGconn *connect_slot(Shared *s, size_t idx);
/* A global transaction the resolver is to finish. */
void hand_to_resolver(Shared *s, const char *gtxid, const int shard[2], const long long account[2]);
/* Whether an abandoned transaction holds account a or b. */
bool account_in_doubt(Shared *s, long long a, long long b);

/* workload_client.c: a client thread, transfers until s->stop. */
typedef struct Client
{
    Shared *s;
    int id;
    uint64_t rng;
    unsigned long long seq;
    PGconn **conns; /* [nshards + 1]: shards, then the metadata primary */
    pthread_t thread;
} Client;
void *client_main(void *arg);

/* workload_resolver.c: the resolver thread, finishing abandoned global
 * transactions like a recovering coordinator. */
typedef struct Resolver
{
    Shared *s;
    PGconn **conns; /* [nshards + 1] */
    pthread_t thread;
} Resolver;
void *resolver_main(void *arg);

#endif
