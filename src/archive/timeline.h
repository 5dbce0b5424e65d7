/* Timeline history files (NNNNNNNN.history): which timeline a timeline
 * branched from, and where. PostgreSQL writes one line per ancestor,
 * oldest first: "<parent tli>\t<switch LSN>\t<reason>"; the file of
 * timeline N lists every ancestor of N, so it alone gives the whole path.
 * Read from the pool, so untrusted: parsed strictly, size-bounded. */
#ifndef STRATA_TIMELINE_H
#define STRATA_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "archive/archive.h"
#include "pg/wal.h"

/* Larger than any real history (a line per timeline switch ever made). */
#define TIMELINE_HISTORY_MAX_BYTES (1 << 20)

typedef struct TimelineSwitch
{
    uint32_t tli;            /* an ancestor timeline */
    Lsn end;                 /* where it switched to the next one */
} TimelineSwitch;

typedef struct TimelineHistory
{
    uint32_t tli;            /* the timeline whose file this is */
    TimelineSwitch *items;   /* its ancestors, oldest first */
    size_t count;
    char *problem;           /* non-NULL: the file could not be read or parsed (items empty) */
} TimelineHistory;

/* Parses the text of timeline `tli`'s history file (pure). Ancestors must
 * be below `tli`, strictly increasing, with non-decreasing switch LSNs. */
int timeline_history_parse(uint32_t tli, const char *text, size_t len, TimelineHistory *out, Error *err);
void timeline_history_free(TimelineHistory *h);

/* Fetches and parses every history object of `wl`, in the list's order;
 * one that cannot be read gets its `problem` set rather than failing the
 * whole load (verify reports it; a restore that needs it refuses). */
void timeline_histories_load(Pool *p, const WalList *wl, TimelineHistory **out, size_t *count);
void timeline_histories_free(TimelineHistory *h, size_t count);

#endif
