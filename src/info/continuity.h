/* WAL continuity of a node, as verify and check report it: the archive's
 * own holes, and for every complete backup what a restore from it to the
 * end of the archive would miss along the timeline history (one decision:
 * archive/wal_continuity.h). A problem many backups share is one line
 * naming them all. */
#ifndef STRATA_CONTINUITY_H
#define STRATA_CONTINUITY_H

#include "archive/archive.h"
#include "pool/manifest.h"

typedef void (*ProblemFn)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports each problem through `report`; returns how many. `only_backup`
 * (optional): that backup's path alone, without the archive-wide check. */
size_t wal_continuity_check(Pool *p, const char *node, uint64_t seg_size, const WalList *wl, const BackupList *bl,
                            const char *only_backup, ProblemFn report, void *ctx);

#endif
