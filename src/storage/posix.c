/* The POSIX directory pool: objects are files below a root directory.
 * Writes go to an unnamed file (O_TMPFILE) in the target's directory, are
 * fsynced, linked into place and the directory fsynced: the object is
 * either entirely there under its name, or not there, and a writer killed
 * before that leaves nothing at all. Where the file system has no
 * O_TMPFILE, a hidden named temporary beside the target takes its place
 * (listings skip it; see docs/pool-format.md for what removes leftovers). */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "storage/storage.h"

#define TMP_MARK ".strata-tmp."

typedef struct PosixStorage
{
    Storage base;
    char *root;
} PosixStorage;

typedef struct PosixReader
{
    StorageReader base;
    int fd;
    char *path;
} PosixReader;

typedef struct PosixWriter
{
    StorageWriter base;
    int fd;
    char *path;
    char *tmp;          /* the named temporary; NULL: the file is unnamed */
} PosixWriter;

static _Atomic unsigned tmp_counter;

/* Without O_TMPFILE, temporaries are staged in one directory per host,
 * <root>/.strata-tmp.staging/<host>/<pid>.strata-tmp.<n> (hidden from listings by the
 * mark), and renamed into place: a writer that was killed leaves its file
 * there, and the first write of any later process on the host removes the
 * files of processes that no longer exist. */
#define STAGING_DIR ".strata-tmp.staging"

static char *
staging_dir(PosixStorage *ps)
{
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "localhost");
    for (char *c = host; *c; c++)
        if (!isalnum((unsigned char) *c) && *c != '-' && *c != '.')
            *c = '_';
    return xprintf("%s/" STAGING_DIR "/%s", ps->root, host);
}

