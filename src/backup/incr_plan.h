/* Which files of an incremental backup can be read as changed blocks only,
 * and which blocks: the decision alone, on the WAL's changes and the
 * parent's manifest, apart from the reading around it (incremental.c).
 *
 * A data file is read as blocks only when it is a relation's main fork
 * (base/<db>/<relfilenode>[.<segment>] or global/...), the parent holds it
 * whole-block sized, and nothing in the WAL range changed it beyond its
 * block references: its relation was not created, dropped, or truncated in
 * the range, and its database was not created or dropped. Then the blocks
 * read are the ones the WAL changed plus every block past the parent's
 * size (extension without a block reference: new pages). Everything else
 * (FSM, VM and init forks, non-relation files, files new since the parent)
 * is copied whole. */
#ifndef STRATA_BACKUP_INCR_PLAN_H
#define STRATA_BACKUP_INCR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/manifest.h"
#include "wal/index.h"

typedef struct IncrPlan
{
    const WalIndex *changes;      /* [parent start, this start), merged (wal/changes.h) */
    const Manifest *parent;
    /* Built by incr_plan_init: */
    WalRelFile *whole;            /* relations to copy whole (sorted) */
    size_t nwhole;
    uint64_t *whole_db;           /* (spc << 32 | db) of databases to copy whole (sorted) */
    size_t nwhole_db;
    const ManifestFile **by_path; /* the parent's files, sorted by path */
    size_t nparent;
} IncrPlan;

void incr_plan_init(IncrPlan *p, const WalIndex *changes, const Manifest *parent);
void incr_plan_free(IncrPlan *p);

/* Parses a relation file path: true for base/<db>/<rel>[_fork][.<seg>] and
 * global/<rel>[_fork][.<seg>] (spc 1663 / 1664). */
bool incr_parse_relpath(const char *path, WalRelFile *rel, uint8_t *fork, uint32_t *segno);

/* For the file at `path`, now `size` bytes: true when it is read as blocks,
 * with *ranges (file-relative block numbers, sorted, merged; caller frees;
 * possibly none) and *n; false when it is copied whole, *why saying why
 * (static text). */
bool incr_plan_file(const IncrPlan *p, const char *path, uint64_t size, ManifestBlockRange **ranges, size_t *n,
                    const char **why);

/* The WAL range cannot be used at all (a wal_level change to minimal):
 * NULL if it can, else why (static text). */
const char *incr_plan_refusal(const WalIndex *changes);

#endif
