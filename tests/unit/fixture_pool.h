/* Test pools built through the pool's own calls: a fresh pool in a
 * temporary directory and node backups with sealed manifests (no data
 * files: what retention, listing and manifest parsing look at). */
#ifndef STRATA_FIXTURE_POOL_H
#define STRATA_FIXTURE_POOL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/stage.h"
#include "pool/manifest.h"
#include "pool/pool.h"

/* A new empty pool under /tmp; *root is its directory (caller frees). */
static inline Pool *
fixture_pool_new(char **root)
{
    char tmpl[] = "/tmp/strata-unit-pool-XXXXXX";
    if (!mkdtemp(tmpl))
        return NULL;
    *root = xprintf("%s/pool", tmpl);
    Error err;
    Pool *p;
    if (pool_init(*root, &err) != 0 || pool_open(*root, &p, &err) != 0)
    {
        fprintf(stderr, "fixture pool %s: %s\n", *root, err.msg);
        return NULL;
    }
    return p;
}

/* Writes the manifest of a full backup `id` of `node`, started at `start`,
 * with one data file `file` holding len bytes of data, stored uncompressed
 * (file NULL: none). */
static inline int
fixture_backup_file(Pool *p, const char *node, const char *id, int64_t start, const char *file, const void *data,
                    size_t len, Error *err);

static inline int
fixture_backup(Pool *p, const char *node, const char *id, int64_t start, Error *err)
{
    return fixture_backup_file(p, node, id, start, NULL, NULL, 0, err);
}

static inline int
fixture_backup_file(Pool *p, const char *node, const char *id, int64_t start, const char *file, const void *data,
                    size_t len, Error *err)
{
    NodeInfo ni = {.system_identifier = 7300000000000000001ULL, .pg_version_num = 150000,
                   .wal_segment_size = 16 * 1024 * 1024};
    if (node_info_ensure(p, node, &ni, err) != 0)
        return -1;
    Manifest m;
    memset(&m, 0, sizeof(m));
    m.id = (char *) id;
    m.node = (char *) node;
    m.type = (char *) "full";
    m.label = (char *) "unit";
    m.pg_version_num = 150000;
    m.system_identifier = ni.system_identifier;
    m.timeline = 1;
    m.start_lsn = 0x1000028;
    m.stop_lsn = 0x1000100;
    m.start_time = start;
    m.stop_time = start + 5;
    m.wal_segment_size = ni.wal_segment_size;
    ManifestFile f = {.path = (char *) file, .size = len, .mode = 0600, .mtime = start, .stored_size = len};
    if (file)
    {
        m.files = &f;
        m.nfiles = 1;
        m.size = m.stored_size = len;
        Stage *hash = stage_hash_new(stage_discard_new());
        uint64_t bytes;
        if (stage_write(hash, data, len, err) != 0 || stage_finish(hash, err) != 0)
        {
            stage_free(hash);
            return -1;
        }
        stage_hash_result(hash, f.sha256, &bytes);
        stage_free(hash);
        char *key = manifest_object_path(&m, &f);
        int rc = storage_put(p->storage, key, data, len, err);
        free(key);
        if (rc != 0)
            return -1;
    }
    return manifest_save(p, &m, err);
}

/* rm -rf of the fixture's directory (the parent of root). */
static inline void
fixture_pool_remove(Pool *p, char *root)
{
    pool_close(p);
    char *slash = strrchr(root, '/');
    if (slash)
        *slash = '\0';
    char *cmd = xprintf("rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    free(cmd);
    free(root);
}

#endif
