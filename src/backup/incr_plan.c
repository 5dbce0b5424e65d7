#include "backup/incr_plan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pg/page_checksum.h"

#define SPC_DEFAULT 1663   /* DEFAULTTABLESPACE_OID: base/ */
#define SPC_GLOBAL 1664    /* GLOBALTABLESPACE_OID: global/ */

static int
rel_cmp(const WalRelFile *a, const WalRelFile *b)
{
    if (a->spc != b->spc)
        return a->spc < b->spc ? -1 : 1;
    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    if (a->rel != b->rel)
        return a->rel < b->rel ? -1 : 1;
    return 0;
}

static int
rel_qcmp(const void *x, const void *y)
{
    return rel_cmp(x, y);
}

static int
u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;
    return a < b ? -1 : a > b;
}

static int
file_cmp(const void *x, const void *y)
{
    return strcmp((*(const ManifestFile *const *) x)->path, (*(const ManifestFile *const *) y)->path);
}

void
incr_plan_init(IncrPlan *p, const WalIndex *changes, const Manifest *parent)
{
    memset(p, 0, sizeof(*p));
    p->changes = changes;
    p->parent = parent;
    size_t nrel = changes->nrels + changes->ntruncations;
    p->whole = xcalloc(nrel ? nrel : 1, sizeof(WalRelFile));
    /* Created, dropped (then recreated under the same relfilenode) or
     * truncated: blocks past the truncation may come back by extension
     * without a block reference, so the parent's would be stale. */
    for (size_t i = 0; i < changes->nrels; i++)
        p->whole[p->nwhole++] = changes->rels[i].rel;
    for (size_t i = 0; i < changes->ntruncations; i++)
        p->whole[p->nwhole++] = changes->truncations[i].rel;
    if (p->nwhole)
        qsort(p->whole, p->nwhole, sizeof(WalRelFile), rel_qcmp);
    p->whole_db = xcalloc(changes->ndbs ? changes->ndbs : 1, sizeof(uint64_t));
    /* FILE_COPY copies files at a checkpoint with no block references;
     * a dropped then recreated database reuses the OID. */
    for (size_t i = 0; i < changes->ndbs; i++)
        p->whole_db[p->nwhole_db++] = (uint64_t) changes->dbs[i].spc << 32 | changes->dbs[i].db;
    if (p->nwhole_db)
        qsort(p->whole_db, p->nwhole_db, sizeof(uint64_t), u64_cmp);
    p->by_path = xcalloc(parent->nfiles ? parent->nfiles : 1, sizeof(ManifestFile *));
    for (size_t i = 0; i < parent->nfiles; i++)
        if (!parent->files[i].skipped)
            p->by_path[p->nparent++] = &parent->files[i];
    if (p->nparent)
        qsort(p->by_path, p->nparent, sizeof(ManifestFile *), file_cmp);
}

void
incr_plan_free(IncrPlan *p)
{
    free(p->whole);
    free(p->whole_db);
    free(p->by_path);
    memset(p, 0, sizeof(*p));
}

static bool
parse_oid(const char **s, uint32_t *out)
{
    const char *p = *s;
    if (!isdigit((unsigned char) *p) || *p == '0')
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char) *p))
    {
        v = v * 10 + (uint64_t) (*p++ - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t) v;
    *s = p;
    return true;
}

bool
incr_parse_relpath(const char *path, WalRelFile *rel, uint8_t *fork, uint32_t *segno)
{
    const char *p = path;
    *rel = (WalRelFile){0};
    if (str_starts_with(p, "base/"))
    {
        p += 5;
        rel->spc = SPC_DEFAULT;
        if (!parse_oid(&p, &rel->db) || *p++ != '/')
            return false;
    }
    else if (str_starts_with(p, "global/"))
    {
        p += 7;
        rel->spc = SPC_GLOBAL;
    }
    else
        return false;
    if (!parse_oid(&p, &rel->rel))
        return false;
    *fork = WAL_FORK_MAIN;
    if (!strncmp(p, "_fsm", 4))
        *fork = WAL_FORK_FSM, p += 4;
    else if (!strncmp(p, "_vm", 3))
        *fork = WAL_FORK_VM, p += 3;
    else if (!strncmp(p, "_init", 5))
        *fork = WAL_FORK_INIT, p += 5;
    *segno = 0;
    if (*p == '.')
    {
        p++;
        if (!parse_oid(&p, segno))
            return false;
    }
    return *p == '\0';
}

static const ManifestFile *
parent_file(const IncrPlan *p, const char *path)
{
    ManifestFile key = {.path = (char *) path};
    const ManifestFile *kp = &key;
    const ManifestFile **hit = bsearch(&kp, p->by_path, p->nparent, sizeof(ManifestFile *), file_cmp);
    return hit ? *hit : NULL;
}

