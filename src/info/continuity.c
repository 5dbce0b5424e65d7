#include "info/continuity.h"

#include <stdlib.h>
#include <string.h>

#include "archive/wal_continuity.h"

typedef struct Finding
{
    WalIssue issue;
    Buffer backups;          /* ", "-separated ids of the backups it stops */
    size_t nbackups;
} Finding;

typedef struct Findings
{
    Finding *items;
    size_t count;
} Findings;

static void
add_finding(Findings *f, const WalIssue *i, const char *backup)
{
    Finding *hit = NULL;
    for (size_t k = 0; k < f->count && !hit; k++)
        if (wal_issue_equal(&f->items[k].issue, i))
            hit = &f->items[k];
    if (!hit)
    {
        f->items = xrealloc(f->items, (f->count + 1) * sizeof(Finding));
        hit = &f->items[f->count++];
        memset(hit, 0, sizeof(*hit));
        hit->issue = *i;
    }
    if (backup)
    {
        buffer_appendf(&hit->backups, "%s%s", hit->nbackups ? ", " : "", backup);
        hit->nbackups++;
    }
}

size_t
wal_continuity_check(Pool *p, const char *node, uint64_t seg_size, const WalList *wl, const BackupList *bl,
                     const char *only_backup, ProblemFn report, void *ctx)
{
    if (!seg_size)
        return 0;   /* no segment archived with a known size yet: nothing to follow */
    TimelineHistory *hist;
    size_t nhist;
    timeline_histories_load(p, wl, &hist, &nhist);
    WalArchiveView v = {.wl = wl, .seg_size = seg_size, .histories = hist, .nhistories = nhist};
    Findings f = {0};
    WalIssues issues = {0};
    if (!only_backup)
    {
        wal_archive_issues(&v, &issues);
        for (size_t i = 0; i < issues.count; i++)
            add_finding(&f, &issues.items[i], NULL);
        wal_issues_free(&issues);
    }
    for (size_t b = 0; bl && b < bl->count; b++)
    {
        const Manifest *m = &bl->items[b].manifest;
        if (!bl->items[b].complete || (only_backup && strcmp(bl->items[b].id, only_backup) != 0))
            continue;
        wal_path_issues(&v, m->timeline, m->start_lsn, 0, &issues, NULL);
        for (size_t i = 0; i < issues.count; i++)
            add_finding(&f, &issues.items[i], m->id);
        wal_issues_free(&issues);
    }
    for (size_t k = 0; k < f.count; k++)
    {
        char *d = wal_issue_describe(&f.items[k].issue, seg_size);
        if (f.items[k].nbackups)
            report(ctx, "node %s: %s; a restore of backup%s %s to the end of the archive would stop short", node, d,
                   f.items[k].nbackups > 1 ? "s" : "", f.items[k].backups.data);
        else
            report(ctx, "node %s: %s", node, d);
        free(d);
        buffer_free(&f.items[k].backups);
    }
    size_t n = f.count;
    free(f.items);
    timeline_histories_free(hist, nhist);
    return n;
}
