#include "pool/manifest.h"

#include "common/crashpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/page_checksum.h"
#include "pool/fields.h"
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
    if (m->parent)
        json_object_object_add(o, "parent", jstr(m->parent));
    if (m->incremental_fallback)
        json_object_object_add(o, "incremental_fallback", jstr(m->incremental_fallback));
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
    if (m->cipher != CIPHER_NONE)
        json_object_object_add(o, "cipher", jstr(cipher_name(m->cipher)));
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
        if (f->reference)
        {
            json_object_object_add(fo, "reference", jstr(f->reference));
            json_object *bl = json_object_new_array();
            for (size_t k = 0; k < f->nblock_ranges; k++)
            {
                json_object *pair = json_object_new_array();
                json_object_array_add(pair, json_object_new_int64(f->blocks[k].start));
                json_object_array_add(pair, json_object_new_int64(f->blocks[k].count));
                json_object_array_add(bl, pair);
            }
            json_object_object_add(fo, "blocks", bl);
        }
        if (f->nranges)
            json_object_object_add(fo, "ranges", manifest_ranges_to_json(f));
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
    int rc = pool_sealed_put(p, path, o, err);
    free(path);
    json_object_put(o);
    return rc;
}

/* ---- reading: every field checked, a malformed manifest is an error ----
 *
 * Whoever can write the pool can write a manifest (the seal is a checksum
 * against accidents; authenticity is the HMAC's job): every field is
 * validated here as untrusted input before restore turns names into
 * commands, paths into files and modes into chmod. */

/* Largest sizes and times a real backup can have: a file of 2^50 bytes or
 * a time past the year 9999 is a forgery or corruption. */
#define MANIFEST_SIZE_MAX ((int64_t) 1 << 50)
#define MANIFEST_TIME_MAX INT64_C(253402300799)
#define MANIFEST_WAL_SPAN_MAX (1 << 20)

static void
read_dirs(FieldReader *r, json_object *o, Manifest *m)
{
    json_object *dirs = field_array(r, o, "dirs", FIELD_ARRAY_MAX);
    if (!dirs)
        return;
    m->ndirs = json_object_array_length(dirs);
    m->dirs = xcalloc(m->ndirs, sizeof(ManifestDir));
    for (size_t i = 0; i < m->ndirs && !r->failed; i++)
    {
        json_object *e = json_object_array_get_idx(dirs, i);
        m->dirs[i].path = field_path(r, e, "path", "directory path");
        m->dirs[i].mode = (uint32_t) field_int(r, e, "mode", 0, 07777);
        /* Restore creates the files inside: the owner must be able to. */
        if (!r->failed && (m->dirs[i].mode & 0700) != 0700)
            field_fail(r, "directory %s has mode %04o: its owner could not write into it", m->dirs[i].path,
                       m->dirs[i].mode);
    }
}

/* An incremental entry: its reference must be the manifest's parent, its
 * block ranges sorted, disjoint, non-empty and inside the file's size. */
static void
read_file_blocks(FieldReader *r, json_object *e, const Manifest *m, ManifestFile *f)
{
    f->reference = field_name(r, e, "reference", false);
    if (!r->failed && (!m->parent || strcmp(f->reference, m->parent) != 0))
        field_fail(r, "file %s refers to backup %s, not to the manifest's parent %s", f->path, f->reference,
                   m->parent ? m->parent : "(none)");
    json_object *bl = field_array(r, e, "blocks", FIELD_ARRAY_MAX);
    if (!bl)
        return;
    f->nblock_ranges = json_object_array_length(bl);
    f->blocks = xcalloc(f->nblock_ranges ? f->nblock_ranges : 1, sizeof(ManifestBlockRange));
    uint64_t file_blocks = (f->size + PG_BLCKSZ - 1) / PG_BLCKSZ, next = 0;
    for (size_t k = 0; k < f->nblock_ranges && !r->failed; k++)
    {
        json_object *pair = json_object_array_get_idx(bl, k);
        json_object *a, *b;
        if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2 ||
            !json_object_is_type(a = json_object_array_get_idx(pair, 0), json_type_int) ||
            !json_object_is_type(b = json_object_array_get_idx(pair, 1), json_type_int))
        {
            field_fail(r, "file %s: blocks[%zu] is not a [first, count] pair of integers", f->path, k);
            break;
        }
        int64_t start = json_object_get_int64(a), count = json_object_get_int64(b);
        if (start < (int64_t) next || count < 1 || (uint64_t) start + (uint64_t) count > file_blocks)
        {
            field_fail(r, "file %s: blocks[%zu] [%" PRId64 ", %" PRId64 "] is out of order, empty or past the "
                          "file's %" PRIu64 " blocks", f->path, k, start, count, file_blocks);
            break;
        }
        f->blocks[k] = (ManifestBlockRange){(uint32_t) start, (uint32_t) count};
        next = (uint64_t) start + (uint64_t) count;
    }
}

