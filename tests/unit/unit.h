/* A minimal unit-test harness: CHECK prints one TAP-like line per check;
 * the program exits non-zero if any failed. */
#ifndef STRATA_UNIT_H
#define STRATA_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_failed, unit_passed;

#define CHECK(cond, name)                                                              \
    do                                                                                 \
    {                                                                                  \
        if (cond)                                                                      \
        {                                                                              \
            unit_passed++;                                                             \
            printf("ok - %s\n", name);                                                 \
        }                                                                              \
        else                                                                           \
        {                                                                              \
            unit_failed++;                                                             \
            printf("not ok - %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #cond);      \
        }                                                                              \
    } while (0)

#define UNIT_DONE()                                                                    \
    do                                                                                 \
    {                                                                                  \
        printf("# %d passed, %d failed\n", unit_passed, unit_failed);                  \
        return unit_failed ? 1 : 0;                                                    \
    } while (0)

#endif
