#include "pool/pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pool/keys.h"
#include "common/log.h"
#include "pg/wal.h"
#include "pool/fields.h"
#include "pool/sealed.h"

int
pool_init(const char *location, Error *err)
{
    Storage *s;
    if (storage_open(location, &s, err) != 0)
        return -1;
    bool exists = false;
    int rc = storage_exists(s, POOL_DESCRIPTOR, &exists, err);
    if (rc == 0 && exists)
    {
        storage_close(s);
        return error_set(err, "%s is already a strata pool", location);
    }
    StorageList l = {0};
    if (rc == 0)
        rc = storage_list(s, "", &l, err);
    if (rc == 0 && l.count > 0)
        rc = error_set(err, "%s is not empty and not a strata pool: refusing to make it one", location);
    storage_list_free(&l);
    if (rc == 0)
    {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "format", json_object_new_int(POOL_FORMAT));
        json_object_object_add(o, "created_by", json_object_new_string("strata"));
        json_object_object_add(o, "created_at", json_object_new_int64((int64_t) time(NULL)));
        rc = sealed_put(s, POOL_DESCRIPTOR, o, err);
        json_object_put(o);
    }
    /* A keyed pool is keyed from its creation: every manifest and
     * descriptor it ever holds is authenticated. */
    if (rc == 0 && key_source_configured())
        rc = pool_keys_init(s, location, err);
    storage_close(s);
    return rc;
}

int
pool_descriptor_parse(json_object *o, const char *location, int *format, Error *err)
{
    char what[ERROR_MSG_MAX / 2];
    snprintf(what, sizeof(what), "pool %s: %s", location, POOL_DESCRIPTOR);
    FieldReader r;
    field_reader_init(&r, what, err);
    *format = (int) field_int(&r, o, "format", 0, INT32_MAX);
    return r.failed ? -1 : 0;
}

