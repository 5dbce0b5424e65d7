/* strata wal-push: archive_command. Reads the file whole (a WAL segment is
 * 16 MiB by default), checks it belongs to the node's system, and stores
 * it compressed (and encrypted in a keyed pool) under a name carrying its
 * checksum (archive/archive.h). Pushing the same content
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
#include "common/crashpoint.h"
#include "common/log.h"
#include "pool/keys.h"

static const char usage_text[] =
    "usage: strata wal-push --pool POOL --node NODE [--compress zstd|lz4|none] [--compress-level N]\n"
    "                       [--cipher aes-256-gcm|none] [--key-file FILE | --passphrase-file FILE] [--no-index] PATH\n"
    "  For archive_command = 'strata wal-push --pool POOL --node NODE %p'.\n"
    "  In a keyed pool WAL is encrypted by default and always authenticated with the pool's key.\n"
    "  --no-index: do not index the segment now (strata wal-index does it later).\n";

ArchivePushHook archive_after_push;

enum { OPT_COMPRESS = OPT_FIRST_COMMAND_OPTION, OPT_LEVEL, OPT_CIPHER, OPT_NO_INDEX };

typedef struct PushOptions
{
    Compression comp;
    int level;
    Cipher cipher;
    bool cipher_set;
    bool index;              /* index the segment after the push */
} PushOptions;

static int
push(Pool *pool, const char *node, const char *path, const PushOptions *po, Error *err)
{
    Cipher cipher;
    if (pool_write_cipher(pool, po->cipher_set, po->cipher, &cipher, err) != 0)
        return error_prefix(err, "%s: ", path);
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    if (!wal_is_archivable_name(name))
        return error_set(err, "%s is not a WAL file name (segment, .partial, .backup or .history)", path);

    Buffer content = {0};
    /* The largest WAL segment PostgreSQL makes is 1 GB. */
    if (read_file_limited(path, (size_t) 1 << 30, &content, err) != 0)
        return -1;

    int rc = 0;
    uint32_t seg_size = 0;
    if (wal_is_segment_name(name) || str_ends_with(name, ".partial"))
    {
        uint64_t sysid;
        uint32_t tli;
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

    char sha[65];
    archive_content_checksum(pool, name, content.data, content.len, sha);

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
        {
            log_info("%s is already archived in %s with the same content", name, pool->location);
            /* A push retried after a crash may have missed the index. */
            if (po->index && archive_after_push)
                archive_after_push(pool, node, name, (const uint8_t *) content.data, content.len, seg_size);
        }
        else
            rc = error_set(err,
                           "%s is already archived in pool %s node %s with DIFFERENT content (archived checksum %s, "
                           "this file %s): refusing to overwrite it",
                           name, pool->location, node, existing.sha256, sha);
        wal_object_free(&existing);
        buffer_free(&content);
        return rc;
    }

    char *dir = archive_dir_for(node, name);
    char *key = xprintf("%s/%s-%s.%s%s", dir, name, sha, compression_ext(po->comp), cipher != CIPHER_NONE ? ".enc" : "");
    DataKey wal_key;
    StorageWriter *w;
    if (cipher != CIPHER_NONE && (rc = wal_key_current(pool, node, &wal_key, err)) != 0)
        error_prefix(err, "%s: ", path);
    else if ((rc = storage_open_write(pool->storage, key, &w, err)) == 0)
    {
        Stage *out = stage_storage_new(w);
        if (cipher != CIPHER_NONE)
            out = stage_encrypt_new(wal_key.key, wal_key.id, key, out);
        Stage *head = stage_compress_new(po->comp, po->level, out);
        rc = stage_write(head, (const uint8_t *) content.data, content.len, err);
        if (rc == 0)
            rc = stage_finish(head, err);
        stage_free(head);
        crash_point("wal-push-write");
        if (rc == 0)
            rc = storage_commit(w, err);
        else
            storage_abort(w);
        crash_point("wal-push-done");
    }
    memset(&wal_key, 0, sizeof(wal_key));
    /* The segment is safe; its index is a by-product that never fails the push. */
    if (rc == 0 && po->index && archive_after_push)
        archive_after_push(pool, node, name, (const uint8_t *) content.data, content.len, seg_size);
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
        {"cipher", required_argument, NULL, OPT_CIPHER},
        {"no-index", no_argument, NULL, OPT_NO_INDEX},
        {NULL, 0, NULL, 0},
    };
    CommonOptions co;
    common_options_init(&co);
    PushOptions po = {.comp = COMPRESS_ZSTD, .index = true};
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
                if (compression_parse(optarg, &po.comp, &err) != 0)
                    return cli_usage_error("wal-push", "%s", err.msg);
                break;
            case OPT_CIPHER:
                if (cipher_parse(optarg, &po.cipher, &err) != 0)
                    return cli_usage_error("wal-push", "%s", err.msg);
                po.cipher_set = true;
                break;
            case OPT_LEVEL: level_arg = optarg; break;
            case OPT_NO_INDEX: po.index = false; break;
            default: return cli_bad_option("wal-push", argv, c);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("wal-push", "expected exactly one WAL file path (%%p)");
    Compression comp = po.comp;
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
    po.level = level;
    if (node_name_check(co.node, &err) != 0)
        return cli_usage_error("wal-push", "%s", err.msg);

    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    int rc = push(pool, co.node, argv[optind], &po, &err);
    pool_close(pool);
    if (rc != 0)
        return cli_fail(&err);
    if (co.json)
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "node", json_object_new_string(co.node));
        json_object_object_add(doc, "archived", json_object_new_string(argv[optind]));
        cli_json_result(doc);
    }
    return 0;
}
