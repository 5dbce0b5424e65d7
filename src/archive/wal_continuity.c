#include "archive/wal_continuity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEG_END UINT64_MAX   /* a step that runs to the end of the archive */

static void
add_issue(WalIssues *out, WalIssue i)
{
    for (size_t k = 0; k < out->count; k++)
        if (wal_issue_equal(&out->items[k], &i))
            return;
    out->items = xrealloc(out->items, (out->count + 1) * sizeof(WalIssue));
    out->items[out->count++] = i;
}

static const TimelineHistory *
find_history(const WalArchiveView *v, uint32_t tli)
{
    for (size_t i = 0; i < v->nhistories; i++)
        if (v->histories[i].tli == tli)
            return &v->histories[i];
    return NULL;
}

static uint32_t
newest_tli(const WalArchiveView *v, uint32_t floor)
{
    uint32_t t = floor;
    for (size_t i = 0; i < v->wl->count; i++)
        if (v->wl->items[i].tli > t)
            t = v->wl->items[i].tli;
    return t;
}

/* Index of the first full segment of tli with segno >= from (count if none). */
static size_t
lower_bound(const WalList *wl, uint32_t tli, uint64_t from)
{
    size_t lo = 0, hi = wl->count;
    while (lo < hi)
    {
        size_t mid = (lo + hi) / 2;
        const WalObject *o = &wl->items[mid];
        bool before = o->is_segment && (o->tli < tli || (o->tli == tli && o->segno < from));
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reports the missing runs of tli's full segments within [first, last];
 * last == SEG_END: up to tli's last segment; `trailing`: the run after the
 * last present one (up to `last`) too. Returns the last present
 * segment in range (*found false if none). O(segments), whatever the range. */
static uint64_t
missing_runs(const WalArchiveView *v, uint32_t tli, uint64_t first, uint64_t last, bool trailing, WalIssues *out,
             bool *found)
{
    const WalList *wl = v->wl;
    *found = false;
    uint64_t expect = first, top = 0;
    for (size_t i = lower_bound(wl, tli, first); i < wl->count; i++)
    {
        const WalObject *o = &wl->items[i];
        if (!o->is_segment || o->tli != tli || (last != SEG_END && o->segno > last))
            break;
        if (o->segno > expect)
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_SEGMENTS_MISSING, .tli = tli, .first = expect,
                                      .last = o->segno - 1});
        expect = o->segno + 1;
        top = o->segno;
        *found = true;
    }
    if (trailing && last != SEG_END && expect <= last)
        add_issue(out, (WalIssue){.kind = WAL_ISSUE_SEGMENTS_MISSING, .tli = tli, .first = expect, .last = last});
    return top;
}

/* The .partial of tli with the highest segment number, if any. */
static bool
last_partial(const WalList *wl, uint32_t tli, uint64_t *segno)
{
    bool any = false;
    for (size_t i = 0; i < wl->count; i++)
    {
        const WalObject *o = &wl->items[i];
        if (o->kind == WAL_PARTIAL && o->tli == tli && o->segno && (!any || o->segno > *segno))
        {
            *segno = o->segno;
            any = true;
        }
    }
    return any;
}

static bool
partial_at(const WalList *wl, uint32_t tli, uint64_t segno)
{
    for (size_t i = 0; i < wl->count; i++)
        if (wl->items[i].kind == WAL_PARTIAL && wl->items[i].tli == tli && wl->items[i].segno == segno)
            return true;
    return false;
}

static bool
later_timeline_listed(const WalList *wl, uint32_t tli)
{
    for (size_t i = 0; i < wl->count; i++)
        if (wl->items[i].tli > tli)
            return true;
    return false;
}

/* The histories of timelines [from, to] that recovery probes one by one:
 * missing runs and unreadable ones become issues. Returns the highest
 * timeline t such that every history of [from, t] is usable (from - 1 if
 * the first is not). Histories are listed in timeline order. */