int
pool_open(const char *location, Pool **out, Error *err)
{
    Storage *s;
    if (storage_open(location, &s, err) != 0)
        return -1;
    json_object *desc;
    bool missing;
    if (sealed_get(s, POOL_DESCRIPTOR, &desc, &missing, err) != 0)
    {
        storage_close(s);
        return error_prefix(err, "pool %s: ", location);
    }
    if (missing)
    {
        storage_close(s);
        return error_set(err, "%s is not a strata pool (no %s); create one with: strata pool-init --pool %s", location,
                         POOL_DESCRIPTOR, location);
    }
    int format;
    int rc = pool_descriptor_parse(desc, location, &format, err);
    json_object_put(desc);
    if (rc == 0 && format != POOL_FORMAT)
        rc = error_set(err, "pool %s has format %d; this strata reads format %d", location, format, POOL_FORMAT);
    if (rc != 0)
    {
        storage_close(s);
        return -1;
    }
    Pool *p = xcalloc(1, sizeof(*p));
    p->storage = s;
    p->location = xstrdup(location);
    if (pool_keys_open(p, err) != 0)
    {
        pool_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

void
pool_close(Pool *p)
{
    if (!p)
        return;
    storage_close(p->storage);
    pool_keys_free(p->keys);
    free(p->location);
    free(p);
}

int
node_name_check(const char *node, Error *err)
{
    if (!node || !*node)
        return error_set(err, "no node given (use --node or STRATA_NODE)");
    /* The same rule as for every name read back from the pool: a node
     * name becomes pool paths and words of restore_command. */
    return name_check("--node", node, true, err);
}

static char *
node_info_path(const char *node)
{
    return xprintf("nodes/%s/node.json", node);
}

int
node_info_parse(json_object *o, const char *path, NodeInfo *info, Error *err)
{
    FieldReader r;
    field_reader_init(&r, path, err);
    memset(info, 0, sizeof(*info));
    info->system_identifier = field_u64_text(&r, o, "system_identifier");
    /* 0 until a backup records them (wal-push writes the node first). */
    info->pg_version_num = (int) field_int(&r, o, "pg_version_num", 0, 999999);
    info->wal_segment_size = (uint64_t) field_int(&r, o, "wal_segment_size", 0, (int64_t) 1 << 30);
    if (!r.failed && info->wal_segment_size && !wal_segment_size_valid(info->wal_segment_size))
        field_fail(&r, "wal_segment_size %" PRIu64 " is not a power of two from 1 MB to 1 GB", info->wal_segment_size);
    return r.failed ? -1 : 0;
}

int
node_info_read(Pool *p, const char *node, NodeInfo *info, bool *exists, Error *err)
{
    char *path = node_info_path(node);
    json_object *o;
    bool missing;
    int rc = pool_sealed_get(p, path, &o, &missing, err);
    memset(info, 0, sizeof(*info));
    *exists = false;
    if (rc != 0 || missing)
    {
        free(path);
        return rc;
    }
    rc = node_info_parse(o, path, info, err);
    free(path);
    if (rc != 0)
    {
        json_object_put(o);
        return -1;
    }
    json_object_put(o);
    *exists = true;
    return 0;
}

static int
node_info_write(Pool *p, const char *node, const NodeInfo *info, Error *err)
{
    char sysid[32];
    snprintf(sysid, sizeof(sysid), "%" PRIu64, info->system_identifier);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "system_identifier", json_object_new_string(sysid));
    json_object_object_add(o, "pg_version_num", json_object_new_int(info->pg_version_num));
    json_object_object_add(o, "wal_segment_size", json_object_new_int64((int64_t) info->wal_segment_size));
    char *path = node_info_path(node);
    int rc = pool_sealed_put(p, path, o, err);
    free(path);
    json_object_put(o);
    return rc;
}

int
node_info_ensure(Pool *p, const char *node, NodeInfo *info, Error *err)
{
    NodeInfo have;
    bool exists;
    if (node_info_read(p, node, &have, &exists, err) != 0)
        return -1;
    if (!exists)
        return node_info_write(p, node, info, err);
    if (info->system_identifier && have.system_identifier != info->system_identifier)
        return error_set(err,
                         "node %s in pool %s belongs to PostgreSQL system %" PRIu64 ", not %" PRIu64
                         " (is another cluster's archive_command or backup pointed at this node?)",
                         node, p->location, have.system_identifier, info->system_identifier);
    if (info->wal_segment_size && have.wal_segment_size && have.wal_segment_size != info->wal_segment_size)
        return error_set(err, "node %s in pool %s has WAL segment size %" PRIu64 ", not %" PRIu64, node, p->location,
                         have.wal_segment_size, info->wal_segment_size);
    bool update = false;
    if (info->pg_version_num && have.pg_version_num != info->pg_version_num)
    {
        if (have.pg_version_num / 10000 && have.pg_version_num / 10000 != info->pg_version_num / 10000)
            return error_set(err, "node %s in pool %s holds PostgreSQL %d, not %d", node, p->location,
                             have.pg_version_num / 10000, info->pg_version_num / 10000);
        have.pg_version_num = info->pg_version_num;   /* a minor upgrade */
        update = true;
    }
    if (!have.wal_segment_size && info->wal_segment_size)
    {
        have.wal_segment_size = info->wal_segment_size;
        update = true;
    }
    *info = have;
    return update ? node_info_write(p, node, &have, err) : 0;
}

char *
pool_backups_dir(const char *node)
{
    return xprintf("nodes/%s/backups", node);
}

char *
pool_backup_dir(const char *node, const char *id)
{
    return xprintf("nodes/%s/backups/%s", node, id);
}

char *
pool_manifest_path(const char *node, const char *id)
{
    return xprintf("nodes/%s/backups/%s/backup.manifest", node, id);
}

char *
pool_wal_dir(const char *node)
{
    return xprintf("nodes/%s/wal", node);
}

/* Node names may contain '/', so nodes are found by their node.json,
 * a few levels deep at most. */
static int
find_nodes(Pool *p, const char *prefix, int depth, char ***names, size_t *count, Error *err)
{
    char *dir = *prefix ? xprintf("nodes/%s", prefix) : xstrdup("nodes");
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    free(dir);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < l.count && rc == 0; i++)
    {
        const StorageEntry *e = &l.entries[i];
        if (!strcmp(e->name, "node.json") && *prefix)
        {
            /* A directory name is pool content too: one that is not a node
             * name strata accepts never becomes a node (and a path). */
            Error nerr;
            if (node_name_check(prefix, &nerr) != 0)
            {
                log_warn("pool %s: ignoring nodes/%s: %s", p->location, prefix, nerr.msg);
                continue;
            }
            *names = xrealloc(*names, (*count + 1) * sizeof(char *));
            (*names)[(*count)++] = xstrdup(prefix);
        }
        else if (e->is_dir && depth < 4 && strcmp(e->name, "backups") && strcmp(e->name, "wal") &&
                 strcmp(e->name, "wal-index"))
        {
            char *child = *prefix ? xprintf("%s/%s", prefix, e->name) : xstrdup(e->name);
            rc = find_nodes(p, child, depth + 1, names, count, err);
            free(child);
        }
    }
    storage_list_free(&l);
    return rc;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int
pool_list_nodes(Pool *p, char ***names, size_t *count, Error *err)
{
    *names = NULL;
    *count = 0;
    if (find_nodes(p, "", 0, names, count, err) != 0)
    {
        pool_free_names(*names, *count);
        *names = NULL;
        *count = 0;
        return -1;
    }
    if (*count)
        qsort(*names, *count, sizeof(char *), name_cmp);
    return 0;
}

void
pool_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
