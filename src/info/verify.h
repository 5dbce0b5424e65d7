/* strata verify as a library call over an open pool (cmd_verify is its
 * command): re-reads every data object (or one backup's) and WAL object,
 * checks each checksum and the WAL continuity. */
#ifndef STRATA_VERIFY_H
#define STRATA_VERIFY_H

#include <stddef.h>

#include "pool/pool.h"

typedef struct VerifyResult
{
    char **problems;   /* one line each, naming the object; sorted */
    size_t nproblems;
    size_t objects;    /* objects read back */
    size_t nodes;
    /* A keyed pool without its key (pool->unauthenticated counts the
     * seals not checked): encrypted data objects whose stored bytes were
     * checked but not their content; WAL objects not authenticated. */
    size_t data_not_decrypted;
    size_t wal_not_checked;
} VerifyResult;

/* node NULL: every node of the pool; backup_id (with node): that backup's
 * data objects only. Problems found are results (*out), not failures: -1
 * only when verifying could not go on (a listing or a manifest read that
 * failed, an unknown node or backup). */
int verify_pool(Pool *pool, const char *node, const char *backup_id, int jobs, VerifyResult *out, Error *err);
void verify_result_free(VerifyResult *r);

#endif