static void
read_files(FieldReader *r, json_object *o, Manifest *m)
{
    json_object *files = field_array(r, o, "files", FIELD_ARRAY_MAX);
    if (!files)
        return;
    m->nfiles = json_object_array_length(files);
    m->files = xcalloc(m->nfiles, sizeof(ManifestFile));
    for (size_t i = 0; i < m->nfiles && !r->failed; i++)
    {
        json_object *e = json_object_array_get_idx(files, i);
        ManifestFile *f = &m->files[i];
        f->path = field_path(r, e, "path", "file path");
        f->size = (uint64_t) field_int(r, e, "size", 0, MANIFEST_SIZE_MAX);
        /* Permission bits only (the backup records st_mode & 07777);
         * restore applies the rwx bits, never setuid/setgid/sticky. */
        f->mode = (uint32_t) field_int(r, e, "mode", 0, 07777);
        f->mtime = field_int(r, e, "mtime", -MANIFEST_TIME_MAX, MANIFEST_TIME_MAX);
        f->stored_size = (uint64_t) field_int(r, e, "stored_size", 0, MANIFEST_SIZE_MAX);
        field_sha256(r, e, "sha256", f->sha256);
        if (field_present(e, "reference"))
            read_file_blocks(r, e, m, f);
        /* Two kinds of entry, never both (docs/pool-format.md): an
         * incremental's blocks are one object laid over the parent's file;
         * a file stored whole may be split into ranges. */
        if (!r->failed && f->reference && field_present(e, "ranges"))
            field_fail(r, "file %s has both blocks (an incremental entry) and ranges (a file stored whole)", f->path);
        manifest_ranges_read(r, e, f);
    }
}

static void
read_page_errors(FieldReader *r, json_object *o, Manifest *m)
{
    json_object *pe = field_array(r, o, "page_errors", FIELD_ARRAY_MAX);
    if (!pe)
        return;
    m->npage_errors = json_object_array_length(pe);
    m->page_errors = xcalloc(m->npage_errors, sizeof(ManifestPageError));
    for (size_t i = 0; i < m->npage_errors && !r->failed; i++)
    {
        json_object *e = json_object_array_get_idx(pe, i);
        m->page_errors[i].path = field_path(r, e, "path", "page error path");
        m->page_errors[i].block = (uint32_t) field_int(r, e, "block", 0, UINT32_MAX);
    }
}

