#include "archive/archive.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *
archive_dir_for(const char *node, const char *walname)
{
    if (wal_is_history_name(walname))
        return xprintf("nodes/%s/wal/history", node);
    return xprintf("nodes/%s/wal/%.16s", node, walname);
}

/* "<walname>-<64 hex>.<ext>" -> parts; false if the name is not ours. */
static bool
parse_object_name(const char *objname, char **walname, char sha[65], Compression *c)
{
    const char *dot = strrchr(objname, '.');
    if (!dot || compression_from_ext(dot + 1, c) != 0)
        return false;
    size_t stem = (size_t) (dot - objname);
    if (stem < 66 || objname[stem - 65] != '-')
        return false;
    for (size_t i = stem - 64; i < stem; i++)
        if (!isxdigit((unsigned char) objname[i]))
            return false;
    memcpy(sha, objname + stem - 64, 64);
    sha[64] = '\0';
    *walname = strndup(objname, stem - 65);
    if (!*walname)
        abort();
    return wal_is_archivable_name(*walname);
}

static void
fill_object(WalObject *o, const char *dir, const StorageEntry *e, char *walname, const char sha[65], Compression c,
            uint64_t seg_size)
{
    memset(o, 0, sizeof(*o));
    o->name = walname;
    o->key = xprintf("%s/%s", dir, e->name);
    memcpy(o->sha256, sha, 65);
    o->compression = c;
    o->stored_size = e->size;
    o->is_segment = wal_is_segment_name(walname) && seg_size &&
                    wal_parse_segment_name(walname, seg_size, &o->tli, &o->segno);
}

int
archive_find(Pool *p, const char *node, const char *walname, WalObject *out, bool *found, Error *err)
{
    char *dir = archive_dir_for(node, walname);
    char *prefix = xprintf("%s-", walname);   /* objects are <walname>-<sha256>.<ext> */
    StorageList l;
    *found = false;
    int lrc = storage_list_prefix(p->storage, dir, prefix, &l, err);
    free(prefix);
    if (lrc != 0)
    {
        free(dir);
        return -1;
    }
    size_t n = strlen(walname);
    int rc = 0;
    for (size_t i = 0; i < l.count; i++)
    {
        const char *e = l.entries[i].name;
        if (strncmp(e, walname, n) != 0 || e[n] != '-')
            continue;
        char *wn, sha[65];
        Compression c;
        if (!parse_object_name(e, &wn, sha, &c) || strcmp(wn, walname) != 0)
        {
            free(wn);
            continue;
        }
        if (*found)
        {
            /* Two contents for one name: wal-push never makes this, so the
             * pool was tampered with; refuse to guess. */
            rc = error_set(err, "WAL file %s has two different objects in %s: %s and %s", walname, dir, out->key, e);
            free(wn);
            wal_object_free(out);
            *found = false;
            break;
        }
        fill_object(out, dir, &l.entries[i], wn, sha, c, 0);
        *found = true;
    }
    storage_list_free(&l);
    free(dir);
    return rc;
}

static int
segment_cmp(const void *a, const void *b)
{
    const WalObject *x = a, *y = b;
    if (x->is_segment != y->is_segment)
        return x->is_segment ? -1 : 1;
    if (x->is_segment)
    {
        if (x->tli != y->tli)
            return x->tli < y->tli ? -1 : 1;
        if (x->segno != y->segno)
            return x->segno < y->segno ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

int
archive_list(Pool *p, const char *node, uint64_t seg_size, WalList *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    char *root = pool_wal_dir(node);
    StorageList dirs;
    if (storage_list(p->storage, root, &dirs, err) != 0)
    {
        free(root);
        return -1;
    }
    size_t cap = 0;
    int rc = 0;
    for (size_t d = 0; d < dirs.count && rc == 0; d++)
    {
        if (!dirs.entries[d].is_dir)
            continue;
        char *dir = xprintf("%s/%s", root, dirs.entries[d].name);
        StorageList l;
        rc = storage_list(p->storage, dir, &l, err);
        for (size_t i = 0; rc == 0 && i < l.count; i++)
        {
            char *wn = NULL, sha[65];
            Compression c;
            if (!parse_object_name(l.entries[i].name, &wn, sha, &c))
            {
                free(wn);
                continue;
            }
            if (out->count == cap)
            {
                cap = cap ? cap * 2 : 256;
                out->items = xrealloc(out->items, cap * sizeof(WalObject));
            }
            fill_object(&out->items[out->count++], dir, &l.entries[i], wn, sha, c, seg_size);
        }
        if (rc == 0)
            storage_list_free(&l);
        free(dir);
    }
    storage_list_free(&dirs);
    free(root);
    if (rc != 0)
    {
        wal_list_free(out);
        return -1;
    }
    if (out->count)
        qsort(out->items, out->count, sizeof(WalObject), segment_cmp);
    return 0;
}

void
wal_object_free(WalObject *o)
{
    free(o->name);
    free(o->key);
    o->name = o->key = NULL;
}

void
wal_list_free(WalList *l)
{
    for (size_t i = 0; i < l->count; i++)
        wal_object_free(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

int
archive_fetch(Pool *p, const WalObject *o, Stage *sink, Error *err)
{
    StorageReader *r;
    bool missing;
    if (storage_open_read(p->storage, o->key, &r, &missing, err) != 0)
        return -1;
    if (missing)
        return error_set(err, "WAL object %s vanished from pool %s", o->key, p->location);
    Stage *hash = stage_hash_new(sink);
    Stage *head = stage_decompress_new(o->compression, o->key, hash);
    uint8_t *buf = xmalloc(1 << 20);
    size_t n;
    int rc;
    while ((rc = storage_read(r, buf, 1 << 20, &n, err)) == 0 && n > 0)
        if ((rc = stage_write(head, buf, n, err)) != 0)
            break;
    if (rc == 0)
        rc = stage_finish(head, err);
    if (rc == 0)
    {
        char hex[65];
        stage_hash_result(hash, hex, NULL);
        if (strcmp(hex, o->sha256) != 0)
            rc = error_set(err, "WAL object %s is corrupt: its content's SHA-256 is %s, the name says %s", o->key, hex,
                           o->sha256);
    }
    /* The caller owns `sink`: detach it before freeing our stages. */
    hash->next = NULL;
    stage_free(head);
    free(buf);
    storage_reader_close(r);
    return rc;
}

size_t
archive_gaps(const WalList *l, WalGap **gaps)
{
    size_t n = 0;
    *gaps = NULL;
    for (size_t i = 1; i < l->count; i++)
    {
        const WalObject *a = &l->items[i - 1], *b = &l->items[i];
        if (!a->is_segment || !b->is_segment || a->tli != b->tli)
            continue;
        if (b->segno > a->segno + 1)
        {
            *gaps = xrealloc(*gaps, (n + 1) * sizeof(WalGap));
            (*gaps)[n].tli = a->tli;
            (*gaps)[n].first_missing = a->segno + 1;
            (*gaps)[n].last_missing = b->segno - 1;
            n++;
        }
    }
    return n;
}

bool
archive_has_segment(const WalList *l, uint32_t tli, uint64_t segno)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi)
    {
        size_t mid = (lo + hi) / 2;
        const WalObject *o = &l->items[mid];
        int c;
        if (!o->is_segment)
            c = 1;
        else if (o->tli != tli)
            c = o->tli < tli ? -1 : 1;
        else
            c = o->segno < segno ? -1 : o->segno > segno ? 1 : 0;
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}
