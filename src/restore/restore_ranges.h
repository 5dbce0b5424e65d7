/* Restore's side of files split into ranges (pool/manifest_ranges.c): the
 * work items, a whole file or one range each, so the ranges of one large
 * file are written by several workers at once, each at its offset. */
#ifndef STRATA_RESTORE_RANGES_H
#define STRATA_RESTORE_RANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "pool/manifest.h"

typedef struct RestoreItem
{
    size_t file;                  /* index in the manifest's files */
    const ManifestRange *range;   /* NULL: the whole file */
} RestoreItem;

/* Every stored file's items, whole files and ranges, in the manifest's
 * order (an incremental's blocks entry is one item: its chain is written by
 * one worker, copy_files.c), with the file named `last_path`
 * (global/pg_control), if any, as the very last item: *last_alone says it
 * is there, to be written after all the others.
 * Returns the number of items; the caller frees *out. */
size_t restore_items_plan(const Manifest *m, const char *last_path, RestoreItem **out, bool *last_alone);
/* Opens the destination of an item: a whole file is created (O_EXCL); a
 * range's file is created by whichever range comes first (the writer
 * seeks to the range's offset). -1 on error. */
int restore_item_open(const char *dest, uint32_t mode, const ManifestRange *range, Error *err);
/* After every item is written: each split file holds exactly its extent,
 * and gets its modification time (a range written last would have moved it). */
int restore_ranges_finish(const char *target_dir, const Manifest *m, Error *err);

#endif