int
manifest_parse(json_object *o, const char *path, const char *node, const char *id, Manifest *m, Error *err)
{
    memset(m, 0, sizeof(*m));
    FieldReader r;
    field_reader_init(&r, path, err);
    if (field_int(&r, o, "format", 0, INT32_MAX) != MANIFEST_FORMAT && !r.failed)
        field_fail(&r, "unsupported manifest format");
    m->id = field_name(&r, o, "id", false);
    m->node = field_name(&r, o, "node", true);
    /* A manifest copied from elsewhere in the pool describes another backup. */
    if (!r.failed && id && strcmp(m->id, id) != 0)
        field_fail(&r, "the manifest is backup %s's, not %s's", m->id, id);
    if (!r.failed && node && strcmp(m->node, node) != 0)
        field_fail(&r, "the manifest is node %s's, not %s's", m->node, node);
    m->type = field_name(&r, o, "type", false);
    if (!r.failed && strcmp(m->type, "full") != 0 && strcmp(m->type, "incr") != 0 && strcmp(m->type, "diff") != 0)
        field_fail(&r, "backup type '%s' is not one this strata knows (full, incr, diff)", m->type);
    if (field_present(o, "parent"))
        m->parent = field_name(&r, o, "parent", false);
    if (!r.failed && (strcmp(m->type, "full") != 0) != (m->parent != NULL))
        field_fail(&r, "a %s backup %s a parent", m->type, m->parent ? "cannot have" : "must name");
    if (!r.failed && m->parent && strcmp(m->parent, m->id) >= 0)
        field_fail(&r, "parent %s is not older than the backup itself", m->parent);
    if (field_present(o, "incremental_fallback"))
        m->incremental_fallback = field_text(&r, o, "incremental_fallback", FIELD_TEXT_MAX);
    m->label = field_text(&r, o, "label", FIELD_TEXT_MAX);
    if (field_present(o, "cluster_backup"))
        m->cluster_backup = field_name(&r, o, "cluster_backup", false);
    m->pg_version_num = (int) field_int(&r, o, "pg_version_num", 90000, 999999);
    m->system_identifier = field_u64_text(&r, o, "system_identifier");
    m->data_checksums = field_bool(&r, o, "data_checksums");
    m->from_standby = field_bool(&r, o, "from_standby");
    m->timeline = (uint32_t) field_int(&r, o, "timeline", 1, UINT32_MAX);
    m->start_lsn = field_lsn(&r, o, "start_lsn");
    m->stop_lsn = field_lsn(&r, o, "stop_lsn");
    if (!r.failed && m->stop_lsn < m->start_lsn)
        field_fail(&r, "stop_lsn is before start_lsn");
    m->start_time = field_int(&r, o, "start_time", 0, MANIFEST_TIME_MAX);
    m->stop_time = field_int(&r, o, "stop_time", 0, MANIFEST_TIME_MAX);
    m->duration = field_double(&r, o, "duration", 0, 1e9);
    m->wal_segment_size = (uint64_t) field_int(&r, o, "wal_segment_size", 0, INT64_MAX - 1);
    if (!r.failed && !wal_segment_size_valid(m->wal_segment_size))
        field_fail(&r, "wal_segment_size %" PRIu64 " is not a power of two from 1 MB to 1 GB", m->wal_segment_size);
    /* manifest_required_wal lists every segment from start to stop: a
     * forged span of 2^40 segments must not become an allocation. 2^20
     * segments is 16 TB of WAL at the default size, during one backup. */
    if (!r.failed && (m->stop_lsn - m->start_lsn) / m->wal_segment_size > MANIFEST_WAL_SPAN_MAX)
        field_fail(&r, "start_lsn to stop_lsn spans more than %d WAL segments", MANIFEST_WAL_SPAN_MAX);
    char *comp = field_name(&r, o, "compression", false);
    Error cerr;
    if (comp && compression_parse(comp, &m->compression, &cerr) != 0)
        field_fail(&r, "%s", cerr.msg);
    free(comp);
    m->compress_level = (int) field_int(&r, o, "compress_level", -131072, 22);
    if (field_present(o, "cipher"))
    {
        char *ci = field_name(&r, o, "cipher", false);
        if (ci && cipher_parse(ci, &m->cipher, &cerr) != 0)
            field_fail(&r, "%s", cerr.msg);
        free(ci);
    }
    m->size = (uint64_t) field_int(&r, o, "size", 0, MANIFEST_SIZE_MAX);
    m->stored_size = (uint64_t) field_int(&r, o, "stored_size", 0, MANIFEST_SIZE_MAX);
    read_dirs(&r, o, m);
    read_files(&r, o, m);
    read_page_errors(&r, o, m);
    if (r.failed)
    {
        manifest_free(m);
        return -1;
    }
    return 0;
}

int
manifest_load(Pool *p, const char *node, const char *id, Manifest *m, bool *missing, Error *err)
{
    memset(m, 0, sizeof(*m));
    Error nerr;
    if (name_check("node name", node, true, &nerr) != 0 || name_check("backup id", id, false, &nerr) != 0)
    {
        *missing = false;
        return error_set(err, "backup %s of node %s: %s", id, node, nerr.msg);
    }
    char *path = pool_manifest_path(node, id);
    json_object *o;
    int rc = pool_sealed_get(p, path, &o, missing, err);
    if (rc == 0 && !*missing)
    {
        rc = manifest_parse(o, path, node, id, m, err);
        json_object_put(o);
    }
    free(path);
    return rc;
}

void
manifest_free(Manifest *m)
{
    free(m->id);
    free(m->node);
    free(m->type);
    free(m->label);
    free(m->cluster_backup);
    free(m->parent);
    free(m->incremental_fallback);
    for (size_t i = 0; i < m->nfiles; i++)
    {
        free(m->files[i].path);
        free(m->files[i].reference);
        free(m->files[i].blocks);
        free(m->files[i].ranges);
    }
    free(m->files);
    for (size_t i = 0; i < m->ndirs; i++)
        free(m->dirs[i].path);
    free(m->dirs);
    for (size_t i = 0; i < m->npage_errors; i++)
        free(m->page_errors[i].path);
    free(m->page_errors);
    memset(m, 0, sizeof(*m));
}

uint64_t
manifest_file_nblocks(const ManifestFile *f)
{
    uint64_t n = 0;
    for (size_t k = 0; k < f->nblock_ranges; k++)
        n += f->blocks[k].count;
    return n;
}

bool
manifest_is_full(const Manifest *m)
{
    return m->type && strcmp(m->type, "full") == 0;
}

char *
manifest_object_path(const Manifest *m, const ManifestFile *f)
{
    return xprintf("nodes/%s/backups/%s/data/%s.%s%s", m->node, m->id, f->path, compression_ext(m->compression),
                   m->cipher != CIPHER_NONE ? ".enc" : "");
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
    crash_point("backup-remove");
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
