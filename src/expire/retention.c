#include "expire/retention.h"

void
retention_choose_kept(const int64_t *started, size_t n, int keep, int keep_days, int64_t now, bool *kept)
{
    for (size_t i = 0; i < n; i++)
        kept[i] = false;
    if (n == 0)
        return;
    if (keep > 0)
    {
        for (size_t i = n > (size_t) keep ? n - (size_t) keep : 0; i < n; i++)
            kept[i] = true;
    }
    else
    {
        int64_t cutoff = now - (int64_t) keep_days * 86400;
        bool covered = false;
        for (size_t i = n; i-- > 0;)
        {
            if (started[i] >= cutoff)
                kept[i] = true;
            else if (!covered)
                kept[i] = covered = true;
        }
    }
    kept[n - 1] = true;
}

size_t
retention_keep_parents(const long *parent, size_t n, bool *kept)
{
    return retention_keep_parents_of_sets(parent, 1, n, kept);
}

size_t
retention_keep_parents_of_sets(const long *parents, size_t nsets, size_t n, bool *kept)
{
    size_t added = 0;
    /* Newest first: a parent marked here (always older) is walked in its own turn. */
    for (size_t i = n; i-- > 0;)
    {
        if (!kept[i])
            continue;
        for (size_t s = 0; s < nsets; s++)
        {
            long p = parents[i * nsets + s];
            if (p < 0 || (size_t) p >= i || kept[p])
                continue;
            kept[p] = true;
            added++;
        }
    }
    return added;
}
