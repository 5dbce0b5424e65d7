#include "archive/archive.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pool/keys.h"

char *
archive_dir_for(const char *node, const char *walname)
{
    if (wal_is_history_name(walname))
        return xprintf("nodes/%s/wal/history", node);
    return xprintf("nodes/%s/wal/%.16s", node, walname);
}

/* "<walname>-<64 lowercase hex>.<zst|lz4|raw>[.enc]" -> parts; false (and
 * *walname NULL) if the name is not exactly that: anything else beside the
 * WAL objects (a stray "X-<sha>.zst.bak", a copy) is not ours to read. */
static bool
parse_object_name(const char *objname, char **walname, char sha[65], Compression *c, bool *encrypted)
{
    *walname = NULL;
    *encrypted = str_ends_with(objname, ".enc");
    size_t len = strlen(objname) - (*encrypted ? 4 : 0);
    const char *dot = memrchr(objname, '.', len);
    char ext[8];
    if (!dot || (size_t) (objname + len - dot - 1) >= sizeof(ext))
        return false;
    memcpy(ext, dot + 1, (size_t) (objname + len - dot - 1));
    ext[objname + len - dot - 1] = '\0';
    if (compression_from_ext(ext, c) != 0)
        return false;
    size_t stem = (size_t) (dot - objname);
    if (stem < 66 || objname[stem - 65] != '-')
        return false;
    for (size_t i = stem - 64; i < stem; i++)
        if (!isxdigit((unsigned char) objname[i]) || isupper((unsigned char) objname[i]))
            return false;
    char *wn = strndup(objname, stem - 65);
    if (!wn)
        abort();
    if (!wal_is_archivable_name(wn))
    {
        free(wn);
        return false;
    }
    memcpy(sha, objname + stem - 64, 64);
    sha[64] = '\0';
    *walname = wn;
    return true;
}

/* The timeline of a name that starts with 8 hex digits (checked by the caller). */
static uint32_t
hex8(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v * 16 + (uint32_t) (isdigit((unsigned char) s[i]) ? s[i] - '0' : toupper((unsigned char) s[i]) - 'A' + 10);
    return v;
}

bool
wal_object_classify(const char *walname, uint64_t seg_size, WalObject *o)
{
    if (!wal_is_archivable_name(walname))
        return false;
    o->tli = 0;
    o->segno = 0;
    o->is_segment = false;
    if (wal_is_history_name(walname))
    {
        o->kind = WAL_HISTORY;
        o->tli = hex8(walname);
        return true;
    }
    o->kind = wal_is_segment_name(walname)         ? WAL_SEGMENT
              : str_ends_with(walname, ".partial") ? WAL_PARTIAL
                                                   : WAL_BACKUP_LABEL;
    bool parsed = seg_size && wal_parse_segment_name(walname, seg_size, &o->tli, &o->segno);
    if (!parsed)
        o->tli = hex8(walname);
    o->is_segment = o->kind == WAL_SEGMENT && parsed;
    return true;
}

static void
fill_object(WalObject *o, const char *dir, const StorageEntry *e, char *walname, const char sha[65], Compression c,
            bool encrypted, uint64_t seg_size)
{
    memset(o, 0, sizeof(*o));
    o->name = walname;
    o->key = xprintf("%s/%s", dir, e->name);
    memcpy(o->sha256, sha, 65);
    o->compression = c;
    o->encrypted = encrypted;
    o->stored_size = e->size;
    wal_object_classify(walname, seg_size, o);
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
        char *wn = NULL, sha[65];
        Compression c;
        bool enc;
        if (!parse_object_name(e, &wn, sha, &c, &enc) || strcmp(wn, walname) != 0)
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
        fill_object(out, dir, &l.entries[i], wn, sha, c, enc, 0);
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

static void
add_foreign(WalList *out, char *key)
{
    out->foreign = xrealloc(out->foreign, (out->nforeign + 1) * sizeof(char *));
    out->foreign[out->nforeign++] = key;
}

/* A log directory's name: 16 uppercase hex digits (timeline, log id), or "history". */
static bool
wal_dir_wanted(const char *name, uint32_t min_tli, bool *valid)
{
    *valid = true;
    if (!strcmp(name, "history"))
        return true;
    bool hex = strlen(name) == 16;
    for (size_t i = 0; hex && i < 16; i++)
        hex = isxdigit((unsigned char) name[i]) && !islower((unsigned char) name[i]);
    *valid = hex;
    return hex && hex8(name) >= min_tli;
}

/* One log directory: its objects into `out`, anything else into out->foreign. */
static int
list_wal_dir(Pool *p, const char *dir, const char *dirname, uint64_t seg_size, uint32_t min_tli, WalList *out,
             size_t *cap, Error *err)
{
    StorageList l;
    if (storage_list(p->storage, dir, &l, err) != 0)
        return -1;
    bool history_dir = !strcmp(dirname, "history");
    for (size_t i = 0; i < l.count; i++)
    {
        char *wn = NULL, sha[65];
        Compression c;
        bool enc;
        /* An object must sit in the directory its name says: history files
         * in history/, segments under their TTTTTTTTLLLLLLLL. */
        if (l.entries[i].is_dir || !parse_object_name(l.entries[i].name, &wn, sha, &c, &enc) ||
            history_dir != wal_is_history_name(wn) || (!history_dir && strncmp(wn, dirname, 16) != 0))
        {
            free(wn);
            add_foreign(out, xprintf("%s/%s", dir, l.entries[i].name));
            continue;
        }
        if (out->count == *cap)
        {
            *cap = *cap ? *cap * 2 : 256;
            out->items = xrealloc(out->items, *cap * sizeof(WalObject));
        }
        WalObject *o = &out->items[out->count++];
        fill_object(o, dir, &l.entries[i], wn, sha, c, enc, seg_size);
        if (o->tli < min_tli)
            wal_object_free(&out->items[--out->count]);
    }
    storage_list_free(&l);
    return 0;
}

int
archive_list_from(Pool *p, const char *node, uint64_t seg_size, uint32_t min_tli, WalList *out, Error *err)
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
        bool valid;
        const char *name = dirs.entries[d].name;
        bool wanted = wal_dir_wanted(name, min_tli, &valid);
        /* keys/: a keyed pool's WAL data keys (pool/keys.h), not WAL */
        if (dirs.entries[d].is_dir && !strcmp(name, "keys"))
            continue;
        if (!dirs.entries[d].is_dir || !valid)
            add_foreign(out, xprintf("%s/%s", root, name));
        else if (wanted)
        {
            char *dir = xprintf("%s/%s", root, name);
            rc = list_wal_dir(p, dir, name, seg_size, min_tli, out, &cap, err);
            free(dir);
        }
    }
    storage_list_free(&dirs);
    free(root);
    if (rc != 0)
    {
        wal_list_free(out);
        return -1;
    }
    wal_list_sort(out);
    return 0;
}

