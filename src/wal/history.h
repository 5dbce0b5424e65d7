/* Timeline history: which timeline's WAL PostgreSQL replays for which LSNs
 * when it recovers along timeline T (T.history: "parent<TAB>switchpoint"
 * lines, oldest first). */
#ifndef STRATA_WAL_HISTORY_H
#define STRATA_WAL_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "archive/archive.h"

typedef struct WalTimelineSpan
{
    uint32_t tli;
    Lsn begin;    /* where the timeline forked off its parent (0 for the first) */
    Lsn end;      /* where its child forked off; 0: open (the target timeline) */
} WalTimelineSpan;

typedef struct WalTimelinePath
{
    WalTimelineSpan *spans;   /* oldest first; the last one is the target timeline */
    size_t count;
} WalTimelinePath;

/* Parses the text of `tli`.history (what = its name for messages). */
int wal_history_parse(const char *text, size_t len, uint32_t tli, const char *what, WalTimelinePath *out, Error *err);
/* The path of `tli` from the node's archive; tli 0 is the latest timeline
 * archived (what recovery_target_timeline = 'latest' follows). Timeline 1
 * and a timeline without a history file in the archive have a path of one span. */
int wal_timeline_path(Pool *p, const char *node, const WalList *archived, uint32_t tli, WalTimelinePath *out,
                      Error *err);
void wal_timeline_path_free(WalTimelinePath *path);

/* The timeline whose file holds segment `segno` on the path (PostgreSQL
 * reads each segment from the newest timeline that had begun by then). */
uint32_t wal_path_segment_tli(const WalTimelinePath *path, uint64_t segno, uint64_t seg_size);
/* Is the record at `lsn`, read from a file of timeline `tli`, on the path? */
bool wal_path_contains(const WalTimelinePath *path, uint32_t tli, Lsn lsn);

#endif
