/* strata wal-get: restore_command. Exit 1 means "not archived" and lets
 * PostgreSQL end recovery there; anything we cannot vouch for (pool
 * unreadable, object corrupt) exits 126, which PostgreSQL treats as fatal
 * rather than as the end of WAL: silently promoting short of the target on
 * a damaged archive would be the worst outcome. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "common/log.h"

#define EXIT_NOT_FOUND 1
#define EXIT_FATAL 126

static const char usage_text[] =
    "usage: strata wal-get --pool POOL --node NODE WALNAME DEST\n"
    "  For restore_command = 'strata wal-get --pool POOL --node NODE %f %p'.\n"
    "  Exit 0: written; 1: not archived; 126: pool unreadable or file corrupt.\n";

static int
fetch_to(Pool *pool, const WalObject *o, const char *dest, Error *err)
{
    char *tmp = xprintf("%s.strata-tmp.%d", dest, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        error_errno(err, "cannot create %s", tmp);
        free(tmp);
        return -1;
    }
    Stage *sink = stage_fd_new(fd, tmp);
    int rc = archive_fetch(pool, o, sink, err);
    stage_free(sink);
    if (close(fd) != 0 && rc == 0)
        rc = error_errno(err, "cannot write %s", tmp);
    if (rc == 0 && rename(tmp, dest) != 0)
        rc = error_errno(err, "cannot rename %s to %s", tmp, dest);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Is there a segment after `name` on its timeline? Then `name` missing is
 * a hole in the archive, not the end of WAL. Looks in the segment's own
 * directory, then for a later log directory of the same timeline: two
 * listings, not the whole archive, on every call. */
static bool
later_segment_exists(Pool *pool, const char *node, const char *name, Error *err)
{
    char *dir = archive_dir_for(node, name);
    StorageList l;
    bool later = false;
    if (storage_list(pool->storage, dir, &l, err) == 0)
    {
        for (size_t i = 0; i < l.count && !later; i++)
            later = strlen(l.entries[i].name) > WAL_NAME_LEN && l.entries[i].name[WAL_NAME_LEN] == '-' &&
                    strncmp(l.entries[i].name, name, 8) == 0 && strncmp(l.entries[i].name, name, WAL_NAME_LEN) > 0;
        storage_list_free(&l);
    }
    free(dir);
    if (later)
        return true;
    char *root = pool_wal_dir(node);
    if (storage_list(pool->storage, root, &l, err) == 0)
    {
        for (size_t i = 0; i < l.count && !later; i++)
            later = l.entries[i].is_dir && strlen(l.entries[i].name) == 16 &&
                    strncmp(l.entries[i].name, name, 8) == 0 && strncmp(l.entries[i].name, name, 16) > 0;
        storage_list_free(&l);
    }
    free(root);
    return later;
}

int
cmd_wal_get(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    CommonOptions co;
    common_options_init(&co);
    Error err;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "wal-get", usage_text, &code);
        if (h < 0)
            return code;
        if (!h)
            return cli_bad_option("wal-get", argv, c);
    }
    if (optind != argc - 2)
        return cli_usage_error("wal-get", "expected WALNAME (%%f) and DEST (%%p)");
    const char *name = argv[optind], *dest = argv[optind + 1];
    if (node_name_check(co.node, &err) != 0)
        return cli_usage_error("wal-get", "%s", err.msg);
    if (!wal_is_archivable_name(name))
        return cli_usage_error("wal-get", "'%s' is not a WAL file name", name);

    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
    {
        log_error("%s", err.msg);
        return EXIT_FATAL;
    }
    WalObject o;
    bool found;
    int rc = EXIT_FATAL;
    if (archive_find(pool, co.node, name, &o, &found, &err) != 0)
        log_error("%s", err.msg);
    else if (!found && wal_is_segment_name(name) && later_segment_exists(pool, co.node, name, &err))
        log_error("WAL segment %s is missing from pool %s node %s but later segments exist: the archive has a gap; "
                  "stopping recovery here would silently lose every transaction after it",
                  name, pool->location, co.node);
    else if (!found)
        rc = EXIT_NOT_FOUND;
    else
    {
        if (fetch_to(pool, &o, dest, &err) != 0)
            log_error("%s", err.msg);
        else
            rc = 0;
        wal_object_free(&o);
    }
    pool_close(pool);
    return rc;
}