static uint32_t
probe_histories(const WalArchiveView *v, uint32_t from, uint32_t to, WalIssues *out)
{
    uint64_t expect = from, reach = (uint64_t) from - 1;
    bool broken = false;
    for (size_t i = 0; i < v->wl->count && expect <= to; i++)
    {
        const WalObject *o = &v->wl->items[i];
        if (o->kind != WAL_HISTORY || o->tli < expect || o->tli > to)
            continue;
        if (o->tli > expect)
        {
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_HISTORY_MISSING, .tli = (uint32_t) expect,
                                      .other_tli = o->tli - 1});
            broken = true;
        }
        const TimelineHistory *h = find_history(v, o->tli);
        if (!h || h->problem)
        {
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_HISTORY_BAD, .tli = o->tli,
                                      .detail = h ? h->problem : "not loaded"});
            broken = true;
        }
        if (!broken)
            reach = o->tli;
        expect = (uint64_t) o->tli + 1;
    }
    if (expect <= to)
        add_issue(out, (WalIssue){.kind = WAL_ISSUE_HISTORY_MISSING, .tli = (uint32_t) expect, .other_tli = to});
    return (uint32_t) reach;
}

void
wal_archive_issues(const WalArchiveView *v, WalIssues *out)
{
    const WalList *wl = v->wl;
    uint32_t lowest = 0, newest = newest_tli(v, 0);
    for (size_t i = 0; i < wl->count; i++)
    {
        const WalObject *o = &wl->items[i];
        if (o->kind != WAL_HISTORY && o->tli && (!lowest || o->tli < lowest))
            lowest = o->tli;
        /* Gaps inside a timeline: between consecutive full segments (a
         * .partial right after the first one fills its place: the old
         * primary of a split brain may have archived on). */
        if (o->is_segment && i + 1 < wl->count && wl->items[i + 1].is_segment && wl->items[i + 1].tli == o->tli &&
            wl->items[i + 1].segno > o->segno + 1)
        {
            uint64_t first = o->segno + 1 + partial_at(wl, o->tli, o->segno + 1);
            if (first < wl->items[i + 1].segno)
                add_issue(out, (WalIssue){.kind = WAL_ISSUE_SEGMENTS_MISSING, .tli = o->tli, .first = first,
                                          .last = wl->items[i + 1].segno - 1});
        }
        if (o->kind != WAL_PARTIAL || !o->segno)
            continue;
        /* ... between the last full segment before a .partial and it ... */
        size_t k = lower_bound(wl, o->tli, o->segno);
        if (k > 0 && wl->items[k - 1].is_segment && wl->items[k - 1].tli == o->tli &&
            wl->items[k - 1].segno + 1 < o->segno)
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_SEGMENTS_MISSING, .tli = o->tli,
                                      .first = wl->items[k - 1].segno + 1, .last = o->segno - 1});
        /* ... and a timeline that switched away to nothing archived. */
        bool after = k < wl->count && wl->items[k].is_segment && wl->items[k].tli == o->tli;
        if (!after && !later_timeline_listed(wl, o->tli))
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_PARTIAL_END, .tli = o->tli, .first = o->segno});
    }
    /* Recovery from the oldest timeline archived probes every later one's
     * history; the oldest needs its own too unless it is timeline 1. */
    uint32_t from = lowest ? lowest : newest;
    if (from < 2)
        from = 2;
    if (newest >= from)
        probe_histories(v, from, newest, out);
}

typedef struct PathStep
{
    uint32_t tli;
    uint64_t first, last;          /* segments read from this timeline; last SEG_END: to the end */
} PathStep;

/* The timelines recovery walks from (tli, start) to `target`, from
 * target's history; false (issue added) if target does not descend from
 * tli at start. */
static bool
build_path(const WalArchiveView *v, uint32_t tli, Lsn start, uint32_t target, PathStep **steps, size_t *nsteps,
           WalIssues *out)
{
    uint64_t first = wal_segno(start, v->seg_size);
    *steps = xcalloc(1, sizeof(PathStep));
    *nsteps = 0;
    if (target != tli)
    {
        const TimelineHistory *h = find_history(v, target);
        size_t j = 0;
        while (j < h->count && h->items[j].tli != tli)
            j++;
        if (j == h->count || h->items[j].end < start)
        {
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_NOT_DESCENDANT, .tli = target, .other_tli = tli,
                                      .lsn = j < h->count ? h->items[j].end : 0, .lsn2 = start});
            return false;
        }
        *steps = xrealloc(*steps, (h->count - j + 1) * sizeof(PathStep));
        for (; j < h->count; j++)
        {
            /* A timeline is read up to the segment before its switch
             * point's (that one comes from the next timeline); empty
             * (first > last) when it switched in the segment it began in. */
            uint64_t end_seg = wal_segno(h->items[j].end, v->seg_size);
            PathStep st = {.tli = h->items[j].tli, .first = first, .last = end_seg ? end_seg - 1 : 0};
            if (end_seg == 0 || end_seg <= first)
                st.first = st.last + 1;
            (*steps)[(*nsteps)++] = st;
            if (end_seg > first)
                first = end_seg;
        }
    }
    (*steps)[(*nsteps)++] = (PathStep){.tli = target, .first = first, .last = SEG_END};
    return true;
}

