#include "restore/restore_ranges.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

size_t
restore_items_plan(const Manifest *m, const char *last_path, RestoreItem **out, bool *last_alone)
{
    size_t n = manifest_object_count(m);
    RestoreItem *items = xcalloc(n ? n : 1, sizeof(RestoreItem));
    size_t k = 0, last = m->nfiles;
    for (size_t i = 0; i < m->nfiles; i++)
    {
        const ManifestFile *f = &m->files[i];
        if (f->skipped)   /* vanished during the backup: not stored */
            continue;
        if (last_path && last == m->nfiles && !strcmp(f->path, last_path) && f->nranges == 0)
        {
            last = i;
            continue;
        }
        if (f->nranges == 0)
            items[k++] = (RestoreItem){.file = i};
        for (size_t r = 0; r < f->nranges; r++)
            items[k++] = (RestoreItem){.file = i, .range = &f->ranges[r]};
    }
    *last_alone = last < m->nfiles;
    if (*last_alone)
        items[k++] = (RestoreItem){.file = last};
    *out = items;
    return k;
}

int
restore_item_open(const char *dest, uint32_t mode, const ManifestRange *range, Error *err)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (range ? 0 : O_EXCL);
    int fd = open(dest, flags, (mode_t) (mode & 0777));
    if (fd < 0)
    {
        error_errno(err, "cannot create %s", dest);
        return -1;
    }
    return fd;
}

int
restore_ranges_finish(const char *target_dir, const Manifest *m, Error *err)
{
    for (size_t i = 0; i < m->nfiles; i++)
    {
        const ManifestFile *f = &m->files[i];
        if (f->nranges == 0 || f->skipped)
            continue;
        char *dest = xprintf("%s/%s", target_dir, f->path);
        struct stat st;
        int rc = 0;
        uint64_t extent = manifest_ranges_extent(f);
        if (stat(dest, &st) != 0)
            rc = error_errno(err, "cannot stat %s", dest);
        else if ((uint64_t) st.st_size != extent)
            rc = error_set(err, "%s holds %" PRIu64 " bytes after its %zu ranges were written, the manifest says %" PRIu64,
                           dest, (uint64_t) st.st_size, f->nranges, extent);
        else
        {
            struct timeval tv[2] = {{(time_t) f->mtime, 0}, {(time_t) f->mtime, 0}};
            utimes(dest, tv);
        }
        free(dest);
        if (rc != 0)
            return -1;
    }
    return 0;
}
