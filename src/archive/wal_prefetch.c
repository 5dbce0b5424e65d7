#include "archive/wal_prefetch.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/workers.h"
#include "pg/wal.h"
#include "storage/storage.h"

#define SPOOL_NAME "strata-prefetch"

unsigned
wal_prefetch_depth_for(const char *location)
{
    return storage_location_is_remote(location) ? WAL_PREFETCH_REMOTE : 0;
}

char *
wal_prefetch_dir(const char *dest)
{
    const char *slash = strrchr(dest, '/');
    if (!slash)
        return xstrdup(SPOOL_NAME);
    return xprintf("%.*s/%s", (int) (slash - dest), dest, SPOOL_NAME);
}

static char *
spooled_path(const char *dest, const char *name)
{
    char *dir = wal_prefetch_dir(dest);
    char *path = xprintf("%s/%s", dir, name);
    free(dir);
    return path;
}

int
wal_prefetch_take(const char *dest, const char *name, bool *taken, Error *err)
{
    *taken = false;
    if (!wal_is_segment_name(name))
        return 0;
    char *path = spooled_path(dest, name);
    int rc = 0;
    if (rename(path, dest) == 0)
        *taken = true;
    else if (errno != ENOENT)
        rc = error_errno(err, "cannot move the prefetched segment %s to %s", path, dest);
    free(path);
    return rc;
}

/* Every file of the spool goes (segments of an abandoned read pattern,
 * temporaries of a killed fetch); the directory stays for the next batch. */
static void
spool_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
    {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = xprintf("%s/%s", dir, e->d_name);
        if (unlink(p) != 0 && errno != ENOENT)
            log_warn("cannot remove %s from the WAL prefetch spool: %s", p, strerror(errno));
        free(p);
    }
    closedir(d);
}

void
wal_prefetch_drop(const char *dest)
{
    char *dir = wal_prefetch_dir(dest);
    spool_empty(dir);
    if (rmdir(dir) != 0 && errno != ENOENT)
        log_warn("cannot remove the WAL prefetch spool %s: %s", dir, strerror(errno));
    free(dir);
}

typedef struct Batch
{
    Pool *pool;
    const char *node;
    const WalObject *found;
    const char *dest;
    char (*names)[WAL_NAME_LEN + 1];   /* [0] is found's, then the ones after it */
    WalFetchFn fetch_one;
} Batch;

static int
batch_item(void *ctx, size_t item, int worker, Error *err)
{
    (void) worker;
    Batch *b = ctx;
    if (item == 0)
        return b->fetch_one(b->pool, b->found, b->dest, err);
    WalObject o;
    bool found;
    Error ahead;
    if (archive_find(b->pool, b->node, b->names[item], &o, &found, &ahead) != 0)
    {
        log_debug("WAL prefetch of %s skipped: %s", b->names[item], ahead.msg);
        return 0;
    }
    if (!found)
        return 0;   /* past the end of this timeline's archive (for now) */
    char *path = spooled_path(b->dest, b->names[item]);
    if (b->fetch_one(b->pool, &o, path, &ahead) != 0)
        log_debug("WAL prefetch of %s skipped: %s", b->names[item], ahead.msg);
    free(path);
    wal_object_free(&o);
    return 0;
}

int
wal_prefetch_batch(Pool *pool, const char *node, const WalObject *found, const char *dest, unsigned depth,
                   WalFetchFn fetch_one, Error *err)
{
    NodeInfo info = {0};
    bool exists = false;
    Error ignored;
    uint32_t tli;
    uint64_t segno;
    /* Without the node's segment size the next names are unknown: the one
     * asked for is fetched alone. */
    if (depth > WAL_PREFETCH_MAX)
        depth = WAL_PREFETCH_MAX;
    if (depth < 2 || found->kind != WAL_SEGMENT || node_info_read(pool, node, &info, &exists, &ignored) != 0 ||
        !exists || !wal_segment_size_valid(info.wal_segment_size) ||
        !wal_parse_segment_name(found->name, info.wal_segment_size, &tli, &segno))
        return fetch_one(pool, found, dest, err);

    char *dir = wal_prefetch_dir(dest);
    spool_empty(dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    {
        log_debug("no WAL prefetch: cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return fetch_one(pool, found, dest, err);
    }
    free(dir);
    Batch b = {.pool = pool, .node = node, .found = found, .dest = dest, .fetch_one = fetch_one};
    b.names = xcalloc(depth, sizeof(*b.names));
    for (unsigned i = 0; i < depth; i++)
        wal_segment_name(tli, segno + i, info.wal_segment_size, b.names[i]);
    int rc = workers_run((int) depth, depth, batch_item, &b, err);
    free(b.names);
    return rc;
}
