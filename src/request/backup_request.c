/* The backup request's codec: its field table and setter over
 * request/codec.c, and its rules, stated once. */
#include <stdlib.h>
#include <string.h>

#include "cluster/topology.h"
#include "common/util.h"
#include "pool/fields.h"
#include "pool/manifest.h"
#include "pool/pool.h"
#include "request/backup_request.h"
#include "request/codec.h"

enum
{
    B_NODE, B_PGCONN, B_PGDATA, B_PRIMARY, B_JOBS, B_COMPRESS, B_LEVEL, B_MAXRATE, B_NICE, B_ARCHIVE_TIMEOUT,
    B_LABEL, B_CLUSTER, B_META, B_SHARD, B_CP_TIMEOUT, B_CIPHER, B_TYPE, B_EXPIRE_AUTO, B_KEEP, B_KEEP_DAYS, B_CHUNK, B_PARENT,
};

static const RequestField fields[] = {
    {B_NODE, "node", "node", FIELD_STRING},
    {B_PGCONN, "pg-conn", "pg_conn", FIELD_STRING},
    {B_PGDATA, "pgdata", "pgdata", FIELD_STRING},
    {B_PRIMARY, "primary-conn", "primary_conn", FIELD_STRING},
    {B_JOBS, "jobs", "jobs", FIELD_INT},
    {B_COMPRESS, "compress", "compress", FIELD_STRING},
    {B_LEVEL, "compress-level", "compress_level", FIELD_INT},
    {B_MAXRATE, "max-rate", "max_rate", FIELD_SIZE},
    {B_NICE, "nice", "nice", FIELD_INT},
    {B_ARCHIVE_TIMEOUT, "archive-timeout", "archive_timeout", FIELD_INT},
    {B_LABEL, "label", "label", FIELD_STRING},
    {B_CLUSTER, "cluster", "cluster", FIELD_STRING},
    {B_META, "meta-conn", "meta_conn", FIELD_STRING},
    {B_SHARD, "shard", "shard", FIELD_STRING},
    {B_CP_TIMEOUT, "cp-timeout-ms", "cp_timeout_ms", FIELD_INT},
    {B_CIPHER, "cipher", "cipher", FIELD_STRING},
    {B_TYPE, "type", "type", FIELD_STRING},
    {B_EXPIRE_AUTO, "expire-auto", "expire_auto", FIELD_STRING},
    {B_KEEP, "keep", "keep", FIELD_INT},
    {B_KEEP_DAYS, "keep-days", "keep_days", FIELD_INT},
    {B_CHUNK, "chunk-size", "chunk_size", FIELD_SIZE},
    {B_PARENT, "parent", "parent", FIELD_STRING},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define BIT(f) ((uint64_t) 1 << (f))

static const char *const type_names[] = {"full", "incr", "diff"};

int
backup_type_parse(const char *name, BackupType *out, Error *err)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (!strcmp(name, type_names[i]))
        {
            *out = (BackupType) i;
            return 0;
        }
    return error_set(err, "backup type '%s' is not one of full, incr, diff", name);
}

