/* WAL continuity: the one decision verify, check, restore planning and
 * wal-get share. Pure: it reads a listing (WalList) and the parsed history
 * files, never the pool, so it is unit-tested over synthetic listings.
 *
 * The model is PostgreSQL's own (recovery_target_timeline = 'latest'):
 * recovery follows the newest timeline whose history files it can reach by
 * probing N+1, N+2, ... from the backup's timeline; segment S is read from
 * the newest timeline on that path that had begun by S (a timeline's first
 * segment holds its parent's WAL up to the switch point); the parent's
 * last segment is archived only as .partial and never read. A missing
 * segment anywhere on that path, or a missing history file, would make
 * recovery stop early and promote short: each is an issue. */
#ifndef STRATA_WAL_CONTINUITY_H
#define STRATA_WAL_CONTINUITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive.h"
#include "archive/timeline.h"

typedef enum WalIssueKind
{
    WAL_ISSUE_SEGMENTS_MISSING,   /* segments first..last of timeline tli */
    WAL_ISSUE_HISTORY_MISSING,    /* tli's history file */
    WAL_ISSUE_HISTORY_BAD,        /* tli's history file cannot be read: detail */
    WAL_ISSUE_NOT_DESCENDANT,     /* timeline tli does not descend from other_tli (at or after lsn, if set) */
    WAL_ISSUE_PARTIAL_END,        /* tli ends in the .partial segment `first`, no later timeline archived */
    WAL_ISSUE_TARGET_BEYOND_END,  /* target lsn past the end; the path ends with segment `last` of tli (none: first) */
} WalIssueKind;

typedef struct WalIssue
{
    WalIssueKind kind;
    uint32_t tli;
    uint64_t first, last;
    uint32_t other_tli;
    Lsn lsn, lsn2;
    const char *detail;           /* borrowed from the history it is about */
} WalIssue;

typedef struct WalIssues
{
    WalIssue *items;
    size_t count;
} WalIssues;

/* What the decision looks at: a node's listing and its parsed histories. */
typedef struct WalArchiveView
{
    const WalList *wl;
    uint64_t seg_size;
    const TimelineHistory *histories;
    size_t nhistories;
} WalArchiveView;

/* Where a restore following the path stops: the last segment it replays. */
typedef struct WalPathEnd
{
    bool any;                     /* false: no segment past the start is archived */
    uint32_t tli;
    uint64_t segno;
} WalPathEnd;

/* Problems of the archive as a whole: gaps inside each timeline (.partial
 * segments count as present), timelines without their history file,
 * unreadable histories, a timeline ending in .partial with no successor. */
void wal_archive_issues(const WalArchiveView *v, WalIssues *out);

/* A recovery starting at start_lsn on timeline tli, following the newest
 * timeline, up to until_lsn (0: the end of the archive). Appends what
 * would make it stop short; `end` (optional) gets where it would stop. */
void wal_path_issues(const WalArchiveView *v, uint32_t tli, Lsn start_lsn, Lsn until_lsn, WalIssues *out,
                     WalPathEnd *end);

/* wal-get: `walname` is not archived; is that a hole (recovery must not
 * take it for the end of WAL) rather than the end? Needs only the listing
 * of timelines >= walname's; orders segments by name, so it needs no
 * segment size. `why` gets the evidence. */
bool wal_missing_is_hole(const WalList *wl, const char *walname, char *why, size_t whylen);

/* One sentence naming the segment or history file (callers free). */
char *wal_issue_describe(const WalIssue *i, uint64_t seg_size);
bool wal_issue_equal(const WalIssue *a, const WalIssue *b);
void wal_issues_free(WalIssues *l);

#endif
