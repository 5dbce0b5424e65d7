#include "info/continuity.h"

#include <stdlib.h>

size_t
wal_continuity_check(const char *node, uint64_t seg_size, const WalList *wl, const BackupList *bl, ProblemFn report,
                     void *ctx)
{
    size_t problems = 0;
    WalGap *gaps;
    size_t ngaps = archive_gaps(wl, &gaps);
    for (size_t i = 0; i < ngaps; i++)
    {
        char a[WAL_NAME_LEN + 1], b[WAL_NAME_LEN + 1];
        wal_segment_name(gaps[i].tli, gaps[i].first_missing, seg_size, a);
        wal_segment_name(gaps[i].tli, gaps[i].last_missing, seg_size, b);
        if (gaps[i].first_missing == gaps[i].last_missing)
            report(ctx, "node %s: WAL gap: segment %s is missing from the archive", node, a);
        else
            report(ctx, "node %s: WAL gap: segments %s .. %s are missing from the archive", node, a, b);
        problems++;
    }
    free(gaps);
    for (size_t i = 0; bl && i < bl->count; i++)
    {
        if (!bl->items[i].complete)
            continue;
        const Manifest *m = &bl->items[i].manifest;
        uint64_t first = wal_segno(m->start_lsn, seg_size);
        uint64_t last = wal_segno(m->stop_lsn ? m->stop_lsn - 1 : 0, seg_size);
        for (uint64_t s = first; s <= last; s++)
        {
            if (archive_has_segment(wl, m->timeline, s))
                continue;
            char name[WAL_NAME_LEN + 1];
            wal_segment_name(m->timeline, s, seg_size, name);
            report(ctx, "node %s: backup %s needs WAL segment %s, which is missing", node, m->id, name);
            problems++;
        }
    }
    return problems;
}
