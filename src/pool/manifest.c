#include "pool/manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool/lease.h"
#include "pool/sealed.h"

static json_object *
jstr(const char *s)
{
    return json_object_new_string(s ? s : "");
}

static json_object *
jlsn(Lsn l)
{
    char buf[32];
    lsn_format(l, buf);
    return json_object_new_string(buf);
}

static json_object *
ju64(uint64_t v)
{
    /* Large 64-bit values as strings: JSON readers lose precision past 2^53. */
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_object_new_string(buf);
}

int
manifest_save(Pool *p, const Manifest *m, Error *err)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "format", json_object_new_int(MANIFEST_FORMAT));
    json_object_object_add(o, "id", jstr(m->id));
    json_object_object_add(o, "node", jstr(m->node));
    json_object_object_add(o, "type", jstr(m->type));
    json_object_object_add(o, "label", jstr(m->label));
    if (m->cluster_backup)
        json_object_object_add(o, "cluster_backup", jstr(m->cluster_backup));
    json_object_object_add(o, "pg_version_num", json_object_new_int(m->pg_version_num));
    json_object_object_add(o, "system_identifier", ju64(m->system_identifier));
    json_object_object_add(o, "data_checksums", json_object_new_boolean(m->data_checksums));
    json_object_object_add(o, "from_standby", json_object_new_boolean(m->from_standby));
    json_object_object_add(o, "timeline", json_object_new_int64(m->timeline));
    json_object_object_add(o, "start_lsn", jlsn(m->start_lsn));
    json_object_object_add(o, "stop_lsn", jlsn(m->stop_lsn));
    json_object_object_add(o, "start_time", json_object_new_int64(m->start_time));
    json_object_object_add(o, "stop_time", json_object_new_int64(m->stop_time));
    json_object_object_add(o, "duration", json_object_new_double(m->duration));
    json_object_object_add(o, "wal_segment_size", json_object_new_int64((int64_t) m->wal_segment_size));
    json_object_object_add(o, "compression", jstr(compression_name(m->compression)));
    json_object_object_add(o, "compress_level", json_object_new_int(m->compress_level));
    json_object_object_add(o, "size", json_object_new_int64((int64_t) m->size));
    json_object_object_add(o, "stored_size", json_object_new_int64((int64_t) m->stored_size));
    json_object *dirs = json_object_new_array();
    for (size_t i = 0; i < m->ndirs; i++)
    {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "path", jstr(m->dirs[i].path));
        json_object_object_add(d, "mode", json_object_new_int((int) m->dirs[i].mode));
        json_object_array_add(dirs, d);
    }
    json_object_object_add(o, "dirs", dirs);
    json_object *files = json_object_new_array();
    for (size_t i = 0; i < m->nfiles; i++)
    {
        const ManifestFile *f = &m->files[i];
        if (f->skipped)
            continue;
        json_object *fo = json_object_new_object();
        json_object_object_add(fo, "path", jstr(f->path));
        json_object_object_add(fo, "size", json_object_new_int64((int64_t) f->size));
        json_object_object_add(fo, "mode", json_object_new_int((int) f->mode));
        json_object_object_add(fo, "mtime", json_object_new_int64(f->mtime));
        json_object_object_add(fo, "stored_size", json_object_new_int64((int64_t) f->stored_size));
        json_object_object_add(fo, "sha256", jstr(f->sha256));
        json_object_array_add(files, fo);
    }
    json_object_object_add(o, "files", files);
    json_object *pe = json_object_new_array();
    for (size_t i = 0; i < m->npage_errors; i++)
    {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "path", jstr(m->page_errors[i].path));
        json_object_object_add(e, "block", json_object_new_int64(m->page_errors[i].block));
        json_object_array_add(pe, e);
    }
    json_object_object_add(o, "page_errors", pe);
    char *path = pool_manifest_path(m->node, m->id);
    int rc = sealed_put(p->storage, path, o, err);
    free(path);
    json_object_put(o);
    return rc;
}

/* ---- reading: every field checked, a malformed manifest is an error ---- */

typedef struct Reader
{
    const char *what;
    Error *err;
    int failed;
} Reader;

static json_object *
get(Reader *r, json_object *o, const char *key, json_type type)
{
    json_object *v;
    if (r->failed)
        return NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
    {
        r->failed = error_set(r->err, "%s: field '%s' is missing or of the wrong type", r->what, key);
        return NULL;
    }
    return v;
}

static char *
get_str(Reader *r, json_object *o, const char *key)
{
    json_object *v = get(r, o, key, json_type_string);
    return v ? xstrdup(json_object_get_string(v)) : NULL;
}