int
archive_list(Pool *p, const char *node, uint64_t seg_size, WalList *out, Error *err)
{
    return archive_list_from(p, node, seg_size, 0, out, err);
}

void
wal_list_sort(WalList *l)
{
    if (l->count)
        qsort(l->items, l->count, sizeof(WalObject), segment_cmp);
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
    for (size_t i = 0; i < l->nforeign; i++)
        free(l->foreign[i]);
    free(l->foreign);
    memset(l, 0, sizeof(*l));
}

void
archive_content_checksum(Pool *p, const char *walname, const void *data, size_t len, char hex[65])
{
    if (p->keys)
    {
        wal_content_mac(p->keys, walname, data, len, hex);
        return;
    }
    unsigned char md[32];
    unsigned int mdlen;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
}

/* nodes/<node>/wal/...: the node a WAL object belongs to. */
static char *
object_node(const char *key)
{
    const char *start = key + strlen("nodes/"), *end = strstr(start, "/wal/");
    return end ? strndup(start, (size_t) (end - start)) : xstrdup(start);
}

int
archive_fetch(Pool *p, const WalObject *o, Stage *sink, Error *err)
{
    if (o->encrypted && !p->keyed)
        return error_set(err, "WAL object %s is encrypted, but pool %s has no keys (%s missing)", o->key, p->location,
                         POOL_KEY_PATH);
    if (p->keyed && !p->keys)
        return error_set(err, "WAL object %s: pool %s is keyed, and its WAL is authenticated (and maybe encrypted) "
                              "with its key: configure it (--key-file FILE or --passphrase-file FILE)",
                         o->key, p->location);
    StorageReader *r;
    bool missing;
    if (storage_open_read(p->storage, o->key, &r, &missing, err) != 0)
        return -1;
    if (missing)
        return error_set(err, "WAL object %s vanished from pool %s", o->key, p->location);
    Stage *check = p->keys ? stage_hmac_new(p->keys->wal_name_key, o->name, strlen(o->name) + 1, sink)
                           : stage_hash_new(sink);
    Stage *head = stage_decompress_new(o->compression, o->key, check);
    char *node = object_node(o->key);
    WalKeyLookup lookup = {.pool = p, .node = node};
    if (o->encrypted)
        head = stage_decrypt_new(wal_key_lookup, &lookup, o->key, o->key, head);
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
        if (p->keys)
            stage_hmac_result(check, hex);
        else
            stage_hash_result(check, hex, NULL);
        if (strcmp(hex, o->sha256) != 0)
            rc = error_set(err,
                           p->keys ? "WAL object %s fails its authentication: its content's HMAC-SHA256 with the pool's "
                                     "key is %s, the name says %s (written without the key, or modified)"
                                   : "WAL object %s is corrupt: its content's SHA-256 is %s, the name says %s",
                           o->key, hex, o->sha256);
    }
    /* The caller owns `sink`: detach it before freeing our stages. */
    check->next = NULL;
    stage_free(head);
    free(buf);
    free(node);
    storage_reader_close(r);
    return rc;
}
