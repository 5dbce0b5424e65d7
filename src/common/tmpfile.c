#include "common/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"

int
tmpfile_open_unnamed(const char *dir, mode_t mode)
{
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

static _Atomic unsigned publish_counter;

int
tmpfile_publish(int fd, const char *path, Error *err)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST)
        return error_errno(err, "cannot link the new file as %s", path);
    char *tmp = xprintf("%s.strata-tmp.%d.p%u", path, (int) getpid(), atomic_fetch_add(&publish_counter, 1));
    int rc = 0;
    if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
        rc = error_errno(err, "cannot link the new file as %s", tmp);
    else if (rename(tmp, path) != 0)
    {
        rc = error_errno(err, "cannot rename %s to %s", tmp, path);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