void
wal_path_issues(const WalArchiveView *v, uint32_t tli, Lsn start_lsn, Lsn until_lsn, WalIssues *out, WalPathEnd *end)
{
    WalPathEnd e = {0};
    if (tli == 0 || tli == UINT32_MAX)
    {
        /* Not a timeline PostgreSQL makes (the manifest reader refuses it too). */
        add_issue(out, (WalIssue){.kind = WAL_ISSUE_HISTORY_BAD, .tli = tli, .detail = "no such timeline"});
        if (end)
            *end = e;
        return;
    }
    uint32_t newest = newest_tli(v, tli);
    uint32_t target = probe_histories(v, tli + 1, newest, out);
    if (newest == tli && tli >= 2)
        probe_histories(v, tli, tli, out);
    PathStep *steps;
    size_t n;
    if (!build_path(v, tli, start_lsn, target, &steps, &n, out))
    {
        /* Still check the backup's own timeline, for what it is worth. */
        steps[0] = (PathStep){.tli = tli, .first = wal_segno(start_lsn, v->seg_size), .last = SEG_END};
        n = 1;
        target = tli;
    }
    uint64_t until = until_lsn ? wal_segno(until_lsn, v->seg_size) : SEG_END;
    for (size_t i = 0; i < n && steps[i].first <= until; i++)
    {
        const PathStep *s = &steps[i];
        bool final = i + 1 == n, found;
        uint64_t last = s->last == SEG_END || s->last > until ? until : s->last;
        if (!final)
        {
            if (s->first <= last)
            {
                missing_runs(v, s->tli, s->first, last, true, out, &found);
                e = (WalPathEnd){.any = true, .tli = s->tli, .segno = last};
            }
            continue;
        }
        /* The final timeline: what is archived of it is the end of the
         * archive, so only holes inside it are missing segments. */
        uint64_t top = missing_runs(v, s->tli, s->first, last, false, out, &found);
        if (found)
            e = (WalPathEnd){.any = true, .tli = s->tli, .segno = top};
        if (until != SEG_END && (!found || top < until))
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_TARGET_BEYOND_END, .tli = e.tli, .first = !e.any,
                                      .last = e.segno, .lsn = until_lsn});
        uint64_t partial = 0;
        if (target == newest && last_partial(v->wl, s->tli, &partial) && partial >= s->first &&
            (!found || partial > top) && partial <= until)
            add_issue(out, (WalIssue){.kind = WAL_ISSUE_PARTIAL_END, .tli = s->tli, .first = partial});
    }
    free(steps);
    if (end)
        *end = e;
}

/* Segment position within all timelines: the log and segment part of the
 * name (16 uppercase hex digits), which orders as the segment number. */
static int
position_cmp(const char *a, const char *b)
{
    return strncmp(a + 8, b + 8, 16);
}

