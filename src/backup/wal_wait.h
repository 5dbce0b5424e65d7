/* Waiting for WAL segments to reach the pool during a backup, asking for
 * segment switches while waiting (the last segment is still being filled). */
#ifndef STRATA_BACKUP_WAL_WAIT_H
#define STRATA_BACKUP_WAL_WAIT_H

#include <libpq-fe.h>

#include "backup/backup.h"

/* Waits until each of names[0..n) is in the pool (content checked), up to
 * o->archive_timeout. from_standby: connects to primary_conninfo to switch
 * segments; else, when self is given, switches on it (a primary). `why`
 * says what the WAL is needed for, in the timeout message. */
int backup_wait_for_segments(Pool *pool, const BackupOptions *o, char (*names)[WAL_NAME_LEN + 1], size_t n,
                             bool from_standby, const char *primary_conninfo, PGconn *self, const char *why,
                             Error *err);

#endif
