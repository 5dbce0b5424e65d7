/* RestoreOptions (what the restore engines take) from a validated
 * RestoreRequest (request/restore_request.h): the one bridge every path
 * uses, so that a field reaches the engines the same way from each. */
#ifndef STRATA_RESTORE_FROM_REQUEST_H
#define STRATA_RESTORE_FROM_REQUEST_H

#include "request/restore_request.h"
#include "restore/restore.h"

/* Fills the request's fields into *o (which keeps pointers into *r: r
 * must outlive o); o's other fields (pool, executor, progress) are left as
 * they are. The caller frees o->target and o->sets. */
int restore_options_from_request(const RestoreRequest *r, RestoreOptions *o, Error *err);

#endif
