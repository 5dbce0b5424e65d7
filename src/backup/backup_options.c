/* BackupOptions, the engine's options, and BackupRequest, the operator's
 * request (request/backup_request.h): the defaults are the request's, and
 * a node backup sent elsewhere (a node manager's task) travels as a request
 * again, so both ends read it with the one codec. */
#include <stdio.h>
#include <string.h>

#include "backup/backup.h"
#include "pool/manifest.h"

void
backup_options_from_request(BackupOptions *o, const BackupRequest *r)
{
    o->pg_conn = r->pg_conn;
    o->pgdata = r->pgdata;
    o->primary_conn = r->primary_conn;
    o->jobs = r->jobs;
    o->compression = r->compression;
    o->level = r->level;
    o->max_rate = r->max_rate;
    o->chunk_size = r->chunk_size;
    o->nice = r->nice;
    o->archive_timeout = r->archive_timeout;
    o->label = r->label;
    o->cluster = r->cluster;
    o->meta_conn = r->meta_conn;
    o->shard = r->shard;
    o->cp_timeout_ms = r->cp_timeout_ms;
    o->cipher = r->cipher;
    o->cipher_set = r->cipher_set;
    o->type = r->type;
    o->parent = r->parent;
}

void
backup_options_defaults(BackupOptions *o)
{
    BackupRequest r;
    backup_request_init(&r);   /* no strings: nothing to free */
    r.level = compression_default_level(r.compression);
    memset(o, 0, sizeof(*o));
    common_options_init(&o->co);
    backup_options_from_request(o, &r);
}

int
backup_request_of_node_options(const BackupOptions *o, BackupRequest *r, Error *err)
{
    char jobs[16], nice[16], level[16], chunk[32], rate[32], timeout[16];
    snprintf(jobs, sizeof(jobs), "%d", o->jobs);
    snprintf(nice, sizeof(nice), "%d", o->nice);
    snprintf(level, sizeof(level), "%d", o->level);
    snprintf(chunk, sizeof(chunk), "%llu", (unsigned long long) o->chunk_size);
    snprintf(rate, sizeof(rate), "%llu", (unsigned long long) o->max_rate);
    snprintf(timeout, sizeof(timeout), "%d", o->archive_timeout);
    const struct
    {
        const char *flag, *value;
    } fields[] = {
        {"node", o->co.node},
        {"pgdata", o->pgdata},
        {"pg-conn", o->pg_conn},
        {"primary-conn", o->primary_conn},
        {"label", o->label},
        {"jobs", jobs},
        {"nice", nice},
        {"compress", compression_name(o->compression)},
        {"compress-level", o->compression != COMPRESS_NONE ? level : NULL},
        {"chunk-size", chunk},
        {"max-rate", o->max_rate ? rate : NULL},
        {"archive-timeout", timeout},
        {"cipher", o->cipher_set ? cipher_name(o->cipher) : NULL},
        {"type", backup_type_name(o->type)},
        {"parent", o->parent},
    };
    backup_request_init(r);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    {
        if (!fields[i].value)
            continue;
        int rc = backup_request_set_flag(r, fields[i].flag, fields[i].value, err);
        if (rc != 0)
        {
            if (rc > 0)
                error_set(err, "--%s is not a backup request field", fields[i].flag);
            backup_request_free(r);
            return -1;
        }
    }
    if (backup_request_validate(r, BACKUP_AT_LOCAL, err) != 0)
    {
        backup_request_free(r);
        return -1;
    }
    return 0;
}

void
backup_result_members(json_object *d, const Manifest *m)
{
    char start[32], stop[32];
    lsn_format(m->start_lsn, start);
    lsn_format(m->stop_lsn, stop);
    json_object_object_add(d, "start_lsn", json_object_new_string(start));
    json_object_object_add(d, "stop_lsn", json_object_new_string(stop));
    json_object_object_add(d, "timeline", json_object_new_int64(m->timeline));
    json_object_object_add(d, "size", json_object_new_int64((int64_t) m->size));
    json_object_object_add(d, "stored_size", json_object_new_int64((int64_t) m->stored_size));
    json_object_object_add(d, "duration", json_object_new_double(m->duration));
    json_object_object_add(d, "files", json_object_new_int64((int64_t) m->nfiles));
    json_object_object_add(d, "page_errors", json_object_new_int64((int64_t) m->npage_errors));
}
