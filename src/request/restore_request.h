/* A restore request (node, shard or cluster), with its one codec: from
 * command-line flags, from JSON, to JSON, validated by one set of rules.
 * The CLI (restore.c), the CLI's manager client (client_cmd.c), the
 * manager's HTTP API and its restore job (api_jobs.c, job_restore.c) all go
 * through it, so that a flag added here is accepted on every path, spelled
 * --flag-name on a command line and "flag_name" in JSON (docs/design.md,
 * "The request layer"). */
#ifndef STRATA_REQUEST_RESTORE_REQUEST_H
#define STRATA_REQUEST_RESTORE_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Where a restore target points; RESTORE_TARGET_LATEST is the default
 * when a request names none. */
typedef enum RestoreTargetKind
{
    RESTORE_TARGET_LATEST = 0,
    RESTORE_TARGET_TIME,
    RESTORE_TARGET_XID,
    RESTORE_TARGET_LSN,
    RESTORE_TARGET_NAME,
    RESTORE_TARGET_IMMEDIATE,
    RESTORE_TARGET_CP,
    RESTORE_TARGET_GTXID,
} RestoreTargetKind;

typedef struct RestoreRequest
{
    char *node;             /* node mode: the pool node restored (--node) */
    char *cluster;          /* cluster mode: the source cluster */
    char *shard;            /* cluster mode: one shard alone */
    char *to;               /* cluster mode: the new cluster's name */
    char *dir;              /* cluster mode: its data directories */
    int base_port;          /* cluster mode: its first port */
    char *placement;        /* cluster mode: a placement file (restore/placement.h) instead of dir and base_port */
    char *hosts;            /* cluster mode: the hosts (of the placement or the manager's node managers) to use */
    RestoreTargetKind target_kind;
    char *target_value;     /* NULL for latest and immediate */
    int ntargets;           /* targets given (validate refuses more than one) */
    char *backup_id, *target_dir, *action, *archive_node, *pg_bin, *meta_conn;
    bool exclusive, force, start;
    int jobs, port, start_timeout;
    uint64_t max_rate;
    char *cut;              /* cluster mode, time/gtxid: auto (default), exact or cp */
    bool primaries_only;    /* cluster mode: no standbys rebuilt */
    char **sets;            /* NAME=VALUE settings */
    size_t nsets;
    uint64_t given;         /* which fields were given (bit per option): to_json writes these */
} RestoreRequest;

/* Where a request is validated: the manager restores clusters only, and
 * may take the directory and ports from its own configuration. */
typedef enum RestoreRequestPlace
{
    RESTORE_AT_LOCAL,
    RESTORE_AT_MANAGER,
} RestoreRequestPlace;

/* The field table (request/codec.h): the command line takes one flag per field. */
struct RequestSchema;
const struct RequestSchema *restore_request_schema(void);
void restore_request_init(RestoreRequest *r);
void restore_request_free(RestoreRequest *r);
/* One flag, by its long name without "--" (e.g. "base-port"); value NULL
 * for flags without an argument. 1 when the name is no restore flag (the
 * caller's own, such as --pool), 0 when taken, -1 with *err on a bad value. */
int restore_request_set_flag(RestoreRequest *r, const char *flag, const char *value, Error *err);
/* A whole command line of restore flags (argv[0] is the command name). */
int restore_request_from_argv(int argc, char **argv, RestoreRequest *r, Error *err);
/* A JSON object of the same fields ("base_port": 26000, "latest": true,
 * "settings": ["a=b"], ...); an unknown field or a wrong type is an error. */
int restore_request_from_json(json_object *body, RestoreRequest *r, Error *err);
/* The rules of every path, stated once (docs/cli.md). */
int restore_request_validate(const RestoreRequest *r, RestoreRequestPlace where, Error *err);
/* The given fields and the target (the default written as "latest": true). */
json_object *restore_request_to_json(const RestoreRequest *r);
const char *restore_target_kind_name(RestoreTargetKind k);

#endif
