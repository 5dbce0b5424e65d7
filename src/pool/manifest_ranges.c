/* Files split into ranges: a relation segment of 1 GiB as one work item
 * keeps one worker reading, checking and compressing it while the others
 * idle. A file larger than the chunk size is stored as ranges of that
 * size, each its own pool object, so every worker takes some; restore and
 * verify take them the same way. The split, the manifest's "ranges" of a
 * file entry and its checks are here, in one place. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pg/page_checksum.h"
#include "pool/fields.h"
#include "pool/manifest.h"

/* Same bounds as manifest.c's for sizes. */
#define RANGE_SIZE_MAX ((int64_t) 1 << 50)

int
chunk_size_check(uint64_t chunk_size, Error *err)
{
    if (chunk_size < CHUNK_SIZE_MIN || chunk_size > CHUNK_SIZE_MAX)
        return error_set(err, "chunk size %" PRIu64 " is not between %" PRIu64 " (1M) and %" PRIu64 " (1024G) bytes",
                         chunk_size, CHUNK_SIZE_MIN, CHUNK_SIZE_MAX);
    if (chunk_size % PG_BLCKSZ != 0)
        return error_set(err, "chunk size %" PRIu64 " is not a multiple of the %d-byte page", chunk_size, PG_BLCKSZ);
    return 0;
}

size_t
manifest_range_count(uint64_t size, uint64_t chunk_size)
{
    if (chunk_size == 0 || size <= chunk_size)
        return 0;
    return (size_t) ((size + chunk_size - 1) / chunk_size);
}

void
manifest_ranges_plan(ManifestFile *f, uint64_t chunk_size)
{
    free(f->ranges);
    f->ranges = NULL;
    f->nranges = manifest_range_count(f->size, chunk_size);
    if (f->nranges == 0)
        return;
    f->ranges = xcalloc(f->nranges, sizeof(ManifestRange));
    for (size_t i = 0; i < f->nranges; i++)
    {
        f->ranges[i].offset = (uint64_t) i * chunk_size;
        f->ranges[i].size = i + 1 < f->nranges ? chunk_size : f->size - f->ranges[i].offset;
    }
}

void
manifest_ranges_digest(const ManifestFile *f, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        abort();
    for (size_t i = 0; i < f->nranges; i++)
        EVP_DigestUpdate(ctx, f->ranges[i].sha256, 64);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
manifest_ranges_finish(ManifestFile *f)
{
    uint64_t size = 0, stored = 0;
    for (size_t i = 0; i < f->nranges; i++)
    {
        /* Dropped while we read it: WAL replay agrees, as for a whole file. */
        if (f->ranges[i].vanished)
            f->skipped = true;
        size += f->ranges[i].size;
        stored += f->ranges[i].stored_size;
    }
    f->size = size;
    f->stored_size = stored;
    manifest_ranges_digest(f, f->sha256);
}

uint64_t
manifest_ranges_extent(const ManifestFile *f)
{
    for (size_t i = f->nranges; i > 0; i--)
        if (f->ranges[i - 1].size > 0)
            return f->ranges[i - 1].offset + f->ranges[i - 1].size;
    return 0;
}

char *
manifest_range_object_path(const Manifest *m, const ManifestFile *f, const ManifestRange *r)
{
    return xprintf("nodes/%s/backups/%s/data/%s.range-%" PRIu64 ".%s%s", m->node, m->id, f->path, r->offset,
                   compression_ext(m->compression), m->cipher != CIPHER_NONE ? ".enc" : "");
}

ManifestFile
manifest_range_view(const ManifestFile *f, const ManifestRange *r)
{
    ManifestFile v = *f;
    v.size = r->size;
    v.stored_size = r->stored_size;
    memcpy(v.sha256, r->sha256, sizeof(v.sha256));
    v.ranges = NULL;
    v.nranges = 0;
    return v;
}

size_t
manifest_object_count(const Manifest *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        n += m->files[i].nranges ? m->files[i].nranges : 1;
    return n;
}

json_object *
manifest_ranges_to_json(const ManifestFile *f)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < f->nranges; i++)
    {
        const ManifestRange *r = &f->ranges[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "offset", json_object_new_int64((int64_t) r->offset));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) r->size));
        json_object_object_add(o, "stored_size", json_object_new_int64((int64_t) r->stored_size));
        json_object_object_add(o, "sha256", json_object_new_string(r->sha256));
        json_object_array_add(a, o);
    }
    return a;
}

/* The ranges must tile the file as a backup writes them: the first at 0,
 * each after the end of the one before, sums equal to the entry's, and the
 * entry's sha256 the digest of theirs. Restore writes each at its offset:
 * a range past 2^50 or overlapping another is a forgery. */
static void
check_ranges(FieldReader *r, ManifestFile *f)
{
    uint64_t end = 0, size = 0, stored = 0;
    for (size_t i = 0; i < f->nranges && !r->failed; i++)
    {
        const ManifestRange *g = &f->ranges[i];
        if ((i == 0 && g->offset != 0) || g->offset < end)
            field_fail(r, "file %s: range %zu at offset %" PRIu64 " overlaps the range before it or leaves a gap "
                          "at the start", f->path, i, g->offset);
        else if (g->offset + g->size > (uint64_t) RANGE_SIZE_MAX)
            field_fail(r, "file %s: range %zu ends past 2^50 bytes", f->path, i);
        end = g->offset + g->size;
        size += g->size;
        stored += g->stored_size;
    }
    if (r->failed)
        return;
    if (size != f->size || stored != f->stored_size)
        field_fail(r, "file %s: its ranges hold %" PRIu64 " bytes (%" PRIu64 " stored), the entry says %" PRIu64
                      " (%" PRIu64 " stored)", f->path, size, stored, f->size, f->stored_size);
    char digest[65];
    manifest_ranges_digest(f, digest);
    if (!r->failed && strcmp(digest, f->sha256) != 0)
        field_fail(r, "file %s: sha256 %s is not the digest of its ranges' (%s)", f->path, f->sha256, digest);
}

void
manifest_ranges_read(FieldReader *r, json_object *entry, ManifestFile *f)
{
    if (!field_present(entry, "ranges"))
        return;
    json_object *a = field_array(r, entry, "ranges", FIELD_ARRAY_MAX);
    if (!a)
        return;
    size_t n = json_object_array_length(a);
    if (n < 2)
    {
        field_fail(r, "file %s: %zu range(s): a split file has at least 2", f->path, n);
        return;
    }
    f->ranges = xcalloc(n, sizeof(ManifestRange));
    f->nranges = n;
    for (size_t i = 0; i < n && !r->failed; i++)
    {
        json_object *e = json_object_array_get_idx(a, i);
        ManifestRange *g = &f->ranges[i];
        g->offset = (uint64_t) field_int(r, e, "offset", 0, RANGE_SIZE_MAX);
        g->size = (uint64_t) field_int(r, e, "size", 0, RANGE_SIZE_MAX);
        g->stored_size = (uint64_t) field_int(r, e, "stored_size", 0, RANGE_SIZE_MAX);
        field_sha256(r, e, "sha256", g->sha256);
    }
    check_ranges(r, f);
}