bool
wal_missing_is_hole(const WalList *wl, const char *walname, char *why, size_t whylen)
{
    WalObject want;
    if (!wal_object_classify(walname, 0, &want))
        return false;
    bool later_tli = false;
    const WalObject *partial_here = NULL;
    for (size_t i = 0; i < wl->count; i++)
    {
        const WalObject *o = &wl->items[i];
        if (o->tli > want.tli)
            later_tli = true;
        if (want.kind == WAL_HISTORY)
        {
            /* Recovery probes N.history to learn of timeline N: missing,
             * it would never follow N or anything after it. */
            if (want.tli >= 2 && o->tli >= want.tli)
            {
                if (o->tli == want.tli)
                    snprintf(why, whylen, "timeline %u has %s in the archive, but its history file %s is missing",
                             want.tli, o->name, walname);
                else
                    snprintf(why, whylen, "%s of a later timeline is archived, but the history file %s of timeline %u "
                             "is missing", o->name, walname, want.tli);
                return true;
            }
            continue;
        }
        if (want.kind != WAL_SEGMENT || o->kind == WAL_HISTORY)
            continue;
        int c = position_cmp(o->name, walname);
        if (o->tli == want.tli && c > 0)
        {
            snprintf(why, whylen, "a later WAL file of the same timeline, %s, is archived", o->name);
            return true;
        }
        if (o->tli > want.tli && c >= 0 && o->kind != WAL_BACKUP_LABEL)
        {
            snprintf(why, whylen, "timeline %u continues from this segment on (%s is archived)", o->tli, o->name);
            return true;
        }
        if (o->tli == want.tli && c == 0 && o->kind == WAL_PARTIAL)
            partial_here = o;
    }
    if (partial_here && !later_tli)
    {
        snprintf(why, whylen, "%s is archived: the timeline switched within this segment, but no later timeline "
                 "(no history file) is archived", partial_here->name);
        return true;
    }
    return false;
}

static char *
segments_text(uint32_t tli, uint64_t first, uint64_t last, uint64_t seg_size)
{
    char a[WAL_NAME_LEN + 1], b[WAL_NAME_LEN + 1];
    wal_segment_name(tli, first, seg_size, a);
    if (first == last)
        return xprintf("WAL segment %s", a);
    wal_segment_name(tli, last, seg_size, b);
    return xprintf("WAL segments %s .. %s", a, b);
}

char *
wal_issue_describe(const WalIssue *i, uint64_t seg_size)
{
    char lsn[32], lsn2[32], *seg, *out;
    switch (i->kind)
    {
        case WAL_ISSUE_SEGMENTS_MISSING:
            seg = segments_text(i->tli, i->first, i->last, seg_size);
            out = xprintf("%s %s missing from the archive (timeline %u)", seg, i->first == i->last ? "is" : "are",
                          i->tli);
            free(seg);
            return out;
        case WAL_ISSUE_HISTORY_MISSING:
            if (i->other_tli > i->tli)
                return xprintf("the history files %08X.history .. %08X.history (timelines %u .. %u) are missing: "
                               "recovery cannot follow the timeline switches", i->tli, i->other_tli, i->tli,
                               i->other_tli);
            return xprintf("the history file %08X.history is missing: recovery cannot follow the switch to "
                           "timeline %u", i->tli, i->tli);
        case WAL_ISSUE_HISTORY_BAD:
            return xprintf("the history file %08X.history is unusable: %s", i->tli, i->detail ? i->detail : "?");
        case WAL_ISSUE_NOT_DESCENDANT:
            if (!i->lsn)
                return xprintf("the newest timeline %u does not descend from timeline %u (its history file "
                               "%08X.history does not list it)", i->tli, i->other_tli, i->tli);
            lsn_format(i->lsn, lsn);
            lsn_format(i->lsn2, lsn2);
            return xprintf("the newest timeline %u left timeline %u at LSN %s, before LSN %s where recovery starts",
                           i->tli, i->other_tli, lsn, lsn2);
        case WAL_ISSUE_PARTIAL_END:
            seg = segments_text(i->tli, i->first, i->first, seg_size);
            out = xprintf("timeline %u ends in the partial %s.partial, but no later timeline is archived (is a "
                          "history file missing?)", i->tli, seg + strlen("WAL segment "));
            free(seg);
            return out;
        case WAL_ISSUE_TARGET_BEYOND_END:
            lsn_format(i->lsn, lsn);
            if (i->first)
                return xprintf("the target LSN %s is past the end of the archive (no WAL segment after the "
                               "start is archived)", lsn);
            seg = segments_text(i->tli, i->last, i->last, seg_size);
            out = xprintf("the target LSN %s is past the end of the archive (its last segment on the way is %s)", lsn,
                          seg + strlen("WAL segment "));
            free(seg);
            return out;
    }
    return xstrdup("unknown WAL issue");
}

bool
wal_issue_equal(const WalIssue *a, const WalIssue *b)
{
    return a->kind == b->kind && a->tli == b->tli && a->first == b->first && a->last == b->last &&
           a->other_tli == b->other_tli && a->lsn == b->lsn && a->lsn2 == b->lsn2;
}

void
wal_issues_free(WalIssues *l)
{
    free(l->items);
    l->items = NULL;
    l->count = 0;
}
