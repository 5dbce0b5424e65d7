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
#include "archive/wal_continuity.h"
#include "archive/wal_prefetch.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/tmpfile.h"

#define EXIT_NOT_FOUND 1
#define EXIT_FATAL 126

static const char usage_text[] =
    "usage: strata wal-get --pool POOL --node NODE [--prefetch N] WALNAME DEST\n"
    "  For restore_command = 'strata wal-get --pool POOL --node NODE %f %p'.\n"
    "  --prefetch N  when going to the pool for a segment, fetch it and the next N-1\n"
    "                in parallel into pg_wal/strata-prefetch/ (0 or 1: off; at most 64)\n"
    "  Exit 0: written; 1: not archived; 126: pool unreadable or file corrupt.\n";

enum
{
    OPT_PREFETCH = OPT_FIRST_COMMAND_OPTION
};

/* Into an unnamed file beside `dest`, linked as `dest` once whole: a
 * wal-get killed mid-way (recovery is stopped) leaves nothing in pg_wal.
 * A named temporary only where the file system lacks O_TMPFILE. */
static int
fetch_to(Pool *pool, const WalObject *o, const char *dest, Error *err)
{
    char *dir = xstrdup(dest), *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int fd = tmpfile_open_unnamed(slash ? (*dir ? dir : "/") : ".", 0600);
    free(dir);
    char *tmp = NULL;
    if (fd < 0)
    {
        tmp = xprintf("%s.strata-tmp.%d", dest, (int) getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (fd < 0)
    {
        error_errno(err, "cannot create %s", tmp);
        free(tmp);
        return -1;
    }
    Stage *sink = stage_fd_new(fd, tmp ? tmp : dest);
    int rc = archive_fetch(pool, o, sink, err);
    stage_free(sink);
    if (rc == 0 && !tmp)
        rc = tmpfile_publish(fd, dest, err);
    if (close(fd) != 0 && rc == 0)
        rc = error_errno(err, "cannot write %s", tmp ? tmp : dest);
    if (rc == 0 && tmp && rename(tmp, dest) != 0)
        rc = error_errno(err, "cannot rename %s to %s", tmp, dest);
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* `name` is not archived: is that the end of WAL, or a hole that
 * recovery must not take for the end? Decided by the one continuity rule
 * (archive/wal_continuity.h) over the listing of `name`'s timeline and the
 * later ones; a listing that fails is no proof of an end either. */
static bool
missing_is_hole(Pool *pool, const char *node, const char *name, char *why, size_t whylen)
{
    WalObject want;
    Error err;
    if (!wal_object_classify(name, 0, &want))
        return false;
    WalList wl;
    if (archive_list_from(pool, node, 0, want.tli, &wl, &err) != 0)
    {
        snprintf(why, whylen, "cannot tell whether later WAL exists: %s", err.msg);
        return true;
    }
    bool hole = wal_missing_is_hole(&wl, name, why, whylen);
    wal_list_free(&wl);
    return hole;
}

static int
fetched(const CommonOptions *co, const char *name, const char *dest)
{
    if (co->json)
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "node", json_object_new_string(co->node));
        json_object_object_add(doc, "wal", json_object_new_string(name));
        json_object_object_add(doc, "written", json_object_new_string(dest));
        cli_json_result(doc);
    }
    return 0;
}

int
cmd_wal_get(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_LONG_OPTIONS, {"prefetch", required_argument, NULL, OPT_PREFETCH},
                                         {NULL, 0, NULL, 0}};
    CommonOptions co;
    common_options_init(&co);
    Error err;
    int c, code;
    long prefetch = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        if (c == OPT_PREFETCH)
        {
            if (parse_int_range(optarg, 0, WAL_PREFETCH_MAX, &prefetch, &err) != 0)
                return cli_usage_error("wal-get", "--prefetch: %s", err.msg);
            continue;
        }
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

    if (prefetch > 1)
    {
        bool taken;
        if (wal_prefetch_take(dest, name, &taken, &err) != 0)
            log_warn("%s; fetching %s from the pool", err.msg, name);
        else if (taken)
            return fetched(&co, name, dest);
    }
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
    {
        log_error("%s", err.msg);
        return EXIT_FATAL;
    }
    WalObject o;
    bool found;
    char why[ERROR_MSG_MAX + 256];
    int rc = EXIT_FATAL;
    if (archive_find(pool, co.node, name, &o, &found, &err) != 0)
        log_error("%s", err.msg);
    else if (!found && missing_is_hole(pool, co.node, name, why, sizeof(why)))
        log_error("WAL file %s is missing from pool %s node %s, but %s: the archive has a hole; stopping recovery "
                  "here would silently lose every transaction after it",
                  name, pool->location, co.node, why);
    else if (!found)
    {
        rc = EXIT_NOT_FOUND;
        if (prefetch > 1)
            wal_prefetch_drop(dest);
        if (co.json)
        {
            json_object *doc = json_object_new_object();
            json_object_object_add(doc, "node", json_object_new_string(co.node));
            json_object_object_add(doc, "wal", json_object_new_string(name));
            json_object_object_add(doc, "found", json_object_new_boolean(0));
            char *msg = xprintf("%s is not in pool %s node %s", name, pool->location, co.node);
            json_object_object_add(doc, "error", json_object_new_string(msg));
            free(msg);
            cli_json_result(doc);
        }
    }
    else
    {
        int frc = prefetch > 1 ? wal_prefetch_batch(pool, co.node, &o, dest, (unsigned) prefetch, fetch_to, &err)
                               : fetch_to(pool, &o, dest, &err);
        if (frc != 0)
            log_error("%s", err.msg);
        else
            rc = fetched(&co, name, dest);
        wal_object_free(&o);
    }
    pool_close(pool);
    return rc;
}
