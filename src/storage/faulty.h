/* A storage that injects faults, for tests: it wraps another Storage and
 * fails or corrupts the Nth call of one kind (read, write, commit, list,
 * remove), optionally counting only the calls on keys under a prefix.
 * Everything else passes through unchanged, so an engine handed a Pool over
 * it behaves as over the real store until the chosen call. */
#ifndef STRATA_STORAGE_FAULTY_H
#define STRATA_STORAGE_FAULTY_H

#include <stdbool.h>

#include "storage/storage.h"

typedef enum FaultOp
{
    FAULT_READ,      /* a read that returns bytes (end-of-object reads do not count) */
    FAULT_WRITE,     /* a write into a writer */
    FAULT_COMMIT,    /* a writer's commit */
    FAULT_LIST,      /* a listing */
    FAULT_REMOVE,    /* a removal (of an object or a tree) */
    FAULT_OPS        /* the number of kinds */
} FaultOp;

typedef enum FaultKind
{
    /* The call returns an error ("injected fault: ..."), and does nothing:
     * a failed write writes nothing, a failed commit aborts the object. */
    FAULT_FAIL,
    /* The call succeeds with wrong content: a read or a write has the first
     * byte of its buffer inverted, a listing lacks its first entry. A
     * commit or removal cannot be corrupted: FAULT_CORRUPT fails them. */
    FAULT_CORRUPT
} FaultKind;

typedef struct FaultPlan
{
    FaultOp op;
    unsigned long nth;        /* the call (1 = the first) that goes wrong; 0: none */
    FaultKind kind;
    const char *path_prefix;  /* count only calls on keys starting with it (NULL: all) */
    bool every_after;         /* every counted call from the nth on goes wrong, not only the nth */
} FaultPlan;

/* Wraps inner (which it closes on storage_close). The plan is copied. */
Storage *storage_faulty_new(Storage *inner, const FaultPlan *plan);
/* Calls of that kind counted so far (those the plan's prefix selects). */
unsigned long storage_faulty_calls(Storage *s, FaultOp op);
/* How many faults were injected so far. */
unsigned long storage_faulty_injected(Storage *s);

#endif
