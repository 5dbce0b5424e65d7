#include "restore/chain.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static int
file_cmp(const void *x, const void *y)
{
    return strcmp((*(const ManifestFile *const *) x)->path, (*(const ManifestFile *const *) y)->path);
}

static void
index_files(ChainMember *cm)
{
    cm->by_path = xcalloc(cm->m->nfiles ? cm->m->nfiles : 1, sizeof(ManifestFile *));
    for (size_t i = 0; i < cm->m->nfiles; i++)
        if (!cm->m->files[i].skipped)
            cm->by_path[cm->nfiles++] = &cm->m->files[i];
    if (cm->nfiles)
        qsort(cm->by_path, cm->nfiles, sizeof(ManifestFile *), file_cmp);
}

/* An ancestor must be the same database's, older, and begin before. */
static int
check_parent(const Manifest *child, const Manifest *parent, Error *err)
{
    if (parent->system_identifier != child->system_identifier || parent->wal_segment_size != child->wal_segment_size)
        return error_set(err, "backup %s of node %s: its parent %s is of another database system (system identifier "
                              "or WAL segment size differ)", child->id, child->node, parent->id);
    if (parent->start_lsn >= child->start_lsn)
        return error_set(err, "backup %s of node %s: its parent %s does not start before it", child->id, child->node,
                         parent->id);
    return 0;
}

int
backup_chain_load(Pool *p, const Manifest *tip, bool load_keys, BackupChain *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    Manifest *anc = NULL;   /* ancestors, newest first */
    size_t n = 0;
    int rc = 0;
    while (rc == 0 && (n ? anc[n - 1].parent : tip->parent))
    {
        /* anc moves as it grows: the child is found again by index. */
        const Manifest *child = n ? &anc[n - 1] : tip;
        char *parent_id = xstrdup(child->parent);
        Manifest loaded;
        bool missing;
        if (manifest_load(p, tip->node, parent_id, &loaded, &missing, err) != 0)
        {
            rc = error_prefix(err, "backup %s of node %s builds on backup %s, which cannot be read: ", tip->id,
                              tip->node, parent_id);
            free(parent_id);
            break;
        }
        if (missing)
        {
            rc = error_set(err, "backup %s of node %s builds on backup %s, which is missing or incomplete in pool %s: "
                                "the chain cannot be restored", tip->id, tip->node, parent_id, p->location);
            free(parent_id);
            break;
        }
        free(parent_id);
        rc = check_parent(child, &loaded, err);
        anc = xrealloc(anc, (n + 1) * sizeof(Manifest));
        anc[n++] = loaded;
    }
    out->count = n + 1;
    out->members = xcalloc(out->count, sizeof(ChainMember));
    for (size_t i = 0; i < n; i++)
    {
        out->members[n - 1 - i].owned = anc[i];
        out->members[n - 1 - i].m = &out->members[n - 1 - i].owned;
    }
    free(anc);
    out->members[n].m = tip;
    for (size_t i = 0; i < out->count; i++)
        index_files(&out->members[i]);
    for (size_t i = 0; rc == 0 && load_keys && i < out->count; i++)
        if (out->members[i].m->cipher != CIPHER_NONE)
            rc = backup_key_load(p, tip->node, out->members[i].m->id, &out->members[i].key, err);
    if (rc != 0)
        backup_chain_free(out);
    return rc;
}

void
backup_chain_free(BackupChain *c)
{
    for (size_t i = 0; i < c->count; i++)
    {
        ChainMember *cm = &c->members[i];
        if (cm->m == &cm->owned)
            manifest_free(&cm->owned);
        free(cm->by_path);
        memset(&cm->key, 0, sizeof(cm->key));
    }
    free(c->members);
    memset(c, 0, sizeof(*c));
}

const ManifestFile *
backup_chain_file(const BackupChain *c, size_t i, const char *path)
{
    const ChainMember *cm = &c->members[i];
    ManifestFile key = {.path = (char *) path};
    const ManifestFile *kp = &key;
    const ManifestFile **hit = bsearch(&kp, cm->by_path, cm->nfiles, sizeof(ManifestFile *), file_cmp);
    return hit ? *hit : NULL;
}

int
backup_chain_base(const BackupChain *c, const ManifestFile *f, size_t *base, Error *err)
{
    size_t i = c->count - 1;
    const ManifestFile *e = f;
    while (e->reference)
    {
        if (i == 0)
            return error_set(err, "file %s of backup %s refers past the chain's full backup", f->path,
                             c->members[c->count - 1].m->id);
        const char *by = c->members[i].m->id;
        e = backup_chain_file(c, --i, f->path);
        if (!e)
            return error_set(err, "file %s of backup %s needs its blocks from backup %s, which has no such file",
                             f->path, by, c->members[i].m->id);
    }
    *base = i;
    return 0;
}