static int64_t
get_int(Reader *r, json_object *o, const char *key)
{
    json_object *v = get(r, o, key, json_type_int);
    return v ? json_object_get_int64(v) : 0;
}

static Lsn
get_lsn(Reader *r, json_object *o, const char *key)
{
    json_object *v = get(r, o, key, json_type_string);
    Lsn l = 0;
    if (v && lsn_parse(json_object_get_string(v), &l, r->err) != 0)
        r->failed = error_prefix(r->err, "%s: field '%s': ", r->what, key);
    return l;
}

int
manifest_load(Pool *p, const char *node, const char *id, Manifest *m, bool *missing, Error *err)
{
    memset(m, 0, sizeof(*m));
    char *path = pool_manifest_path(node, id);
    json_object *o;
    int rc = sealed_get(p->storage, path, &o, missing, err);
    if (rc != 0 || *missing)
    {
        free(path);
        return rc;
    }
    Reader r = {path, err, 0};
    if (get_int(&r, o, "format") != MANIFEST_FORMAT && !r.failed)
        r.failed = error_set(err, "%s: unsupported manifest format", path);
    m->id = get_str(&r, o, "id");
    m->node = get_str(&r, o, "node");
    m->type = get_str(&r, o, "type");
    m->label = get_str(&r, o, "label");
    json_object *cb;
    if (json_object_object_get_ex(o, "cluster_backup", &cb) && json_object_is_type(cb, json_type_string))
        m->cluster_backup = xstrdup(json_object_get_string(cb));
    m->pg_version_num = (int) get_int(&r, o, "pg_version_num");
    char *sysid = get_str(&r, o, "system_identifier");
    m->system_identifier = sysid ? strtoull(sysid, NULL, 10) : 0;
    free(sysid);
    json_object *b = get(&r, o, "data_checksums", json_type_boolean);
    m->data_checksums = b && json_object_get_boolean(b);
    b = get(&r, o, "from_standby", json_type_boolean);
    m->from_standby = b && json_object_get_boolean(b);
    m->timeline = (uint32_t) get_int(&r, o, "timeline");
    m->start_lsn = get_lsn(&r, o, "start_lsn");
    m->stop_lsn = get_lsn(&r, o, "stop_lsn");
    m->start_time = get_int(&r, o, "start_time");
    m->stop_time = get_int(&r, o, "stop_time");
    json_object *d = get(&r, o, "duration", json_type_double);
    m->duration = d ? json_object_get_double(d) : 0;
    m->wal_segment_size = (uint64_t) get_int(&r, o, "wal_segment_size");
    char *comp = get_str(&r, o, "compression");
    if (comp && compression_parse(comp, &m->compression, err) != 0)
        r.failed = error_prefix(err, "%s: ", path);
    free(comp);
    m->compress_level = (int) get_int(&r, o, "compress_level");
    m->size = (uint64_t) get_int(&r, o, "size");
    m->stored_size = (uint64_t) get_int(&r, o, "stored_size");
    if (!r.failed && (m->wal_segment_size == 0 || (m->wal_segment_size & (m->wal_segment_size - 1)) != 0))
        r.failed = error_set(err, "%s: wal_segment_size %" PRIu64 " is not a power of two", path,
                             m->wal_segment_size);

    json_object *dirs = get(&r, o, "dirs", json_type_array);
    if (dirs)
    {
        m->ndirs = json_object_array_length(dirs);
        m->dirs = xcalloc(m->ndirs, sizeof(ManifestDir));
        for (size_t i = 0; i < m->ndirs && !r.failed; i++)
        {
            json_object *e = json_object_array_get_idx(dirs, i);
            m->dirs[i].path = get_str(&r, e, "path");
            m->dirs[i].mode = (uint32_t) get_int(&r, e, "mode");
        }
    }
    json_object *files = get(&r, o, "files", json_type_array);
    if (files)
    {
        m->nfiles = json_object_array_length(files);
        m->files = xcalloc(m->nfiles, sizeof(ManifestFile));
        for (size_t i = 0; i < m->nfiles && !r.failed; i++)
        {
            json_object *e = json_object_array_get_idx(files, i);
            ManifestFile *f = &m->files[i];
            f->path = get_str(&r, e, "path");
            f->size = (uint64_t) get_int(&r, e, "size");
            f->mode = (uint32_t) get_int(&r, e, "mode");
            f->mtime = get_int(&r, e, "mtime");
            f->stored_size = (uint64_t) get_int(&r, e, "stored_size");
            char *sha = get_str(&r, e, "sha256");
            if (sha && strlen(sha) == 64)
                memcpy(f->sha256, sha, 65);
            else if (!r.failed)
                r.failed = error_set(err, "%s: file %s has a malformed sha256", path, f->path ? f->path : "?");
            free(sha);
            /* A path that climbs out of the data directory would let a
             * tampered manifest write anywhere. */
            if (f->path && !r.failed &&
                (f->path[0] == '/' || !strcmp(f->path, "..") || str_starts_with(f->path, "../") ||
                 strstr(f->path, "/../") || str_ends_with(f->path, "/..")))
                r.failed = error_set(err, "%s: file path %s leaves the data directory", path, f->path);
        }
    }
    json_object *pe = get(&r, o, "page_errors", json_type_array);
    if (pe)
    {
        m->npage_errors = json_object_array_length(pe);
        m->page_errors = xcalloc(m->npage_errors, sizeof(ManifestPageError));
        for (size_t i = 0; i < m->npage_errors && !r.failed; i++)
        {
            json_object *e = json_object_array_get_idx(pe, i);
            m->page_errors[i].path = get_str(&r, e, "path");
            m->page_errors[i].block = (uint32_t) get_int(&r, e, "block");
        }
    }
    json_object_put(o);
    free(path);
    if (r.failed)
    {
        manifest_free(m);
        return -1;
    }
    return 0;
}

