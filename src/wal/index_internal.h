/* Between the index builder (index_build.c) and the record interpreters
 * (rmgr.c, rmgr_xact.c): plain types only. */
#ifndef STRATA_WAL_INDEX_INTERNAL_H
#define STRATA_WAL_INDEX_INTERNAL_H

#include "wal/index.h"

WalIndex *wal_builder_index(WalIndexBuilder *b);
void wal_builder_block(WalIndexBuilder *b, const WalRelFile *rel, uint8_t fork, uint32_t blkno);
WalTruncation *wal_builder_truncation(WalIndexBuilder *b);
WalRelEvent *wal_builder_rel(WalIndexBuilder *b);
WalDbEvent *wal_builder_db(WalIndexBuilder *b);
WalXact *wal_builder_xact(WalIndexBuilder *b);
WalRestorePoint *wal_builder_restore_point(WalIndexBuilder *b);
WalServerEvent *wal_builder_server(WalIndexBuilder *b);
WalUnknownRecord *wal_builder_unknown(WalIndexBuilder *b);

/* Record interpreters: what a record changes beyond its block references. */
int wal_rmgr_xlog(WalIndexBuilder *b, const WalRecord *rec, Error *err);
int wal_rmgr_xact(WalIndexBuilder *b, const WalRecord *rec, Error *err);
int wal_rmgr_smgr(WalIndexBuilder *b, const WalRecord *rec, Error *err);
int wal_rmgr_dbase(WalIndexBuilder *b, const WalRecord *rec, Error *err);

#endif
