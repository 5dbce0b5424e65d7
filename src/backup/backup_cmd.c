/* `strata backup` run here (cmd_backup_local): its options, the result
 * printed, Ctrl-C turned into a clean cancel. The engines it calls,
 * backup_node (backup.c) and cluster_backup (cluster_backup.c), know
 * nothing of the command line; this file is the only one that uses both. */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "backup/cluster_backup.h"
#include "cli/cli.h"
#include "request/cli_options.h"
#include "common/log.h"
#include "common/util.h"
#include "pool/manifest.h"
#include "request/backup_request.h"

static const char usage_text[] =
    "usage: strata backup --pool POOL --node NODE --pgdata DIR [options]\n"
    "  --pg-conn CONNINFO      the instance to back up (a standby normally); libpq defaults if absent\n"
    "  --pgdata DIR            its data directory, read directly\n"
    "  --primary-conn CONNINFO from a standby: the primary, to switch WAL segments\n"
    "                          (default: the standby's primary_conninfo)\n"
    "  --jobs N                parallel workers (default 2)\n"
    "  --compress ALGO         zstd (default), lz4 or none\n"
    "  --compress-level N      compression level (zstd default 3, lz4 1)\n"
    "  --cipher CIPHER         aes-256-gcm (the default in a keyed pool) or none\n"
    "  --key-file FILE | --passphrase-file FILE   the pool's key (or STRATA_KEY_FILE / STRATA_PASSPHRASE_FILE)\n"
    "  --max-rate RATE         read at most RATE bytes/s (K, M, G suffixes)\n"
    "  --chunk-size SIZE       files larger are split into ranges of SIZE, stored and restored\n"
    "                          by several workers (default 64M; 1M to 1024G, a multiple of 8K)\n"
    "  --nice N                raise the nice value of the reading/compressing threads by N\n"
    "                          (0-19, default 10): the databases on the host keep their CPU\n"
    "  --archive-timeout SEC   how long to wait for the backup's WAL to reach the pool (default 60)\n"
    "  --label TEXT            a label stored with the backup\n"
    "  --type full|incr|diff   full (default); incr: only the blocks changed since the node's last\n"
    "                          backup, diff: since its last full one (from the WAL index; a full is\n"
    "                          taken instead, saying why, when the WAL cannot tell what changed)\n"
    "  --parent ID             incr/diff of one node: the backup to build on (default: as above).\n"
    "                          With --cluster, each replica set builds on its node backup in the\n"
    "                          newest earlier cluster backup of the same scope (diff: a full one)\n"
    "  --keep N | --keep-days D   the retention applied right after the backup succeeds (as strata\n"
    "                          expire's); without them a cluster backup applies its policy's\n"
    "  --expire-auto y|n       n: no retention after the backup (default: when one is set)\n"
    "  --cluster NAME --meta-conn CONNINFO [--shard S] [--cp-timeout-ms MS]\n"
    "                          a consistent backup of a whole registered cluster (or one shard),\n"
    "                          each replica set from a standby, ending with a consistency point\n"
    "  --manager URL --token-file FILE --cluster NAME [--shard S]\n"
    "                          the cluster backup as a job of the cluster manager (--manager URL --help)\n"
    "  seed flags: -clustername C -shardname S -backuptype storage|compute -coldstoragetype file -workdir D\n"
    "  --quiet, --output json\n";

/* The command line into a BackupRequest (request/backup_request.h: the
 * codec and rules the manager's API uses too), then into *o; *req owns the
 * strings *o points to. */
static int
parse_options(int argc, char **argv, BackupRequest *req, BackupOptions *o)
{
    backup_options_defaults(o);
    backup_request_init(req);
    Error err;
    int code = cli_request_options("backup", usage_text, backup_request_schema(), req, &o->co, argc, argv);
    if (code != CLI_CONTINUE)
        return code;
    if (!o->co.pool)
        return cli_usage_error("backup", "--pool is required");
    if (o->co.node)
        backup_request_set_flag(req, "node", o->co.node, &err);
    if (backup_request_validate(req, BACKUP_AT_LOCAL, &err) != 0)
        return cli_usage_error("backup", "%s", err.msg);
    backup_options_from_request(o, req);
    return CLI_CONTINUE;
}