void
manifest_free(Manifest *m)
{
    free(m->id);
    free(m->node);
    free(m->type);
    free(m->label);
    free(m->cluster_backup);
    for (size_t i = 0; i < m->nfiles; i++)
        free(m->files[i].path);
    free(m->files);
    for (size_t i = 0; i < m->ndirs; i++)
        free(m->dirs[i].path);
    free(m->dirs);
    for (size_t i = 0; i < m->npage_errors; i++)
        free(m->page_errors[i].path);
    free(m->page_errors);
    memset(m, 0, sizeof(*m));
}

char *
manifest_object_path(const Manifest *m, const ManifestFile *f)
{
    return xprintf("nodes/%s/backups/%s/data/%s.%s", m->node, m->id, f->path, compression_ext(m->compression));
}

size_t
manifest_required_wal(const Manifest *m, char (**names)[WAL_NAME_LEN + 1])
{
    uint64_t first = wal_segno(m->start_lsn, m->wal_segment_size);
    uint64_t last = wal_segno(m->stop_lsn > 0 ? m->stop_lsn - 1 : 0, m->wal_segment_size);
    if (last < first)
        last = first;
    size_t n = (size_t) (last - first + 1);
    *names = xcalloc(n, sizeof(**names));
    for (size_t i = 0; i < n; i++)
        wal_segment_name(m->timeline, first + i, m->wal_segment_size, (*names)[i]);
    return n;
}

int
backup_list_load(Pool *p, const char *node, BackupList *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    char *dir = pool_backups_dir(node);
    StorageList l;
    int rc = storage_list(p->storage, dir, &l, err);
    free(dir);
    if (rc != 0)
        return -1;
    out->items = xcalloc(l.count ? l.count : 1, sizeof(BackupEntry));
    for (size_t i = 0; i < l.count; i++)
    {
        if (!l.entries[i].is_dir)
            continue;
        BackupEntry *b = &out->items[out->count++];
        b->id = xstrdup(l.entries[i].name);
        bool missing;
        Error merr;
        if (manifest_load(p, node, b->id, &b->manifest, &missing, &merr) != 0)
            b->problem = xstrdup(merr.msg);
        else if (missing)
        {
            b->no_manifest = true;
            /* The lease tells a running backup from an interrupted one. */
            char *bdir = pool_backup_dir(node, b->id);
            char state[ERROR_MSG_MAX + 32];
            lease_state(p->storage, bdir, (int64_t) time(NULL), LEASE_INTERRUPTED_AFTER, state, sizeof(state));
            b->problem = xprintf("no manifest: %s", state);
            free(bdir);
        }
        else
            b->complete = true;
    }
    storage_list_free(&l);
    return 0;
}

int
backup_remove(Pool *p, const char *node, const char *id, Error *err)
{
    char *manifest = pool_manifest_path(node, id);
    int rc = storage_remove(p->storage, manifest, err);
    free(manifest);
    if (rc == 0)
    {
        char *dir = pool_backup_dir(node, id);
        rc = storage_remove_tree(p->storage, dir, err);
        free(dir);
    }
    if (rc != 0)
        return error_prefix(err, "removing backup %s of node %s: ", id, node);
    return 0;
}

void
backup_list_free(BackupList *l)
{
    for (size_t i = 0; i < l->count; i++)
    {
        free(l->items[i].id);
        free(l->items[i].problem);
        if (l->items[i].complete)
            manifest_free(&l->items[i].manifest);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}
