#include "backup/filelist.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Directories kept, their contents not: runtime state rebuilt at start-up
 * (and pg_wal, which comes from the archive). */
static const char *const contents_skipped[] = {
    "pg_wal", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_replslot",
    NULL,
};

/* Files at the top of the data directory that a backup never copies.
 * backup_label and tablespace_map come from pg_backup_stop instead. */
static const char *const top_files_skipped[] = {
    "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_manifest",
    "postgresql.auto.conf.tmp", "current_logfiles.tmp", "backup_label.old", NULL,
};

static bool
in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(name, *list))
            return true;
    return false;
}

/* t<digits>_<digits>[...]: a temporary relation of some backend. */
static bool
is_temp_relation(const char *name)
{
    if (name[0] != 't' || !isdigit((unsigned char) name[1]))
        return false;
    const char *p = name + 1;
    while (isdigit((unsigned char) *p))
        p++;
    return *p == '_' && isdigit((unsigned char) p[1]);
}

typedef struct Scan
{
    const char *pgdata;
    FileList *out;
    size_t fcap, dcap;
    Error *err;
} Scan;

static void
add_dir(Scan *s, const char *rel, mode_t mode)
{
    FileList *l = s->out;
    if (l->ndirs == s->dcap)
    {
        s->dcap = s->dcap ? s->dcap * 2 : 64;
        l->dirs = xrealloc(l->dirs, s->dcap * sizeof(ManifestDir));
    }
    l->dirs[l->ndirs].path = xstrdup(rel);
    l->dirs[l->ndirs].mode = mode & 07777;
    l->ndirs++;
}

static void
add_file(Scan *s, const char *rel, const struct stat *st)
{
    FileList *l = s->out;
    if (l->nfiles == s->fcap)
    {
        s->fcap = s->fcap ? s->fcap * 2 : 1024;
        l->files = xrealloc(l->files, s->fcap * sizeof(ManifestFile));
    }
    ManifestFile *f = &l->files[l->nfiles++];
    memset(f, 0, sizeof(*f));
    f->path = xstrdup(rel);
    f->size = (uint64_t) st->st_size;
    f->mode = st->st_mode & 07777;
    f->mtime = st->st_mtime;
    l->total += f->size;
}

/* Relation numbers in a database directory that have an init fork: the
 * relation is unlogged and only the init fork is backed up. */
static bool
is_unlogged_fork(const char *dirpath, const char *name)
{
    if (!isdigit((unsigned char) name[0]) || str_ends_with(name, "_init"))
        return false;
    size_t n = strspn(name, "0123456789");
    char *init = xprintf("%s/%.*s_init", dirpath, (int) n, name);
    struct stat st;
    bool unlogged = stat(init, &st) == 0;
    free(init);
    return unlogged;
}

static int
scan_dir(Scan *s, const char *rel, int depth)
{
    char *abs = *rel ? xprintf("%s/%s", s->pgdata, rel) : xstrdup(s->pgdata);
    DIR *d = opendir(abs);
    if (!d)
    {
        int rc = error_errno(s->err, "cannot read directory %s", abs);
        free(abs);
        return rc;
    }
    bool db_dir = str_starts_with(rel, "base/") && depth == 2;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL)
    {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        if (depth == 1 && in_list(name, top_files_skipped))
            continue;
        if (str_starts_with(name, "pg_internal.init") || str_starts_with(name, "pgsql_tmp") ||
            strstr(name, ".strata-tmp."))
            continue;
        if (db_dir && (is_temp_relation(name) || is_unlogged_fork(abs, name)))
            continue;
        char *child_rel = *rel ? xprintf("%s/%s", rel, name) : xstrdup(name);
        char *child_abs = xprintf("%s/%s", abs, name);
        struct stat st;
        if (lstat(child_abs, &st) != 0)
        {
            if (errno != ENOENT)   /* vanished: dropped while we looked */
                rc = error_errno(s->err, "cannot stat %s", child_abs);
        }
        else if (S_ISLNK(st.st_mode))
        {
            if (!strcmp(child_rel, "pg_wal") && stat(child_abs, &st) == 0 && S_ISDIR(st.st_mode))
            {
                add_dir(s, child_rel, st.st_mode);   /* WAL elsewhere: restored as a plain directory */
                add_dir(s, "pg_wal/archive_status", 0700);
            }
            else if (str_starts_with(child_rel, "pg_tblspc/"))
                rc = error_set(s->err,
                               "%s is a tablespace: tablespaces are not supported by this version of strata "
                               "(move its tables to pg_default, or back up with another tool)",
                               child_abs);
            else
                rc = error_set(s->err, "%s is a symbolic link: only pg_wal may be one", child_abs);
        }
        else if (S_ISDIR(st.st_mode))
        {
            add_dir(s, child_rel, st.st_mode);
            if (depth == 1 && in_list(name, contents_skipped))
            {
                if (!strcmp(name, "pg_wal"))
                    add_dir(s, "pg_wal/archive_status", 0700);
            }
            else
                rc = scan_dir(s, child_rel, depth + 1);
        }
        else if (S_ISREG(st.st_mode))
            add_file(s, child_rel, &st);
        free(child_rel);
        free(child_abs);
    }
    closedir(d);
    free(abs);
    return rc;
}

int
filelist_scan(const char *pgdata, FileList *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    Scan s = {.pgdata = pgdata, .out = out, .err = err};
    int rc = scan_dir(&s, "", 1);
    if (rc != 0)
        filelist_free(out);
    return rc;
}

static int
size_desc(const void *a, const void *b)
{
    const ManifestFile *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->path, y->path);
}

void
filelist_sort_by_size(FileList *l)
{
    if (l->nfiles)
        qsort(l->files, l->nfiles, sizeof(ManifestFile), size_desc);
}

void
filelist_free(FileList *l)
{
    for (size_t i = 0; i < l->nfiles; i++)
        free(l->files[i].path);
    free(l->files);
    for (size_t i = 0; i < l->ndirs; i++)
        free(l->dirs[i].path);
    free(l->dirs);
    memset(l, 0, sizeof(*l));
}
