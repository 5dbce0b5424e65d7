/* Which backups the retention keeps: the decision alone, on start times,
 * apart from the pool reading and removing around it (expire.c). */
#ifndef STRATA_RETENTION_H
#define STRATA_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Of n complete backups, oldest first (started[i]: start, Unix seconds),
 * sets kept[i]. keep > 0 (--keep N): the newest N. Otherwise keep_days
 * (--keep-days D): those started at or after now - D days, plus the newest
 * one started before, so that every moment of the last D days stays
 * restorable. The newest backup is always kept. */
void retention_choose_kept(const int64_t *started, size_t n, int keep, int keep_days, int64_t now, bool *kept);

/* Incremental chains: parent[i] is the index of backup i's parent among
 * the n (older, so below i), -1 for a full. Marks kept every backup a kept
 * one builds on, however far down its chain: removing one would leave the
 * kept backup unrestorable. Returns how many were added. */
size_t retention_keep_parents(const long *parent, size_t n, bool *kept);
/* The same for cluster backups, whose replica sets each have a chain:
 * parents[i * nsets + s] is the index of the backup holding the parent of
 * backup i's node backup of set s (-1: a full, or no such set). A kept
 * cluster backup keeps every cluster backup any of its sets builds on. */
size_t retention_keep_parents_of_sets(const long *parents, size_t nsets, size_t n, bool *kept);

#endif
