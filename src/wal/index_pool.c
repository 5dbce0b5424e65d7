#include "wal/index_pool.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "pool/keys.h"

char *
wal_index_key(const char *node, uint32_t tli, uint64_t segno, uint64_t seg_size)
{
    char name[WAL_NAME_LEN + 1];
    wal_segment_name(tli, segno, seg_size, name);
    return xprintf("nodes/%s/wal-index/%.16s/%s.idx", node, name, name);
}

int
wal_index_load(Pool *p, const char *node, const WalObject *seg, uint64_t seg_size, WalIndex *ix, bool *found,
               Error *err)
{
    char *key = wal_index_key(node, seg->tli, seg->segno, seg_size);
    Buffer b = {0};
    bool missing;
    *found = false;
    int rc = storage_get(p->storage, key, &b, &missing, err);
    /* A keyed pool's indexes are encrypted and authenticated (pool/keys.h). */
    if (rc == 0 && !missing && p->keyed)
    {
        Buffer plain = {0};
        rc = wal_blob_open(p, node, key, b.data, b.len, &plain, err);
        buffer_free(&b);
        b = plain;
    }
    if (rc == 0 && !missing)
    {
        rc = wal_index_parse((const uint8_t *) b.data, b.len, key, ix, err);
        if (rc == 0 && (ix->tli != seg->tli || ix->segno != seg->segno || strcmp(ix->segment_sha256, seg->sha256)))
        {
            log_warn("WAL index %s describes other content than %s: ignored", key, seg->key);
            wal_index_free(ix);
        }
        else if (rc == 0)
            *found = true;
    }
    buffer_free(&b);
    free(key);
    return rc;
}

int
wal_index_store(Pool *p, const char *node, const WalIndex *ix, Error *err)
{
    char *key = wal_index_key(node, ix->tli, ix->segno, ix->seg_size);
    Buffer b = {0};
    wal_index_serialize(ix, &b);
    int rc = 0;
    if (p->keyed)
    {
        Buffer sealed = {0};
        rc = wal_blob_seal(p, node, key, b.data, b.len, &sealed, err);
        buffer_free(&b);
        b = sealed;
    }
    if (rc == 0)
        rc = storage_put(p->storage, key, b.data, b.len, err);
    buffer_free(&b);
    free(key);
    return rc;
}

void
wal_index_remove(Pool *p, const char *node, const WalObject *seg, uint64_t seg_size)
{
    char *key = wal_index_key(node, seg->tli, seg->segno, seg_size);
    bool exists = false;
    Error err;
    if (storage_exists(p->storage, key, &exists, &err) != 0 || (exists && storage_remove(p->storage, key, &err) != 0))
        log_warn("WAL index %s not removed: %s", key, err.msg);
    free(key);
}

/* ---- a stage collecting bytes in memory ---- */

typedef struct MemStage
{
    Stage base;
    Buffer *out;
    size_t limit;
} MemStage;

static int
mem_write(Stage *s, const uint8_t *data, size_t len, Error *err)
{
    MemStage *m = (MemStage *) s;
    if (m->out->len + len > m->limit)
        return error_set(err, "more than %zu bytes", m->limit);
    buffer_append(m->out, data, len);
    return 0;
}

static int mem_finish(Stage *s, Error *err) { return 0; }
static void mem_destroy(Stage *s) { free(s); }
static const StageOps mem_ops = {"memory", mem_write, mem_finish, mem_destroy};

int
wal_fetch_bytes(Pool *p, const WalObject *o, Buffer *out, Error *err)
{
    MemStage *m = xcalloc(1, sizeof(*m));
    m->base.ops = &mem_ops;
    m->out = out;
    m->limit = (size_t) 1 << 30;   /* the largest WAL segment PostgreSQL allows */
    int rc = archive_fetch(p, o, &m->base, err);
    stage_free(&m->base);
    return rc;
}

/* The previous segment: on the highest timeline <= tli that has it. */
static int
find_previous(Pool *p, const char *node, const WalObject *seg, uint64_t seg_size, WalObject *prev, bool *found,
              Error *err)
{
    *found = false;
    if (seg->segno == 0)
        return 0;
    for (uint32_t t = seg->tli; t >= 1 && !*found; t--)
    {
        char name[WAL_NAME_LEN + 1];
        wal_segment_name(t, seg->segno - 1, seg_size, name);
        if (archive_find(p, node, name, prev, found, err) != 0)
            return -1;
        if (t == 1 || seg->tli - t >= 64)
            break;   /* timelines are few; do not walk thousands of lookups */
    }
    if (*found)
    {
        prev->tli = 0;
        prev->is_segment = wal_parse_segment_name(prev->name, seg_size, &prev->tli, &prev->segno);
    }
    return 0;
}

