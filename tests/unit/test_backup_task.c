/* The node manager's backup task goes through the backup request's codec:
 * one node's options, as the cluster manager sends them
 * (nodemgr_backup_task_params), read back by the node manager
 * (task_backup_request) are the same options; what a task must not carry
 * is refused with the member named. No servers. */
#include <string.h>

#include "backup/backup.h"
#include "nodemgr/nodemgr.h"
#include "nodemgr/task_kinds.h"
#include "unit.h"

static BackupOptions
sample_options(void)
{
    BackupOptions o;
    backup_options_defaults(&o);
    o.co.node = "c1/shard2";
    o.pgdata = "/srv/pg/shard2-2";
    o.pg_conn = "host=10.0.0.2 port=5433 dbname=postgres";
    o.primary_conn = "host=10.0.0.1 port=5432 dbname=postgres";
    o.jobs = 3;
    o.nice = 7;
    o.compression = COMPRESS_LZ4;
    o.level = 1;
    o.chunk_size = 64ull << 20;
    o.max_rate = 5000000;
    o.archive_timeout = 90;
    o.label = "nightly";
    o.cipher = CIPHER_AES_256_GCM;
    o.cipher_set = true;
    o.cluster_backup = "20261202-101500C";
    return o;
}

/* A task's parameters with one member set (or removed with NULL). */
static json_object *
params_with(const char *key, json_object *value)
{
    BackupOptions o = sample_options();
    Error err;
    json_object *p = nodemgr_backup_task_params(&o, &err);
    if (value)
        json_object_object_add(p, key, value);
    else
        json_object_object_del(p, key);
    return p;
}

static void
refused(const char *what, json_object *p, const char *needle)
{
    BackupRequest r;
    Error err = {0};
    int rc = task_backup_request(p, &r, &err);
    CHECK(rc != 0, what);
    CHECK(rc != 0 && strstr(err.msg, needle) != NULL, "... the error names it");
    if (rc != 0 && !strstr(err.msg, needle))
        fprintf(stderr, "#   got: %s (wanted '%s')\n", err.msg, needle);
    json_object_put(p);
}

int
main(void)
{
    BackupOptions o = sample_options();
    Error err;
    json_object *p = nodemgr_backup_task_params(&o, &err);
    CHECK(p != NULL, "the options of one node make a task");
    const char *kind = json_object_get_string(json_object_object_get(p, "kind"));
    CHECK(kind && !strcmp(kind, "backup"), "... of kind backup");
    CHECK(!json_object_object_get_ex(p, "node", NULL), "... naming the node pool_node, not node");
    BackupRequest r;
    CHECK(task_backup_request(p, &r, &err) == 0, "the node manager reads the task back through the codec");
    BackupOptions back;
    backup_options_defaults(&back);
    backup_options_from_request(&back, &r);
    CHECK(!strcmp(r.node, o.co.node), "... the same node");
    CHECK(!strcmp(back.pgdata, o.pgdata) && !strcmp(back.pg_conn, o.pg_conn) &&
              !strcmp(back.primary_conn, o.primary_conn), "... the same instance and primary");
    CHECK(back.jobs == o.jobs && back.nice == o.nice, "... the same jobs and nice");
    CHECK(back.compression == o.compression && back.level == o.level, "... the same compression and level");
    CHECK(back.chunk_size == o.chunk_size && back.max_rate == o.max_rate, "... the same chunk size and rate");
    CHECK(back.archive_timeout == o.archive_timeout && !strcmp(back.label, o.label), "... the same timeout, label");
    CHECK(back.cipher_set && back.cipher == o.cipher, "... the same cipher");
    const char *cb = json_object_get_string(json_object_object_get(p, "cluster_backup"));
    CHECK(cb && !strcmp(cb, o.cluster_backup), "... and the cluster backup it belongs to");
    backup_request_free(&r);
    json_object_put(p);

    BackupOptions plain;
    backup_options_defaults(&plain);
    plain.co.node = "c1/meta";
    plain.pgdata = "/srv/pg/meta-2";
    plain.pg_conn = "port=5432";
    p = nodemgr_backup_task_params(&plain, &err);
    CHECK(p && !json_object_object_get_ex(p, "cipher", NULL) && !json_object_object_get_ex(p, "max_rate", NULL),
          "defaults: no cipher (the pool's) and no rate cap are sent");
    CHECK(p && task_backup_request(p, &r, &err) == 0 && !r.cipher_set && r.max_rate == 0, "... and none read back");
    if (p)
        backup_request_free(&r);
    json_object_put(p);

    BackupOptions bad = sample_options();
    bad.jobs = 0;
    CHECK(nodemgr_backup_task_params(&bad, &err) == NULL && strstr(err.msg, "jobs"),
          "options the request's rules refuse are not sent (jobs 0)");

    refused("a task without pool_node", params_with("pool_node", NULL), "pool_node");
    refused("a cluster in a task", params_with("cluster", json_object_new_string("c1")), "cluster");
    refused("a retention in a task", params_with("keep", json_object_new_int(2)), "retention");
    refused("an unknown member", params_with("compresion", json_object_new_string("lz4")), "compresion");
    refused("a bad compression", params_with("compress", json_object_new_string("gzip")), "gzip");
    refused("a shard without a cluster", params_with("shard", json_object_new_string("shard1")), "shard");
    refused("a relative-looking node", params_with("pool_node", json_object_new_string("../x")), "node");
    UNIT_DONE();
}
