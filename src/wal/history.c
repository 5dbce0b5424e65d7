#include "wal/history.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/timeline.h"
#include "wal/index_pool.h"

static void
add_span(WalTimelinePath *p, uint32_t tli, Lsn begin, Lsn end)
{
    p->spans = xrealloc(p->spans, (p->count + 1) * sizeof(WalTimelineSpan));
    p->spans[p->count++] = (WalTimelineSpan){tli, begin, end};
}

/* The one strict, size-bounded parser of history files (archive/timeline.h), as spans. */
int
wal_history_parse(const char *text, size_t len, uint32_t tli, const char *what, WalTimelinePath *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    TimelineHistory h;
    if (timeline_history_parse(tli, text, len, &h, err) != 0)
        return error_prefix(err, "timeline history %s: ", what);
    Lsn begin = 0;
    for (size_t i = 0; i < h.count; i++)
    {
        add_span(out, h.items[i].tli, begin, h.items[i].end);
        begin = h.items[i].end;
    }
    add_span(out, tli, begin, 0);
    timeline_history_free(&h);
    return 0;
}

void
wal_timeline_path_free(WalTimelinePath *path)
{
    free(path->spans);
    path->spans = NULL;
    path->count = 0;
}

int
wal_timeline_path(Pool *p, const char *node, const WalList *archived, uint32_t tli, WalTimelinePath *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    if (tli == 0)
    {
        for (size_t i = 0; i < archived->count; i++)
        {
            const WalObject *o = &archived->items[i];
            uint32_t t = o->is_segment ? o->tli
                                       : wal_is_history_name(o->name) ? (uint32_t) strtoul(o->name, NULL, 16) : 0;
            if (t > tli)
                tli = t;
        }
        if (tli == 0)
            tli = 1;
    }
    if (tli == 1)
    {
        add_span(out, 1, 0, 0);
        return 0;
    }
    char name[32];
    snprintf(name, sizeof(name), "%08X.history", tli);
    WalObject h;
    bool found;
    if (archive_find(p, node, name, &h, &found, err) != 0)
        return -1;
    if (!found)
    {
        add_span(out, tli, 0, 0);   /* no history archived: the timeline alone */
        return 0;
    }
    Buffer b = {0};
    int rc = wal_fetch_bytes(p, &h, &b, err);
    if (rc == 0)
        rc = wal_history_parse(b.data, b.len, tli, h.key, out, err);
    buffer_free(&b);
    wal_object_free(&h);
    return rc;
}

uint32_t
wal_path_segment_tli(const WalTimelinePath *path, uint64_t segno, uint64_t seg_size)
{
    uint32_t tli = path->count ? path->spans[0].tli : 1;
    for (size_t i = 0; i < path->count; i++)
        if (path->spans[i].begin / seg_size <= segno)
            tli = path->spans[i].tli;
    return tli;
}

bool
wal_path_contains(const WalTimelinePath *path, uint32_t tli, Lsn lsn)
{
    for (size_t i = 0; i < path->count; i++)
    {
        const WalTimelineSpan *s = &path->spans[i];
        /* Before `begin` a child's first segment holds its parent's WAL,
         * which is on the path too: only the end bounds a timeline. */
        if (s->tli == tli)
            return s->end == 0 || lsn < s->end;
    }
    return false;
}
