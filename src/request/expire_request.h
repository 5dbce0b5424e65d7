/* An expire request (the retention of one node's backups, of a cluster's,
 * or of one shard's), with its one codec (request/codec.h): from flags,
 * from JSON, to JSON, validated by one set of rules. `strata expire`
 * (expire_cmd.c) and the cluster manager's expire job (manager/policy.c,
 * queued by a policy) go through it; expire_options_from_request()
 * (expire/expire.h) hands the engine its options. */
#ifndef STRATA_REQUEST_EXPIRE_REQUEST_H
#define STRATA_REQUEST_EXPIRE_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct ExpireRequest
{
    char *cluster, *shard, *node, *meta_conn;
    int keep;                   /* keep the newest N complete backups (0: not given) */
    int keep_days;              /* keep what the last D days need (0: not given) */
    bool dry_run;
    int interrupted_after;      /* seconds (0: the engine's default) */
    uint64_t given;             /* which fields were given: to_json writes these */
} ExpireRequest;

typedef enum ExpireRequestPlace
{
    EXPIRE_AT_LOCAL,            /* strata expire: a node's or a cluster's backups */
    EXPIRE_AT_MANAGER,          /* a registered cluster (or shard) of the manager, its own catalog */
} ExpireRequestPlace;

/* The field table (request/codec.h): the command line takes one flag per field. */
struct RequestSchema;
const struct RequestSchema *expire_request_schema(void);
void expire_request_init(ExpireRequest *r);
void expire_request_free(ExpireRequest *r);
/* As backup_request_set_flag: 1 not an expire flag, 0 set, -1 bad value. */
int expire_request_set_flag(ExpireRequest *r, const char *flag, const char *value, Error *err);
int expire_request_from_json(json_object *body, ExpireRequest *r, Error *err);
int expire_request_validate(const ExpireRequest *r, ExpireRequestPlace where, Error *err);
json_object *expire_request_to_json(const ExpireRequest *r);

#endif
