/* The WAL index in the pool: one object per archived segment,
 *   nodes/<node>/wal-index/<TTTTTTTTLLLLLLLL>/<walname>.idx
 * built by wal-push after the segment is committed, rebuilt on demand
 * (strata wal-index) from the archived segments. */
#ifndef STRATA_WAL_INDEX_POOL_H
#define STRATA_WAL_INDEX_POOL_H

#include "archive/archive.h"
#include "wal/index.h"

char *wal_index_key(const char *node, uint32_t tli, uint64_t segno, uint64_t seg_size);

/* Reads a segment's index; *found false if there is none. An index built
 * from other content than `seg` (its SHA-256 differs) counts as none. */
int wal_index_load(Pool *p, const char *node, const WalObject *seg, uint64_t seg_size, WalIndex *ix, bool *found,
                   Error *err);
int wal_index_store(Pool *p, const char *node, const WalIndex *ix, Error *err);

/* Removes a segment's index (expire, with the segment); a failure is logged. */
void wal_index_remove(Pool *p, const char *node, const WalObject *seg, uint64_t seg_size);

/* Fetches an archived WAL object's original bytes (checked) into memory. */
int wal_fetch_bytes(Pool *p, const WalObject *o, Buffer *out, Error *err);

/* Builds the index of archived segment `seg`: `content` is its bytes if
 * the caller has them (wal-push), else NULL (fetched). The previous
 * segment (highest timeline <= seg's that has it) is fetched for the
 * record continuing into seg. Stores it unless `store` is false. */
int wal_index_build_segment(Pool *p, const char *node, const WalObject *seg, const uint8_t *content,
                            uint64_t seg_size, bool store, WalIndex *ix, Error *err);

/* wal-push's hook: indexes the segment it has just archived. Never fails
 * the push: problems are logged and the index left to `strata wal-index`. */
void wal_index_after_push(Pool *p, const char *node, const char *walname, const uint8_t *content, size_t len,
                          uint64_t seg_size);

#endif
