/* What a backup copies from a data directory: everything PostgreSQL's own
 * base backup copies, and nothing it skips (WAL, runtime state, temporary
 * files, unlogged relations but their init forks). */
#ifndef STRATA_FILELIST_H
#define STRATA_FILELIST_H

#include "pool/manifest.h"

typedef struct FileList
{
    ManifestFile *files;
    size_t nfiles;
    ManifestDir *dirs;
    size_t ndirs;
    uint64_t total;          /* bytes at scan time */
} FileList;

int filelist_scan(const char *pgdata, FileList *out, Error *err);
/* Largest first, so parallel workers do not end on one long file. */
void filelist_sort_by_size(FileList *l);
void filelist_free(FileList *l);

#endif