/* Facts about the instance, checked before anything is started. */
static void
print_result(const BackupOptions *o, const Manifest *m, json_object *expire)
{
    char start[32], stop[32];
    lsn_format(m->start_lsn, start);
    lsn_format(m->stop_lsn, stop);
    if (o->co.json)
    {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(m->id));
        json_object_object_add(d, "node", json_object_new_string(m->node));
        backup_result_members(d, m);
        json_object_object_add(d, "type", json_object_new_string(m->type));
        if (m->parent)
            json_object_object_add(d, "parent", json_object_new_string(m->parent));
        if (m->incremental_fallback)
            json_object_object_add(d, "incremental_fallback", json_object_new_string(m->incremental_fallback));
        json_object_object_add(d, "read_bytes", json_object_new_int64((int64_t) m->read_bytes));
        if (expire)
            json_object_object_add(d, "expire", json_object_get(expire));
        cli_json_result(d);
        return;
    }
    char sz[32], st[32];
    format_bytes(m->size, sz, sizeof(sz));
    format_bytes(m->stored_size, st, sizeof(st));
    char rd[32];
    format_bytes(m->read_bytes, rd, sizeof(rd));
    log_info("backup %s (%s%s%s) complete: %s in the database, %s read, %s in the pool, %.1f s, LSN %s to %s on "
             "timeline %u%s", m->id, m->type, m->parent ? " on " : "", m->parent ? m->parent : "", sz, rd, st,
             m->duration, start, stop, m->timeline, m->from_standby ? ", from a standby" : "");
    printf("%s\n", m->id);
}

/* Ctrl-C or SIGTERM of a backup run here: the backup stops at its next
 * read and removes what it wrote, as a cancelled job does. A second signal
 * kills at once (the handler is reset); the lease then leaves the rest to
 * expire. */
static atomic_bool interrupted;

static void
on_interrupt(int sig)
{
    (void) sig;
    atomic_store(&interrupted, true);
}

static void
catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int
backup_run(BackupOptions *opt, const BackupRequest *req, BackupAfterHook after)
{
    BackupOptions o = *opt;
    Error err;
    o.cancel = &interrupted;
    catch_interrupts();
    if (o.cluster)
    {
        json_object *m;
        if (cluster_backup(&o, &m, &err) != 0)
        {
            cli_fail(&err);
            return atomic_load(&interrupted) ? 130 : 1;
        }
        json_object *expire = after ? after(req, &o) : NULL;
        if (expire)
            json_object_object_add(m, "expire", expire);
        if (o.co.json)
            cli_json_result(json_object_get(m));
        else
            printf("%s\n", json_object_get_string(json_object_object_get(m, "id")));
        json_object_put(m);
        return 0;
    }
    Manifest m;
    if (backup_node(&o, &m, &err) != 0)
    {
        cli_fail(&err);
        return atomic_load(&interrupted) ? 130 : 1;
    }
    json_object *expire = after ? after(req, &o) : NULL;
    print_result(&o, &m, expire);
    json_object_put(expire);
    manifest_free(&m);
    return 0;
}

int
cmd_backup_local_then(int argc, char **argv, BackupAfterHook after)
{
    BackupOptions o;
    BackupRequest req;
    int code = parse_options(argc, argv, &req, &o);
    int rc = code != CLI_CONTINUE ? code : backup_run(&o, &req, after);
    backup_request_free(&req);
    return rc;
}

int
cmd_backup_local(int argc, char **argv)
{
    return cmd_backup_local_then(argc, argv, NULL);
}
