#include "consistency/cp_choose.h"

#include <string.h>

const ConsistencyPoint *
cp_at_or_before(const ConsistencyPoint *cps, size_t n, double t)
{
    const ConsistencyPoint *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (cps[i].time <= t)
            found = &cps[i];
    return found;
}

const ConsistencyPoint *
cp_first_after(const ConsistencyPoint *cps, size_t n, double decided)
{
    for (size_t i = 0; i < n; i++)
        if (cps[i].time > decided)
            return &cps[i];
    return NULL;
}

const ConsistencyPoint *
cp_named(const ConsistencyPoint *cps, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cps[i].name, name))
            return &cps[i];
    return NULL;
}

const ConsistencyPoint *
cp_latest(const ConsistencyPoint *cps, size_t n)
{
    return n ? &cps[n - 1] : NULL;
}
