/* Writing a backup's files into the target directory: a full backup's
 * objects (the ranges of a split file by several workers at once, each at
 * its offset: restore_ranges.h), or a chain's (full + incrementals) in one
 * pass: each file is written once from the newest backup holding it whole
 * (range after range when that backup split it), then the changed blocks
 * of each later backup are laid over it in order (chain.h). Every object's
 * checksum and size are checked as it streams. */
#ifndef STRATA_RESTORE_COPY_FILES_H
#define STRATA_RESTORE_COPY_FILES_H

#include "restore/chain.h"
#include "restore/restore.h"

/* The chain's tip is the backup restored (its file list and directories);
 * global/pg_control is written last. */
int restore_files(Pool *pool, const RestoreOptions *o, const BackupChain *chain, Error *err);

#endif