static void
sweep_dead_writers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
    {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (pid > 0 && *end == '.' && kill((pid_t) pid, 0) != 0 && errno == ESRCH)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static char *
staged_temporary(PosixStorage *ps, Error *err)
{
    static atomic_flag swept = ATOMIC_FLAG_INIT;
    char *dir = staging_dir(ps);
    if (mkdir_p(dir, 0750, err) != 0)
    {
        free(dir);
        return NULL;
    }
    if (!atomic_flag_test_and_set(&swept))
        sweep_dead_writers(dir);
    char *tmp = xprintf("%s/%d" TMP_MARK "%u", dir, (int) getpid(), atomic_fetch_add(&tmp_counter, 1));
    free(dir);
    return tmp;
}

static char *
full_path(PosixStorage *ps, const char *path)
{
    while (*path == '/')
        path++;
    return *path ? xprintf("%s/%s", ps->root, path) : xstrdup(ps->root);
}

static int
posix_read(StorageReader *r, void *buf, size_t cap, size_t *n, Error *err)
{
    PosixReader *pr = (PosixReader *) r;
    for (;;)
    {
        ssize_t got = read(pr->fd, buf, cap);
        if (got >= 0)
        {
            *n = (size_t) got;
            return 0;
        }
        if (errno != EINTR)
            return error_errno(err, "cannot read %s", pr->path);
    }
}

static void
posix_reader_close(StorageReader *r)
{
    PosixReader *pr = (PosixReader *) r;
    close(pr->fd);
    free(pr->path);
    free(pr);
}

static const StorageReaderOps posix_reader_ops = {posix_read, posix_reader_close};

static int
posix_open_read(Storage *s, const char *path, StorageReader **out, bool *missing, Error *err)
{
    char *fp = full_path((PosixStorage *) s, path);
    int fd = open(fp, O_RDONLY);
    *missing = false;
    if (fd < 0)
    {
        if (errno == ENOENT)
        {
            *missing = true;
            free(fp);
            return 0;
        }
        error_errno(err, "cannot open %s", fp);
        free(fp);
        return -1;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    PosixReader *pr = xcalloc(1, sizeof(*pr));
    pr->base.ops = &posix_reader_ops;
    pr->fd = fd;
    pr->path = fp;
    *out = &pr->base;
    return 0;
}

static int
posix_write(StorageWriter *w, const void *buf, size_t len, Error *err)
{
    PosixWriter *pw = (PosixWriter *) w;
    const char *p = buf;
    while (len > 0)
    {
        ssize_t n = write(pw->fd, p, len);
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            return error_errno(err, "cannot write %s", pw->tmp ? pw->tmp : pw->path);
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

static void
posix_writer_free(PosixWriter *pw)
{
    free(pw->path);
    free(pw->tmp);
    free(pw);
}

static int
sync_parent(const char *path, Error *err)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash)
    {
        *slash = '\0';
        rc = fsync_path(*dir ? dir : "/", true, err);
    }
    free(dir);
    return rc;
}

static int
posix_commit(StorageWriter *w, Error *err)
{
    PosixWriter *pw = (PosixWriter *) w;
    int rc = 0;
    const char *what = pw->tmp ? pw->tmp : pw->path;
    if (fsync(pw->fd) != 0)
        rc = error_errno(err, "cannot sync %s", what);
    if (rc == 0 && !pw->tmp)
        rc = tmpfile_publish(pw->fd, pw->path, err);
    if (close(pw->fd) != 0 && rc == 0)
        rc = error_errno(err, "cannot close %s", what);
    if (rc == 0 && pw->tmp && rename(pw->tmp, pw->path) != 0)
        rc = error_errno(err, "cannot rename %s to %s", pw->tmp, pw->path);
    if (rc == 0)
        rc = sync_parent(pw->path, err);
    if (rc != 0 && pw->tmp)
        unlink(pw->tmp);
    posix_writer_free(pw);
    return rc;
}

static void
posix_abort(StorageWriter *w)
{
    PosixWriter *pw = (PosixWriter *) w;
    close(pw->fd);
    if (pw->tmp)
        unlink(pw->tmp);
    posix_writer_free(pw);
}

static const StorageWriterOps posix_writer_ops = {posix_write, posix_commit, posix_abort};

static int
posix_open_write(Storage *s, const char *path, StorageWriter **out, Error *err)
{
    char *fp = full_path((PosixStorage *) s, path);
    char *dir = xstrdup(fp);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
    {
        *slash = '\0';
        if (mkdir_p(dir, 0750, err) != 0)
        {
            free(dir);
            free(fp);
            return -1;
        }
    }
    char *tmp = NULL;
    int fd = tmpfile_open_unnamed(slash && slash != dir ? dir : "/", 0640);
    free(dir);
    if (fd < 0)
    {
        if (!(tmp = staged_temporary((PosixStorage *) s, err)))
        {
            free(fp);
            return -1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    }
    if (fd < 0)
    {
        error_errno(err, "cannot create %s", tmp);
        free(tmp);
        free(fp);
        return -1;
    }
    PosixWriter *pw = xcalloc(1, sizeof(*pw));
    pw->base.ops = &posix_writer_ops;
    pw->fd = fd;
    pw->path = fp;
    pw->tmp = tmp;
    *out = &pw->base;
    return 0;
}

static int
posix_exists(Storage *s, const char *path, bool *exists, Error *err)
{
    char *fp = full_path((PosixStorage *) s, path);
    struct stat st;
    int rc = 0;
    if (stat(fp, &st) == 0)
        *exists = true;
    else if (errno == ENOENT || errno == ENOTDIR)
        *exists = false;
    else
        rc = error_errno(err, "cannot stat %s", fp);
    free(fp);
    return rc;
}

static int
entry_cmp(const void *a, const void *b)
{
    return strcmp(((const StorageEntry *) a)->name, ((const StorageEntry *) b)->name);
}

static int
posix_list(Storage *s, const char *dirpath, const char *prefix, StorageList *out, Error *err)
{
    char *fp = full_path((PosixStorage *) s, dirpath);
    out->entries = NULL;
    out->count = 0;
    DIR *d = opendir(fp);
    if (!d)
    {
        int rc = (errno == ENOENT) ? 0 : error_errno(err, "cannot list %s", fp);
        free(fp);
        return rc;
    }
    size_t cap = 0, plen = prefix ? strlen(prefix) : 0;
    struct dirent *e;
    /* An archive directory holds thousands of segments and wal-push looks
     * one up on every call: names are filtered before any stat, and the
     * stat is relative to the open directory. */
    while ((e = readdir(d)) != NULL)
    {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || strstr(e->d_name, TMP_MARK))
            continue;
        if (plen && strncmp(e->d_name, prefix, plen) != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;   /* removed while listing */
        if (out->count == cap)
        {
            cap = cap ? cap * 2 : 64;
            out->entries = xrealloc(out->entries, cap * sizeof(StorageEntry));
        }
        out->entries[out->count].name = xstrdup(e->d_name);
        out->entries[out->count].is_dir = S_ISDIR(st.st_mode);
        out->entries[out->count].size = (uint64_t) st.st_size;
        out->count++;
    }
    closedir(d);
    free(fp);
    if (out->count)
        qsort(out->entries, out->count, sizeof(StorageEntry), entry_cmp);
    return 0;
}

static int
posix_remove(Storage *s, const char *path, Error *err)
{
    char *fp = full_path((PosixStorage *) s, path);
    int rc = 0;
    if (unlink(fp) != 0)
    {
        if (errno != ENOENT)
            rc = error_errno(err, "cannot remove %s", fp);
    }
    else
        /* Durable before the caller goes on: expire removes a manifest and
         * then the objects it names; after a power loss the manifest must
         * not come back over objects that are gone. */
        rc = sync_parent(fp, err);
    free(fp);
    return rc;
}

static int
posix_remove_tree(Storage *s, const char *dirpath, Error *err)
{
    char *fp = full_path((PosixStorage *) s, dirpath);
    int rc = remove_tree_contents(fp, err);
    if (rc == 0 && rmdir(fp) != 0 && errno != ENOENT)
        rc = error_errno(err, "cannot remove directory %s", fp);
    free(fp);
    return rc;
}

/* Temporary files of writers killed before commit or abort (kill -9 of a
 * backup or wal-push): nothing lists them, so they are found by their mark. */
static int
remove_stale_below(const char *dir, time_t before, size_t *removed, Error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : error_errno(err, "cannot list %s", dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
    {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;   /* removed meanwhile */
        char *path = xprintf("%s/%s", dir, e->d_name);
        if (S_ISDIR(st.st_mode))
            rc = remove_stale_below(path, before, removed, err);
        else if (S_ISREG(st.st_mode) && strstr(e->d_name, TMP_MARK) && st.st_mtime < before)
        {
            if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                (*removed)++;
            else if (errno != ENOENT)
                rc = error_errno(err, "cannot remove %s", path);
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int
posix_remove_stale_writes(Storage *s, const char *dirpath, int64_t min_age, size_t *removed, Error *err)
{
    char *fp = full_path((PosixStorage *) s, dirpath);
    int rc = remove_stale_below(fp, time(NULL) - (time_t) min_age, removed, err);
    free(fp);
    return rc;
}

static void
posix_close(Storage *s)
{
    PosixStorage *ps = (PosixStorage *) s;
    free(ps->root);
    free(ps->base.location);
    free(ps);
}

static const StorageDriver posix_driver = {
    .name = "posix",
    .open_read = posix_open_read,
    .open_write = posix_open_write,
    .exists = posix_exists,
    .list = posix_list,
    .remove = posix_remove,
    .remove_tree = posix_remove_tree,
    .remove_stale_writes = posix_remove_stale_writes,
    .close = posix_close,
};

Storage *
storage_posix_new(const char *root)
{
    PosixStorage *ps = xcalloc(1, sizeof(*ps));
    ps->base.driver = &posix_driver;
    ps->base.location = xstrdup(root);
    ps->root = xstrdup(root);
    size_t n = strlen(ps->root);
    while (n > 1 && ps->root[n - 1] == '/')
        ps->root[--n] = '\0';
    return &ps->base;
}