int
wal_index_build_segment(Pool *p, const char *node, const WalObject *seg, const uint8_t *content,
                        uint64_t seg_size, bool store, WalIndex *ix, Error *err)
{
    Buffer own = {0}, prevb = {0};
    if (!content)
    {
        if (wal_fetch_bytes(p, seg, &own, err) != 0)
            return -1;
        content = (const uint8_t *) own.data;
        if (own.len != seg_size)
        {
            buffer_free(&own);
            return error_set(err, "WAL object %s holds %zu bytes, segments are %llu", seg->key, own.len,
                             (unsigned long long) seg_size);
        }
    }
    WalObject prev;
    bool have_prev;
    WalIndex prev_ix;
    bool have_prev_ix = false;
    int rc = find_previous(p, node, seg, seg_size, &prev, &have_prev, err);
    if (rc == 0 && have_prev)
    {
        /* The previous segment's index usually keeps the record that
         * continues into this one: then its 16 MiB need not be read. */
        Error e;
        if (wal_index_load(p, node, &prev, seg_size, &prev_ix, &have_prev_ix, &e) == 0 && have_prev_ix &&
            !wal_index_continues(&prev_ix))
        {
            wal_index_free(&prev_ix);
            have_prev_ix = false;
        }
        int frc = have_prev_ix ? 0 : wal_fetch_bytes(p, &prev, &prevb, &e);
        if (!have_prev_ix && (frc != 0 || prevb.len != seg_size))
        {
            log_warn("indexing %s: previous segment %s unreadable (%s); the record continuing into it is not indexed",
                     seg->name, prev.key, frc != 0 ? e.msg : "not a whole segment");
            buffer_free(&prevb);
        }
        wal_object_free(&prev);
    }
    NodeInfo ni;
    bool exists = false;
    if (rc == 0)
        rc = node_info_read(p, node, &ni, &exists, err);
    if (rc == 0)
        rc = wal_index_build(seg->tli, seg->segno, seg_size, exists ? ni.system_identifier : 0, content,
                             prevb.data ? (const uint8_t *) prevb.data : NULL, have_prev ? prev.tli : 0,
                             have_prev_ix ? &prev_ix : NULL, seg->sha256, ix, err);
    if (have_prev_ix)
        wal_index_free(&prev_ix);
    if (rc != 0)
        error_prefix(err, "indexing %s: ", seg->key);
    if (rc == 0 && store && (rc = wal_index_store(p, node, ix, err)) != 0)
        wal_index_free(ix);
    buffer_free(&own);
    buffer_free(&prevb);
    return rc;
}

void
wal_index_after_push(Pool *p, const char *node, const char *walname, const uint8_t *content, size_t len,
                     uint64_t seg_size)
{
    WalObject seg;
    bool found;
    Error err;
    if (!wal_is_segment_name(walname) || len != seg_size)
        return;
    if (archive_find(p, node, walname, &seg, &found, &err) != 0)
    {
        log_warn("WAL index of %s not built: %s", walname, err.msg);
        return;
    }
    if (!found)
    {
        log_warn("WAL index of %s not built: the segment is not in the pool", walname);
        return;
    }
    seg.is_segment = wal_parse_segment_name(walname, seg_size, &seg.tli, &seg.segno);
    WalIndex ix;
    bool have;
    if (wal_index_load(p, node, &seg, seg_size, &ix, &have, &err) == 0 && have)
    {
        wal_index_free(&ix);   /* a retried push: already indexed */
        wal_object_free(&seg);
        return;
    }
    if (wal_index_build_segment(p, node, &seg, content, seg_size, true, &ix, &err) != 0)
        log_warn("WAL index of %s not built (strata wal-index rebuilds it): %s", walname, err.msg);
    else
    {
        if (ix.flags & WAL_INDEX_DECODE_ERROR)
            log_warn("WAL segment %s does not decode to its end: %s", walname, ix.error);
        wal_index_free(&ix);
    }
    wal_object_free(&seg);
}
