/* A consistency-point request (create one now, or one every N seconds; or
 * list them), with its one codec (request/codec.h): from flags, from JSON,
 * to JSON, validated by one set of rules. `strata cp` (consistency/cp_cmd.c)
 * and the cluster manager's POST /clusters/{c}/cps go through it. */
#ifndef STRATA_REQUEST_CP_REQUEST_H
#define STRATA_REQUEST_CP_REQUEST_H

#include <json-c/json.h>
#include <stdint.h>

#include "common/error.h"

typedef struct CpRequest
{
    char *cluster, *name, *meta_conn;
    int timeout_ms;     /* the barrier's bound (default 2000) */
    int every;          /* seconds between CPs (0: one CP) */
    long count;         /* with every: how many (0: until interrupted) */
    uint64_t given;     /* which fields were given: to_json writes these */
} CpRequest;

typedef enum CpRequestPlace
{
    CP_CREATE_AT_LOCAL,     /* strata cp create */
    CP_LIST_AT_LOCAL,       /* strata cp list: the pool's CPs of a cluster */
    CP_CREATE_AT_MANAGER,   /* POST /clusters/{c}/cps: one CP, name and timeout only */
} CpRequestPlace;

struct RequestSchema;
const struct RequestSchema *cp_request_schema(void);
void cp_request_init(CpRequest *r);
void cp_request_free(CpRequest *r);
int cp_request_set_flag(CpRequest *r, const char *flag, const char *value, Error *err);
int cp_request_from_json(json_object *body, CpRequest *r, Error *err);
int cp_request_validate(const CpRequest *r, CpRequestPlace where, Error *err);
json_object *cp_request_to_json(const CpRequest *r);

#endif