const char *
backup_type_name(BackupType t)
{
    return (unsigned) t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

void
backup_request_init(BackupRequest *r)
{
    memset(r, 0, sizeof(*r));
    r->jobs = 2;
    r->compression = COMPRESS_ZSTD;
    r->level = -1;
    r->archive_timeout = 60;
    r->cp_timeout_ms = 2000;
    /* A backup shares its host with databases: it should use the CPU they leave idle. */
    r->nice = 10;
    r->chunk_size = CHUNK_SIZE_DEFAULT;
}

void
backup_request_free(BackupRequest *r)
{
    char **strings[] = {&r->node, &r->pg_conn, &r->pgdata, &r->primary_conn, &r->label, &r->cluster, &r->meta_conn,
                        &r->shard, &r->parent};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        free(*strings[i]);
    memset(r, 0, sizeof(*r));
}

/* y/n as pgBackRest spells it, and the usual synonyms. */
static int
expire_auto_parse(const char *label, const char *value, ExpireAuto *out, Error *err)
{
    static const char *const on[] = {"y", "yes", "on", "true", "1", NULL}, *const off[] = {"n", "no", "off", "false", "0", NULL};
    for (size_t i = 0; on[i]; i++)
        if (!strcmp(value, on[i]) || !strcmp(value, off[i]))
        {
            *out = !strcmp(value, on[i]) ? EXPIRE_AUTO_ON : EXPIRE_AUTO_OFF;
            return 0;
        }
    return error_set(err, "%s must be y or n, not '%.64s'", label, value);
}

static const char *
expire_auto_name(ExpireAuto a)
{
    return a == EXPIRE_AUTO_ON ? "y" : a == EXPIRE_AUTO_OFF ? "n" : "";
}

/* Stored in the manifest, which refuses what is not one line of text. */
static int
label_check(const char *label, const char *value, Error *err)
{
    for (const unsigned char *ch = (const unsigned char *) value; *ch; ch++)
        if (*ch < 0x20 || *ch == 0x7f || ch - (const unsigned char *) value >= 1024)
            return error_set(err, "%s: at most 1024 bytes on one line, without control characters", label);
    return 0;
}

static int
set_field(void *req, const RequestField *f, const char *label, const char *value, Error *err)
{
    BackupRequest *r = req;
    int rc = 0;
    switch (f->id)
    {
        case B_NODE: request_set_string(&r->node, value); break;
        case B_PGCONN: request_set_string(&r->pg_conn, value); break;
        case B_PGDATA: request_set_string(&r->pgdata, value); break;
        case B_PRIMARY: request_set_string(&r->primary_conn, value); break;
        case B_LABEL:
            if ((rc = label_check(label, value, err)) == 0)
                request_set_string(&r->label, value);
            break;
        case B_CLUSTER: request_set_string(&r->cluster, value); break;
        case B_META: request_set_string(&r->meta_conn, value); break;
        case B_SHARD: request_set_string(&r->shard, value); break;
        case B_PARENT:
            if ((rc = name_check(label, value, false, err)) == 0)
                request_set_string(&r->parent, value);
            break;
        case B_CP_TIMEOUT: rc = request_set_int(label, value, 10, 600000, &r->cp_timeout_ms, err); break;
        case B_LEVEL: rc = request_set_int(label, value, 0, 22, &r->level, err); break;
        case B_JOBS: rc = request_set_int(label, value, 1, 64, &r->jobs, err); break;
        case B_COMPRESS:
            if (compression_parse(value, &r->compression, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            break;
        case B_MAXRATE:
            if (parse_size(value, &r->max_rate, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            else if (r->max_rate == 0)
                rc = error_set(err, "%s must be above 0", label);
            break;
        case B_NICE: rc = request_set_int(label, value, 0, 19, &r->nice, err); break;
        case B_CHUNK:
            if (parse_size(value, &r->chunk_size, err) != 0 || chunk_size_check(r->chunk_size, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            break;
        case B_CIPHER:
            if (cipher_parse(value, &r->cipher, err) == 0)
                r->cipher_set = true;
            else
                rc = -1;
            break;
        case B_ARCHIVE_TIMEOUT: rc = request_set_int(label, value, 1, 86400, &r->archive_timeout, err); break;
        case B_TYPE:
            if (backup_type_parse(value, &r->type, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            break;
        case B_EXPIRE_AUTO: rc = expire_auto_parse(label, value, &r->expire_auto, err); break;
        /* The bounds of strata expire's --keep and --keep-days. */
        case B_KEEP: rc = request_set_int(label, value, 1, 1000000, &r->keep, err); break;
        case B_KEEP_DAYS: rc = request_set_int(label, value, 1, 100000, &r->keep_days, err); break;
        default: break;
    }
    if (rc == 0)
        r->given |= BIT(f->id);
    return rc;
}

static const RequestSchema schema = {"backup", fields, NFIELDS, set_field};

const RequestSchema *
backup_request_schema(void)
{
    return &schema;
}

int
backup_request_set_flag(BackupRequest *r, const char *flag, const char *value, Error *err)
{
    return request_set_flag(&schema, r, flag, value, err);
}

int
backup_request_from_argv(int argc, char **argv, BackupRequest *r, Error *err)
{
    return request_from_argv(&schema, r, argc, argv, err);
}

int
backup_request_from_json(json_object *body, BackupRequest *r, Error *err)
{
    return request_from_json(&schema, r, body, err);
}

int
backup_request_validate(BackupRequest *r, BackupRequestPlace where, Error *err)
{
    if (where == BACKUP_AT_MANAGER)
    {
        uint64_t extra = r->given & ~(BIT(B_CLUSTER) | BIT(B_SHARD) | BIT(B_TYPE) | BIT(B_EXPIRE_AUTO) | BIT(B_KEEP) |
                                      BIT(B_KEEP_DAYS));
        for (size_t i = 0; extra && i < NFIELDS; i++)
            if (extra & BIT(fields[i].id))
                return error_set(err, "%s is not taken by a backup through the cluster manager (it backs up "
                                      "registered clusters: cluster, shard and type; expire_auto, keep or keep_days "
                                      "for the retention after it)", fields[i].key);
        if (!r->cluster)
            return error_set(err, "the cluster manager backs up registered clusters: cluster is required");
    }
    if (r->keep > 0 && r->keep_days > 0)
        return error_set(err, "the retention after the backup: give keep or keep-days, not both");
    if (r->level < 0)
        r->level = compression_default_level(r->compression);
    else if (r->compression != COMPRESS_NONE && compression_check_level(r->compression, r->level, err) != 0)
        return -1;
    if (r->parent && r->type == BACKUP_TYPE_FULL)
        return error_set(err, "parent %s: a full backup has no parent (give type incr or diff)", r->parent);
    if (r->parent && r->cluster)
        return error_set(err, "parent %s: a cluster backup chooses each replica set's parent itself (the set's "
                              "node backup in the newest earlier cluster backup of the same scope)", r->parent);
    if (r->cluster)
    {
        if (topology_name_check("cluster", r->cluster, err) != 0 ||
            (r->shard && topology_name_check("shard", r->shard, err) != 0))
            return -1;
        if (where == BACKUP_AT_LOCAL && !r->meta_conn)
            return error_set(err, "a cluster backup needs meta-conn (--meta-conn: the metadata primary, where the "
                                  "topology is)");
        if (r->pgdata || r->pg_conn)
            return error_set(err, "a cluster backup backs up every replica set from its topology: pgdata and "
                                  "pg-conn do not apply");
        return 0;
    }
    if (r->shard || r->meta_conn)
        return error_set(err, "shard and meta-conn go with cluster");
    if (!r->pgdata)
        return error_set(err, "pgdata is required (--pgdata: the instance's data directory)");
    if (!r->node)
        return error_set(err, "node is required: the pool node backed up (e.g. c1/shard1)");
    return node_name_check(r->node, err);
}

static json_object *
field_json(const void *req, int id)
{
    const BackupRequest *r = req;
    switch (id)
    {
        case B_NODE: return json_object_new_string(r->node);
        case B_PGCONN: return json_object_new_string(r->pg_conn);
        case B_PGDATA: return json_object_new_string(r->pgdata);
        case B_PRIMARY: return json_object_new_string(r->primary_conn);
        case B_LABEL: return json_object_new_string(r->label);
        case B_CLUSTER: return json_object_new_string(r->cluster);
        case B_META: return json_object_new_string(r->meta_conn);
        case B_SHARD: return json_object_new_string(r->shard);
        case B_CP_TIMEOUT: return json_object_new_int(r->cp_timeout_ms);
        case B_LEVEL: return json_object_new_int(r->level);
        case B_JOBS: return json_object_new_int(r->jobs);
        case B_COMPRESS: return json_object_new_string(compression_name(r->compression));
        case B_MAXRATE: return json_object_new_int64((int64_t) r->max_rate);
        case B_NICE: return json_object_new_int(r->nice);
        case B_ARCHIVE_TIMEOUT: return json_object_new_int(r->archive_timeout);
        case B_CIPHER: return json_object_new_string(cipher_name(r->cipher));
        case B_TYPE: return json_object_new_string(backup_type_name(r->type));
        case B_EXPIRE_AUTO: return json_object_new_string(expire_auto_name(r->expire_auto));
        case B_KEEP: return json_object_new_int(r->keep);
        case B_KEEP_DAYS: return json_object_new_int(r->keep_days);
        case B_CHUNK: return json_object_new_int64((int64_t) r->chunk_size);
        case B_PARENT: return json_object_new_string(r->parent);
        default: return NULL;
    }
}

json_object *
backup_request_to_json(const BackupRequest *r)
{
    return request_given_json(&schema, r->given, field_json, r);
}
