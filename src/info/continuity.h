/* WAL continuity of a node: gaps in each timeline's archive, and segments
 * that a complete backup needs but the pool lacks. Shared by verify and check. */
#ifndef STRATA_CONTINUITY_H
#define STRATA_CONTINUITY_H

#include "archive/archive.h"
#include "pool/manifest.h"

typedef void (*ProblemFn)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports each problem through `report`; returns how many. */
size_t wal_continuity_check(const char *node, uint64_t seg_size, const WalList *wl, const BackupList *bl,
                            ProblemFn report, void *ctx);

#endif
