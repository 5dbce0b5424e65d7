/* A backup's lease: the sign of life of a backup in progress.
 *
 * A backup becomes visible only when its manifest is written, so one that
 * is killed, or whose host is lost, leaves objects without a manifest. The
 * pool has no locks and the backup may run on another host, so "without a
 * manifest" alone cannot tell an interrupted backup from a running one;
 * expire would have to keep both forever, and the pool (and the WAL an old
 * interrupted backup pins) would grow without end.
 *
 * So the owner writes lease.json into the backup's directory before any
 * other object and rewrites it every LEASE_RENEW_SECONDS until the manifest
 * is written. A backup without a manifest whose lease is missing, or was
 * last renewed longer ago than a threshold, was interrupted. The times are
 * the owner's clock, compared on the reader's: the threshold (minutes)
 * must dwarf the clock skew between hosts (NTP: milliseconds).
 *
 * Before the manifest makes a backup visible, its owner checks that the
 * lease is still there and still its own: an owner that stalled for longer
 * than the threshold and whose backup expire removed fails instead of
 * writing a manifest over removed objects. */
#ifndef STRATA_LEASE_H
#define STRATA_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"

#define LEASE_NAME "lease.json"
#define LEASE_RENEW_SECONDS 10
/* Default threshold: a lease not renewed for this long (seconds) marks an
 * interrupted backup. 180 missed renewals: no stall of a live backup and no
 * clock skew of a synchronised host comes near it. */
#define LEASE_INTERRUPTED_AFTER 1800

typedef struct LeaseInfo
{
    char host[256];
    long pid;
    char token[40];          /* random: tells this owner from an earlier one */
    int64_t started;         /* Unix seconds, the owner's clock */
    int64_t renewed;
} LeaseInfo;

typedef struct Lease Lease;

/* Writes dir/lease.json and renews it from a thread until released.
 * `what` names the backup in messages ("backup X of node N"). */
int lease_take(Storage *s, const char *dir, const char *what, Lease **out, Error *err);
/* 0 if the lease is still there and ours; otherwise an error saying the
 * backup was judged interrupted (or the lease could not be renewed). */
int lease_check(Lease *l, Error *err);
/* Stops renewing; removes lease.json when `remove` (a complete backup
 * needs it no more). NULL is allowed. */
void lease_release(Lease *l, bool remove);

/* A lease is a few hundred bytes: a larger lease.json is not one. */
#define LEASE_MAX_BYTES 4096
/* Parses and validates a lease's bytes (`path` names it in messages). */
int lease_parse(const char *path, const Buffer *b, LeaseInfo *out, Error *err);
/* Reads dir/lease.json; *missing when there is none. */
int lease_read(Storage *s, const char *dir, LeaseInfo *out, bool *missing, Error *err);

/* What a backup without a manifest is, from its lease. */
typedef enum LeaseState
{
    LEASE_LIVE,              /* renewed within the threshold: in progress */
    LEASE_STALE,             /* renewed longer ago: interrupted */
    LEASE_MISSING,           /* none: interrupted (the lease is the first object written) */
    LEASE_UNREADABLE         /* cannot be read or parsed: left alone, described */
} LeaseState;

/* Classifies dir's backup at time `now` with the threshold in seconds;
 * `describe` (optional) gets a sentence for reports. A lease that cannot be
 * read is LEASE_UNREADABLE: one odd object must not stop the retention of
 * everything else, and the backup is not judged dead. */
static inline bool lease_interrupted(LeaseState s) { return s == LEASE_STALE || s == LEASE_MISSING; }
LeaseState lease_state(Storage *s, const char *dir, int64_t now, int64_t threshold, char *describe, size_t dlen);

#endif
