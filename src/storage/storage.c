#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

int
storage_open(const char *location, Storage **out, Error *err)
{
    if (!location || !*location)
        return error_set(err, "no pool given (use --pool or STRATA_POOL)");
    if (str_starts_with(location, "file://"))
    {
        *out = storage_posix_new(location + strlen("file://"));
        return 0;
    }
    if (str_starts_with(location, "s3://"))
        return storage_s3_open(location, out, err);
    if (strstr(location, "://"))
        return error_set(err, "pool %s: storage type not supported by this build (supported: a directory, file://, s3://)",
                         location);
    *out = storage_posix_new(location);
    return 0;
}

bool
storage_location_is_remote(const char *location)
{
    return location && strstr(location, "://") && !str_starts_with(location, "file://");
}

void
storage_close(Storage *s)
{
    if (s)
        s->driver->close(s);
}

void
storage_list_free(StorageList *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->entries[i].name);
    free(l->entries);
    l->entries = NULL;
    l->count = 0;
}

int
storage_put(Storage *s, const char *path, const void *data, size_t len, Error *err)
{
    StorageWriter *w;
    if (storage_open_write(s, path, &w, err) != 0)
        return -1;
    if (storage_write(w, data, len, err) != 0)
    {
        storage_abort(w);
        return -1;
    }
    return storage_commit(w, err);
}

int
storage_get_limited(Storage *s, const char *path, size_t max, Buffer *out, bool *missing, Error *err)
{
    StorageReader *r;
    if (storage_open_read(s, path, &r, missing, err) != 0)
        return -1;
    if (*missing)
        return 0;
    char buf[65536];
    size_t n;
    int rc;
    while ((rc = storage_read(r, buf, sizeof(buf), &n, err)) == 0 && n > 0)
    {
        if (out->len + n > max)
        {
            rc = error_set(err, "%s in %s is larger than %zu bytes: refusing to read it", path, s->location, max);
            buffer_free(out);
            break;
        }
        buffer_append(out, buf, n);
    }
    storage_reader_close(r);
    if (rc == 0 && !out->data)
        buffer_append(out, "", 0);
    return rc;
}

int
storage_get(Storage *s, const char *path, Buffer *out, bool *missing, Error *err)
{
    return storage_get_limited(s, path, STORAGE_GET_MAX, out, missing, err);
}
