/* A backup request (one node, a cluster, or one shard of it), with its one
 * codec (request/codec.h): from flags, from JSON, to JSON, validated by
 * one set of rules. The CLI (backup_cmd.c), its manager client
 * (client_cmd.c) and the manager's API (api_jobs.c) go through it. */
#ifndef STRATA_REQUEST_BACKUP_REQUEST_H
#define STRATA_REQUEST_BACKUP_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pipeline/encrypt.h"
#include "pipeline/stage.h"

/* --type: a full backup, or the blocks changed since the node's last
 * backup (incr) or its last full one (diff), from the WAL index. */
typedef enum BackupType
{
    BACKUP_TYPE_FULL = 0,
    BACKUP_TYPE_INCR,
    BACKUP_TYPE_DIFF,
} BackupType;

int backup_type_parse(const char *name, BackupType *out, Error *err);
const char *backup_type_name(BackupType t);   /* "full", "incr", "diff" */
/* --expire-auto (expire/auto_expire.h): unset applies a retention when
 * one is set; y asks for one (a warning without); n never applies one. */
typedef enum ExpireAuto
{
    EXPIRE_AUTO_UNSET = 0,
    EXPIRE_AUTO_ON,
    EXPIRE_AUTO_OFF,
} ExpireAuto;

typedef struct BackupRequest
{
    char *node, *pg_conn, *pgdata, *primary_conn, *label;
    char *cluster, *meta_conn, *shard;
    char *parent;           /* incr/diff of one node: the backup to build on (default: chosen) */
    int jobs, nice, archive_timeout, cp_timeout_ms;
    Compression compression;
    int level;              /* -1 until validate: the compression's default */
    uint64_t max_rate;
    uint64_t chunk_size;    /* files larger are split into ranges (pool/manifest_ranges.c) */
    Cipher cipher;
    bool cipher_set;        /* --cipher given (else the pool's default) */
    BackupType type;
    ExpireAuto expire_auto;
    int keep, keep_days;    /* the retention after the backup (0: none given) */
    uint64_t given;         /* which fields were given: to_json writes these */
} BackupRequest;

typedef enum BackupRequestPlace
{
    BACKUP_AT_LOCAL,
    BACKUP_AT_MANAGER,      /* registered clusters only: cluster and shard */
} BackupRequestPlace;

/* The field table (request/codec.h): the command line takes one flag per field. */
struct RequestSchema;
const struct RequestSchema *backup_request_schema(void);
void backup_request_init(BackupRequest *r);
void backup_request_free(BackupRequest *r);
/* As restore_request_set_flag: 1 not a backup flag, 0 set, -1 bad value. */
int backup_request_set_flag(BackupRequest *r, const char *flag, const char *value, Error *err);
int backup_request_from_argv(int argc, char **argv, BackupRequest *r, Error *err);
int backup_request_from_json(json_object *body, BackupRequest *r, Error *err);
/* Also settles the compression level (its default when none was given). */
int backup_request_validate(BackupRequest *r, BackupRequestPlace where, Error *err);
json_object *backup_request_to_json(const BackupRequest *r);

#endif
