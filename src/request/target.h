/* Recovery targets: parsed and checked here, so a malformed one is refused
 * before anything is written, and written into recovery settings that
 * PostgreSQL reads exactly as strata did. */
#ifndef STRATA_REQUEST_TARGET_H
#define STRATA_REQUEST_TARGET_H

#include <stdint.h>

#include "common/error.h"
#include "pg/wal.h"

typedef enum TargetKind
{
    TARGET_LATEST = 0,
    TARGET_TIME,
    TARGET_XID,
    TARGET_LSN,
    TARGET_NAME,
    TARGET_IMMEDIATE,
} TargetKind;

typedef struct Target
{
    TargetKind kind;
    char *text;          /* normalised value for the recovery setting */
    double time;         /* TARGET_TIME: Unix seconds */
    Lsn lsn;             /* TARGET_LSN */
    uint64_t xid;        /* TARGET_XID */
} Target;

/* "2026-11-24 15:50:37[.123456][+TZ]" (no zone: this machine's local time). */
int target_parse_time(const char *text, Target *t, Error *err);
int target_parse_xid(const char *text, Target *t, Error *err);
int target_parse_lsn(const char *text, Target *t, Error *err);
int target_parse_name(const char *text, Target *t, Error *err);
const char *target_kind_name(TargetKind k);
void target_free(Target *t);

#endif
