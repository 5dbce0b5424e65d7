/* strata wal-push: archive_command. Reads the file whole (a WAL segment is
 * 16 MiB by default), checks it belongs to the node's system, and stores
 * it compressed under a name carrying its SHA-256. Pushing the same content
 * again succeeds (PostgreSQL retries after a crash); different content for
 * a name already archived is refused loudly: it means two clusters share a
 * node or the archive was tampered with. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive.h"
#include "cli/cli.h"
#include "common/log.h"

static const char usage_text[] =
    "usage: strata wal-push --pool POOL --node NODE [--compress zstd|lz4|none] [--compress-level N] PATH\n"
    "  For archive_command = 'strata wal-push --pool POOL --node NODE %p'.\n";

enum { OPT_COMPRESS = OPT_FIRST_COMMAND_OPTION, OPT_LEVEL };

static int
push(Pool *pool, const char *node, const char *path, Compression comp, int level, Error *err)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    if (!wal_is_archivable_name(name))
        return error_set(err, "%s is not a WAL file name (segment, .partial, .backup or .history)", path);

    Buffer content = {0};
    if (read_small_file(path, &content, err) != 0)
        return -1;

    int rc = 0;
    if (wal_is_segment_name(name) || str_ends_with(name, ".partial"))
    {
        uint64_t sysid;
        uint32_t seg_size, tli;
        if (wal_read_long_header((const uint8_t *) content.data, content.len, &sysid, &seg_size, &tli, err) != 0)
        {
            buffer_free(&content);
            return error_prefix(err, "%s: ", path);
        }
        if (wal_is_segment_name(name) && content.len != seg_size)
        {
            buffer_free(&content);
            return error_set(err, "%s: %zu bytes, but its header says segments are %u bytes", path, content.len,
                             seg_size);
        }
        NodeInfo info = {.system_identifier = sysid, .wal_segment_size = seg_size};
        if (node_info_ensure(pool, node, &info, err) != 0)
        {
            buffer_free(&content);
            return error_prefix(err, "%s: ", path);
        }
    }

    unsigned char md[32];
    unsigned int mdlen;
    char sha[65];
    EVP_Digest(content.data, content.len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, sha);

    WalObject existing;
    bool found;
    if (archive_find(pool, node, name, &existing, &found, err) != 0)
    {
        buffer_free(&content);
        return -1;
    }
    if (found)
    {
        if (strcmp(existing.sha256, sha) == 0)
            log_info("%s is already archived in %s with the same content", name, pool->location);
        else
            rc = error_set(err,
                           "%s is already archived in pool %s node %s with DIFFERENT content (archived SHA-256 %s, "
                           "this file %s): refusing to overwrite it",
                           name, pool->location, node, existing.sha256, sha);
        wal_object_free(&existing);
        buffer_free(&content);
        return rc;
    }

    char *dir = archive_dir_for(node, name);
    char *key = xprintf("%s/%s-%s.%s", dir, name, sha, compression_ext(comp));
    StorageWriter *w;
    if ((rc = storage_open_write(pool->storage, key, &w, err)) == 0)
    {
        Stage *head = stage_compress_new(comp, level, stage_storage_new(w));
        rc = stage_write(head, (const uint8_t *) content.data, content.len, err);
        if (rc == 0)
            rc = stage_finish(head, err);
        stage_free(head);
        if (rc == 0)
            rc = storage_commit(w, err);
        else
            storage_abort(w);
    }
    free(dir);
    free(key);
    buffer_free(&content);
    return rc;
}

int
cmd_wal_push(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"compress", required_argument, NULL, OPT_COMPRESS},
        {"compress-level", required_argument, NULL, OPT_LEVEL},
        {NULL, 0, NULL, 0},
    };
    CommonOptions co;
    common_options_init(&co);
    Compression comp = COMPRESS_ZSTD;
    const char *level_arg = NULL;
    Error err;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "wal-push", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_COMPRESS:
                if (compression_parse(optarg, &comp, &err) != 0)
                    return cli_usage_error("wal-push", "%s", err.msg);
                break;
            case OPT_LEVEL: level_arg = optarg; break;
            default: return cli_bad_option("wal-push", argv, c);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("wal-push", "expected exactly one WAL file path (%%p)");
    int level = compression_default_level(comp);
    if (level_arg)
    {
        long v;
        if (parse_int_range(level_arg, 0, 22, &v, &err) != 0)
            return cli_usage_error("wal-push", "--compress-level: %s", err.msg);
        level = (int) v;
    }
    if (comp != COMPRESS_NONE && compression_check_level(comp, level, &err) != 0)
        return cli_usage_error("wal-push", "%s", err.msg);
    if (node_name_check(co.node, &err) != 0)
        return cli_usage_error("wal-push", "%s", err.msg);

    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    int rc = push(pool, co.node, argv[optind], comp, level, &err);
    pool_close(pool);
    if (rc != 0)
        return cli_fail(&err);
    return 0;
}
