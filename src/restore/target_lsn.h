/* Placing a restore target in the WAL, so backup selection (select.h) can
 * compare it with each backup's consistency point whatever its kind. */
#ifndef STRATA_TARGET_LSN_H
#define STRATA_TARGET_LSN_H

#include "pool/pool.h"
#include "restore/select.h"

/* Fills *st from `t` for a restore of pool node `node`. A restore point
 * name is placed by the consistency points of the node's cluster (node
 * "CLUSTER/SET": the CP's member LSN for SET), else by a search of the
 * node's archived WAL (src/wal/restore_point.h); an xid by its commit or
 * abort records there (src/wal/xact_search.h). One found nowhere is an
 * error (nothing to restore to); when the WAL cannot be searched the target
 * is left unplaced and *unresolved says why. -1 on error.
 * Free with target_resolved_free. */
int target_resolve_lsn(Pool *pool, const char *node, const Target *t, bool exclusive, SelectTarget *st,
                       char *unresolved, size_t unresolved_len, Error *err);
void target_resolved_free(SelectTarget *st);

#endif
