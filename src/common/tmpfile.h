/* Files that have no name until they are complete: O_TMPFILE. A process
 * killed while writing one (SIGKILL, a crash, a power loss) leaves nothing
 * behind, where a named temporary would stay until someone removed it. */
#ifndef STRATA_TMPFILE_H
#define STRATA_TMPFILE_H

#include <sys/types.h>

#include "common/error.h"

/* An unnamed file in directory `dir`, open for writing; -1 with errno set
 * when the file system cannot (the caller falls back to a named one). */
int tmpfile_open_unnamed(const char *dir, mode_t mode);
/* Gives the written (and synced) unnamed file `fd` the name `path`,
 * replacing what is there as rename(2) would. A new name is linked at
 * once; replacing an existing one goes through a named temporary beside it
 * for the instant between link and rename. */
int tmpfile_publish(int fd, const char *path, Error *err);

#endif