static const WalForkBlocks *
changed_fork(const WalIndex *ix, const WalRelFile *rel)
{
    size_t lo = 0, hi = ix->nforks;
    while (lo < hi)
    {
        size_t mid = lo + (hi - lo) / 2;
        const WalForkBlocks *f = &ix->forks[mid];
        int c = rel_cmp(&f->rel, rel);
        if (c == 0)
            c = f->fork > WAL_FORK_MAIN;   /* main is fork 0: first of its relation */
        if (c == 0)
            return f;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void
add_range(ManifestBlockRange **out, size_t *n, size_t *cap, uint32_t start, uint32_t count)
{
    if (count == 0)
        return;
    ManifestBlockRange *last = *n ? &(*out)[*n - 1] : NULL;
    if (last && start <= last->start + last->count)
    {
        uint32_t end = start + count;
        if (end > last->start + last->count)
            last->count = end - last->start;
        return;
    }
    if (*n == *cap)
    {
        *cap = *cap ? *cap * 2 : 8;
        *out = xrealloc(*out, *cap * sizeof(ManifestBlockRange));
    }
    (*out)[(*n)++] = (ManifestBlockRange){start, count};
}

bool
incr_plan_file(const IncrPlan *p, const char *path, uint64_t size, ManifestBlockRange **ranges, size_t *n,
               const char **why)
{
    *ranges = NULL;
    *n = 0;
    WalRelFile rel;
    uint8_t fork;
    uint32_t segno;
    if (!incr_parse_relpath(path, &rel, &fork, &segno))
        return *why = "not a relation file", false;
    if (fork != WAL_FORK_MAIN)
        return *why = "not a main fork (the WAL does not track every change to FSM, VM and init forks)", false;
    const ManifestFile *pf = parent_file(p, path);
    if (!pf)
        return *why = "not in the parent backup", false;
    if (pf->size % PG_BLCKSZ || size % PG_BLCKSZ)
        return *why = "not a whole number of blocks", false;
    if (bsearch(&rel, p->whole, p->nwhole, sizeof(WalRelFile), rel_qcmp))
        return *why = "relation created, dropped or truncated since the parent", false;
    uint64_t dbkey = (uint64_t) rel.spc << 32 | rel.db;
    if (bsearch(&dbkey, p->whole_db, p->nwhole_db, sizeof(uint64_t), u64_cmp))
        return *why = "database created or dropped since the parent", false;

    uint64_t first = (uint64_t) segno * PG_RELSEG_BLOCKS, last = first + PG_RELSEG_BLOCKS;
    uint32_t now_blocks = (uint32_t) (size / PG_BLCKSZ), parent_blocks = (uint32_t) (pf->size / PG_BLCKSZ);
    size_t cap = 0;
    const WalForkBlocks *f = changed_fork(p->changes, &rel);
    for (size_t i = 0; f && i < f->nranges; i++)
    {
        uint64_t s = f->ranges[i].start, e = s + f->ranges[i].count;
        if (e <= first || s >= last)
            continue;
        s = s < first ? 0 : s - first;
        e = (e > last ? last : e) - first;
        if (s >= now_blocks)
            continue;
        if (e > now_blocks)
            e = now_blocks;
        add_range(ranges, n, &cap, (uint32_t) s, (uint32_t) (e - s));
    }
    /* Blocks past the parent's size: extension writes pages without a
     * block reference (zeroed pages, bulk extension). */
    if (now_blocks > parent_blocks)
    {
        /* The WAL ranges end at or below now_blocks: merge the tail in order. */
        ManifestBlockRange *tmp = *ranges;
        size_t tn = *n;
        *ranges = NULL, *n = 0, cap = 0;
        for (size_t i = 0; i < tn; i++)
        {
            if (tmp[i].start >= parent_blocks)
                break;
            uint32_t e = tmp[i].start + tmp[i].count;
            add_range(ranges, n, &cap, tmp[i].start, (e > parent_blocks ? parent_blocks : e) - tmp[i].start);
        }
        add_range(ranges, n, &cap, parent_blocks, now_blocks - parent_blocks);
        free(tmp);
    }
    return true;
}

const char *
incr_plan_refusal(const WalIndex *changes)
{
    for (size_t i = 0; i < changes->nservers; i++)
        if (changes->servers[i].kind == WAL_SRV_PARAMETER_CHANGE && changes->servers[i].wal_level == 0)
            return "wal_level was set to minimal in the WAL range: relations written without WAL are not in it";
    return NULL;
}
