/* strata restore: a backup into an empty data directory, recovered to a
 * target from the archived WAL.
 *
 * Nothing is written until the backup and the WAL it cannot do without
 * have been checked in the pool. Every object's checksum is verified while
 * it is written; on any failure the directory is emptied again, so nothing
 * half-restored can be started by mistake. The restored instance never
 * connects to the source's primary and does not archive into the source's
 * node. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "archive/wal_prefetch.h"
#include "restore/wal_plan.h"
#include "cli/cli.h"
#include "request/cli_options.h"
#include "common/log.h"
#include "common/crashpoint.h"
#include "common/progress.h"
#include "common/quote.h"
#include "common/ratelimit.h"
#include "common/workers.h"
#include "pool/keys.h"
#include "pool/manifest.h"
#include "cluster/topology.h"
#include "restore/cluster_restore.h"
#include "restore/copy_files.h"
#include "restore/from_request.h"
#include "restore/restore.h"
#include "restore/select.h"
#include "restore/standby.h"
#include "restore/target_lsn.h"

static const char usage_text[] =
    "usage: strata restore --pool POOL --node NODE --target-dir DIR [options]\n"
    "  --backup ID             the backup to restore (default: the latest that can reach the target)\n"
    "  targets (one; default --latest):\n"
    "    --latest              replay all archived WAL\n"
    "    --time 'YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]'\n"
    "    --xid XID | --lsn X/Y | --name RESTORE_POINT | --immediate (end of the backup)\n"
    "  --exclusive             stop just before the target instead of just after it\n"
    "  --target-action A       promote (default), pause or shutdown\n"
    "  --jobs N                parallel workers (default 2)\n"
    "  --max-rate RATE         write at most RATE bytes/s (K, M, G suffixes)\n"
    "  --force                 empty a non-empty DIR first (never a running instance's)\n"
    "  --set NAME=VALUE        a setting for the restored instance (repeatable)\n"
    "  --port PORT             the restored instance's port\n"
    "  --archive-node NODE     let the restored instance archive into NODE (never the source's)\n"
    "  --start                 start it and wait until it reached the target\n"
    "  --start-timeout SEC     how long --start waits (default 300)\n"
    "  --pg-bin DIR            PostgreSQL binaries (default: pg_config --bindir)\n"
    "  cluster mode: --cluster NAME --to NEW --dir DIR --base-port PORT\n"
    "                [--cp NAME | --time T | --gtxid G --meta-conn SOURCE_META | --latest]\n"
    "                [--shard S [--meta-conn SOURCE_META]]: one shard alone\n"
    "                [--cut auto|exact|cp]: --time/--gtxid cut each shard at an LSN from the WAL index\n"
    "                (exact; auto falls back to the CP when the index does not cover) or at the CP\n"
    "                [--primaries-only]: no standbys rebuilt\n"
    "                or --placement FILE [--hosts H1,H2] instead of --dir/--base-port: on those hosts\n"
    "                (this host's only, from the CLI; others through --manager: docs/deployment.md)\n"
    "  --manager URL --token-file FILE --cluster NAME --to NEW [--shard S] [--cp NAME | --time T | --gtxid G | --latest]\n"
    "                          the cluster restore as a job of the cluster manager (--manager URL --help)\n"
    "  seed flags: -origclustername C -origshardname S -restoretime T -restoretype storage\n"
    "              -enable-globalconsistent [true] -metaclusterconnstr CONNINFO\n"
    "  --quiet, --output json\n";

void
restore_options_defaults(RestoreOptions *o)
{
    memset(o, 0, sizeof(*o));
    common_options_init(&o->co);
    o->jobs = 2;
    o->action = "promote";
    o->start_timeout = 300;
}

/* The command line into a RestoreRequest (request/restore_request.h: the
 * same codec and rules as the manager's API), then into *o; *req owns the
 * strings *o points to. */
static int
parse_options(int argc, char **argv, RestoreRequest *req, RestoreOptions *o)
{
    restore_options_defaults(o);
    restore_request_init(req);
    Error err;
    int code = cli_request_options("restore", usage_text, restore_request_schema(), req, &o->co, argc, argv);
    if (code != CLI_CONTINUE)
        return code;
    if (o->co.node)
        restore_request_set_flag(req, "node", o->co.node, &err);
    if (restore_request_validate(req, RESTORE_AT_LOCAL, &err) != 0 ||
        restore_options_from_request(req, o, &err) != 0)
        return cli_usage_error("restore", "%s", err.msg);
    if (!o->co.pool)
        return cli_usage_error("restore", "--pool is required");
    return CLI_CONTINUE;
}

/* ---- choosing the backup ---- */

/* The latest complete backup that can reach the target (select.c), or the
 * one --backup names if it can: decided before anything is written. */
static int
choose_backup(Pool *pool, const RestoreOptions *o, Manifest *out, Error *err)
{
    SelectTarget st;
    char unresolved[512];
    if (target_resolve_lsn(pool, o->co.node, &o->target, o->exclusive, &st, unresolved, sizeof(unresolved), err) != 0)
        return -1;
    BackupList bl;
    if (backup_list_load(pool, o->co.node, &bl, err) != 0)
        return -1;
    SelectBackup *cand = xcalloc(bl.count ? bl.count : 1, sizeof(SelectBackup));
    BackupEntry **entry = xcalloc(bl.count ? bl.count : 1, sizeof(BackupEntry *));
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < bl.count && rc == 0; i++)
    {
        BackupEntry *b = &bl.items[i];
        if (o->backup_id && strcmp(b->id, o->backup_id))
            continue;
        if (!b->complete)
        {
            if (o->backup_id)
                rc = error_set(err, "backup %s of node %s cannot be restored: %s", b->id, o->co.node, b->problem);
            continue;
        }
        const Manifest *m = &b->manifest;
        cand[n] = (SelectBackup){.id = b->id, .start_lsn = m->start_lsn, .stop_lsn = m->stop_lsn,
                                 .timeline = m->timeline, .stop_time = (double) m->stop_time};
        entry[n++] = b;
    }
    size_t chosen = 0;
    if (rc == 0 && o->backup_id && n == 0)
        rc = error_set(err, "no backup %s for node %s in pool %s (see strata info)", o->backup_id, o->co.node,
                       pool->location);
    else if (rc == 0 && n == 0)
        rc = error_set(err, "node %s has no complete backup in pool %s", o->co.node, pool->location);
    else if (rc == 0 && o->backup_id)
    {
        char why[256];
        if (!select_can_reach(&cand[0], &st, why, sizeof(why)))
            rc = error_set(err, "--backup %s cannot reach target %s '%s'%s%s: %s; nothing was written", o->backup_id,
                           target_kind_name(o->target.kind), o->target.text ? o->target.text : "",
                           st.resolved_by[0] ? " of " : "", st.resolved_by, why);
    }
    else if (rc == 0)
        rc = select_backup(o->co.node, cand, n, &st, &chosen, err);
    if (rc == 0)
    {
        if (st.npoints)
        {
            char at[32];
            Lsn stop = select_name_stop(&cand[o->backup_id ? 0 : chosen], &st);
            lsn_format(stop, at);
            log_info("%s '%s' at LSN %s, from %s", o->target.kind == TARGET_XID ? "transaction" : "restore point",
                     o->target.text, at, st.resolved_by);
        }
        else if (unresolved[0] && !o->backup_id)
            log_warn("%s", unresolved);
        *out = entry[chosen]->manifest;   /* take ownership */
        entry[chosen]->complete = false;
    }
    free(cand);
    free(entry);
    backup_list_free(&bl);
    target_resolved_free(&st);
    return rc;
}

/* ---- the target directory ---- */

/* Written first into the target and removed once it is complete, before
 * any start: a restore killed on the way leaves it, so the next restore
 * into the directory knows the contents are a dead restore's and replaces
 * them. global/pg_control is written last, so PostgreSQL refuses to start
 * what a killed restore left ("could not open file global/pg_control"). */
#define RESTORE_INCOMPLETE_MARK "strata-restore.incomplete"
#define PG_CONTROL "global/pg_control"

static int
mark_incomplete(const char *dir, bool on, Error *err)
{
    char *path = xprintf("%s/%s", dir, RESTORE_INCOMPLETE_MARK);
    int rc = 0;
    if (on)
    {
        static const char text[] = "strata restore is writing this directory; while this file exists its contents "
                                   "are not a usable data directory\n";
        rc = write_file_atomic(path, text, sizeof(text) - 1, 0600, err);
    }
    else if (unlink(path) != 0)
        rc = error_errno(err, "cannot remove %s", path);
    if (rc == 0)
        rc = fsync_path(dir, true, err);
    free(path);
    return rc;
}

static bool
running_postmaster(const char *dir, long *pid)
{
    char *path = xprintf("%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return false;
    *pid = 0;
    bool alive = fscanf(f, "%ld", pid) == 1 && *pid > 0 && (kill((pid_t) *pid, 0) == 0 || errno == EPERM);
    fclose(f);
    return alive;
}

/* *existed: whether DIR was there before (a failure removes it again if not). */
static int
prepare_target_dir(const RestoreOptions *o, bool *existed, Error *err)
{
    struct stat st;
    *existed = stat(o->target_dir, &st) == 0;
    long pid;
    if (running_postmaster(o->target_dir, &pid))
        return error_set(err, "--target-dir %s belongs to a running PostgreSQL (pid %ld): stop it first; strata never "
                              "restores onto a running instance", o->target_dir, pid);
    bool empty;
    if (dir_is_empty(o->target_dir, &empty, err) != 0)
        return error_prefix(err, "--target-dir: ");
    char *marker = xprintf("%s/%s", o->target_dir, RESTORE_INCOMPLETE_MARK);
    bool interrupted = !empty && access(marker, F_OK) == 0;
    free(marker);
    if (interrupted)
        log_info("%s holds what an interrupted restore left (%s): removing it", o->target_dir,
                 RESTORE_INCOMPLETE_MARK);
    if (!empty && !o->force && !interrupted)
        return error_set(err, "--target-dir %s is not empty: give an empty or new directory, or --force to replace "
                              "its contents", o->target_dir);
    if (mkdir_p(o->target_dir, 0700, err) != 0)
        return -1;
    if (chmod(o->target_dir, 0700) != 0)
        return error_errno(err, "cannot set mode 0700 on %s", o->target_dir);
    if (!empty)
    {
        if (!interrupted)
            log_info("--force: removing the contents of %s", o->target_dir);
        if (remove_tree_contents(o->target_dir, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- checks before writing ---- */

static int
check_required_wal(Pool *pool, const Manifest *m, Error *err)
{
    char(*names)[WAL_NAME_LEN + 1];
    size_t n = manifest_required_wal(m, &names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        WalObject obj;
        bool found;
        if ((rc = archive_find(pool, m->node, names[i], &obj, &found, err)) != 0)
            break;
        if (!found)
        {
            rc = error_set(err, "WAL segment %s, needed to make backup %s consistent, is missing from pool %s",
                           names[i], m->id, pool->location);
            break;
        }
        Stage *sink = stage_discard_new();
        rc = archive_fetch(pool, &obj, sink, err);
        stage_free(sink);
        wal_object_free(&obj);
    }
    free(names);
    return rc;
}

/* ---- recovery settings ---- */

/* " --key-file '/abs/path'" (or --passphrase-file) when a key is configured,
 * else "": the restored instance fetches (and archives) WAL with the same
 * key; its file's path goes into the settings, never the key. */
static int
key_argument(char **out, Error *err)
{
    const char *kflag, *kpath;
    char kabs[PATH_MAX];
    *out = NULL;
    if (!key_source_file(&kflag, &kpath))
    {
        *out = xstrdup("");
        return 0;
    }
    if (!realpath(kpath, kabs))
        return error_errno(err, "%s %s", kflag, kpath);
    char *qkey = pg_command_word(kabs);
    *out = xprintf(" %s %s", kflag, qkey);
    free(qkey);
    return 0;
}

/* The recovery settings as lines of postgresql.auto.conf. Every value goes
 * through pg_conf_line and every word of a command through
 * pg_command_word: the node name comes from the pool's manifest, the
 * targets and --set from the command line or an API body. */
static int
recovery_settings_text(const RestoreOptions *o, const Manifest *m, const char *exe, const char *pool_abs, Buffer *b,
                       Error *err)
{
    char *keyarg;
    if (key_argument(&keyarg, err) != 0)
        return -1;
    char *qexe = pg_command_word(exe), *qpool = pg_command_word(pool_abs), *qnode = pg_command_word(m->node);
    char when[64];
    format_utc(time(NULL), when, sizeof(when));
    /* A comment is one line too: the id and node are validated names. */
    buffer_appendf(b, "\n# Recovery settings written by strata restore of backup %s (node %s) at %s\n", m->id, m->node,
                   when);
    /* Read-ahead where every WAL object is a round trip (archive/wal_prefetch.h). */
    unsigned prefetch = wal_prefetch_depth_for(pool_abs);
    char prefetch_arg[32] = "";
    if (prefetch > 1)
        snprintf(prefetch_arg, sizeof(prefetch_arg), " --prefetch %u", prefetch);
    char *cmd = xprintf("%s wal-get --pool %s%s --node %s%s \"%%f\" \"%%p\"", qexe, qpool, keyarg, qnode,
                        prefetch_arg);
    int rc = pg_conf_line(b, "restore_command", cmd, err);
    free(cmd);
    static const char *const target_setting[] = {
        [TARGET_TIME] = "recovery_target_time", [TARGET_XID] = "recovery_target_xid",
        [TARGET_LSN] = "recovery_target_lsn", [TARGET_NAME] = "recovery_target_name"};
    if (rc == 0 && o->target.kind == TARGET_IMMEDIATE)
        rc = pg_conf_line(b, "recovery_target", "immediate", err);
    else if (rc == 0 && o->target.kind != TARGET_LATEST)
        rc = pg_conf_line(b, target_setting[o->target.kind], o->target.text, err);
    if (rc == 0 && o->exclusive)
        rc = pg_conf_line(b, "recovery_target_inclusive", "off", err);
    if (rc == 0 && o->target.kind != TARGET_LATEST)
        rc = pg_conf_line(b, "recovery_target_action", o->action, err);
    /* Follow timeline switches (a failover after the backup) to the newest. */
    if (rc == 0)
        rc = pg_conf_line(b, "recovery_target_timeline", "latest", err);
    /* Never stream from, nor hold a slot on, the source's primary. */
    if (rc == 0)
        rc = pg_conf_line(b, "primary_conninfo", "", err);
    if (rc == 0)
        rc = pg_conf_line(b, "primary_slot_name", "", err);
    if (rc == 0 && o->archive_node)
    {
        char *qarchive = pg_command_word(o->archive_node);
        char *push = xprintf("%s wal-push --pool %s%s --node %s \"%%p\"", qexe, qpool, keyarg, qarchive);
        rc = pg_conf_line(b, "archive_mode", "on", err);
        if (rc == 0)
            rc = pg_conf_line(b, "archive_command", push, err);
        free(push);
        free(qarchive);
    }
    else if (rc == 0)
        rc = pg_conf_line(b, "archive_mode", "off", err);
    if (rc == 0 && o->port)
        buffer_appendf(b, "port = %d\n", o->port);
    for (size_t i = 0; i < o->nsets && rc == 0; i++)
        if (pg_conf_assignment_line(b, o->sets[i], err) != 0)
            rc = error_prefix(err, "--set: ");
    free(qexe);
    free(qpool);
    free(qnode);
    free(keyarg);
    return rc;
}

static int
write_recovery_settings(const RestoreOptions *o, const Manifest *m, const char *pool_abs, Error *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return error_errno(err, "cannot find the strata executable's path (/proc/self/exe)");
    exe[n] = '\0';
    Buffer b = {0};
    if (recovery_settings_text(o, m, exe, pool_abs, &b, err) != 0)
    {
        buffer_free(&b);
        return -1;
    }

    char *conf = xprintf("%s/postgresql.auto.conf", o->target_dir);
    Buffer existing = {0};
    struct stat st;
    int rc = 0;
    if (stat(conf, &st) == 0)
        rc = read_small_file(conf, &existing, err);
    if (rc == 0)
    {
        buffer_append(&existing, b.data, b.len);
        rc = write_file_atomic(conf, existing.data, existing.len, 0600, err);
    }
    free(conf);
    buffer_free(&existing);
    buffer_free(&b);
    if (rc != 0)
        return -1;

    /* Recovery from the archive, not standby mode (which would wait for a
     * primary forever instead of reaching the target). */
    const char *remove[] = {"standby.signal", "recovery.signal"};
    for (size_t i = 0; i < 2; i++)
    {
        char *p = xprintf("%s/%s", o->target_dir, remove[i]);
        unlink(p);
        free(p);
    }
    char *signal = xprintf("%s/recovery.signal", o->target_dir);
    rc = write_file_atomic(signal, "", 0, 0600, err);
    free(signal);
    return rc;
}

static void
print_summary(const RestoreOptions *o, const Manifest *m, double secs, const StartResult *sr)
{
    char size[32];
    format_bytes(m->size, size, sizeof(size));
    if (o->co.json)
    {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "backup", json_object_new_string(m->id));
        json_object_object_add(d, "node", json_object_new_string(m->node));
        json_object_object_add(d, "target_dir", json_object_new_string(o->target_dir));
        json_object_object_add(d, "target", json_object_new_string(target_kind_name(o->target.kind)));
        json_object_object_add(d, "target_value", json_object_new_string(o->target.text ? o->target.text : ""));
        json_object_object_add(d, "size", json_object_new_int64((int64_t) m->size));
        json_object_object_add(d, "duration", json_object_new_double(secs));
        if (sr && sr->started)
        {
            json_object_object_add(d, "started", json_object_new_boolean(1));
            json_object_object_add(d, "pid", json_object_new_int64(sr->pid));
            json_object_object_add(d, "port", json_object_new_int(sr->port));
            json_object_object_add(d, "state", json_object_new_string(sr->state));
            json_object_object_add(d, "reached_lsn", json_object_new_string(sr->reached_lsn));
            json_object_object_add(d, "reached_time", json_object_new_string(sr->reached_time));
            json_object_object_add(d, "timeline", json_object_new_int64(sr->timeline));
        }
        cli_json_result(d);
        return;
    }
    log_info("restored backup %s of node %s into %s: %s in %.1f s", m->id, m->node, o->target_dir, size, secs);
    if (sr && sr->started)
        printf("%s: %s at LSN %s, last transaction at %s, timeline %u (pid %ld, port %d)\n", o->target_dir, sr->state,
               sr->reached_lsn, sr->reached_time[0] ? sr->reached_time : "(none replayed)", sr->timeline, sr->pid,
               sr->port);
    else
        printf("%s\n", o->target_dir);
}

/* After a failure at any step (the copy, the settings, the start and the
 * recovery) the target is left as it was found: any instance this restore
 * started is stopped, the directory emptied, and removed if it was made. */
static void
undo_target_dir(const char *dir, bool existed, Error *err)
{
    instance_stop(dir);
    Error cerr;
    if (remove_tree_contents(dir, &cerr) != 0)
    {
        log_warn("could not empty %s after the failure: %s", dir, cerr.msg);
        error_prefix(err, "restore into %s failed and the directory could not be emptied (%s): ", dir, cerr.msg);
        return;
    }
    if (!existed && rmdir(dir) != 0)
        log_warn("could not remove %s after the failure: %s", dir, strerror(errno));
    error_prefix(err, "restore into %s failed, the directory was %s: ", dir, existed ? "emptied" : "removed");
}

int
restore_node(RestoreOptions *o, Manifest *out, double *out_secs, StartResult *out_sr, Error *err)
{
    Pool *pool;
    if (pool_open(o->co.pool, &pool, err) != 0)
        return -1;
    int rc = restore_node_pool(pool, o, out, out_secs, out_sr, err);
    pool_close(pool);
    return rc;
}

int
restore_node_pool(Pool *pool, RestoreOptions *o, Manifest *out, double *out_secs, StartResult *out_sr, Error *err)
{
    if (pool_require_key(pool, "restore", err) != 0)
        return -1;
    if (o->start && geteuid() == 0)
        return error_set(err, "--start: PostgreSQL refuses to run as root; run strata restore as the user that will "
                              "own the instance");
    /* restore_command reads WAL from the pool's location (o->co.pool, or
     * the open pool's own), made absolute for the server. */
    const char *location = o->co.pool ? o->co.pool : pool->location;
    char pool_abs[PATH_MAX];
    if (!realpath(location, pool_abs))
        snprintf(pool_abs, sizeof(pool_abs), "%s", location);
    Manifest m = {0};
    int rc = choose_backup(pool, o, &m, err);
    if (rc == 0)
    {
        char start[32];
        lsn_format(m.stop_lsn, start);
        log_info("restoring backup %s (consistent at LSN %s) to target %s%s%s", m.id, start,
                 target_kind_name(o->target.kind), o->target.text ? " " : "", o->target.text ? o->target.text : "");
        rc = check_required_wal(pool, &m, err);
        if (rc == 0)
            rc = restore_check_wal_path(pool, &m, &o->target, err);
    }
    /* An incremental: every backup it builds on, checked before writing. */
    BackupChain chain = {0};
    if (rc == 0)
        rc = backup_chain_load(pool, &m, true, &chain, err);
    if (rc == 0 && chain.count > 1)
        log_info("backup %s is an incremental chain of %zu backups from full backup %s", m.id, chain.count,
                 chain.members[0].m->id);
    bool existed = true;
    if (rc == 0)
        rc = prepare_target_dir(o, &existed, err);
    double t0 = now_seconds();
    bool wrote = rc == 0;
    if (rc == 0)
        rc = mark_incomplete(o->target_dir, true, err);
    if (rc == 0)
        rc = restore_files(pool, o, &chain, err);
    backup_chain_free(&chain);
    if (rc == 0)
        rc = write_recovery_settings(o, &m, pool_abs, err);
    if (rc == 0)
        rc = hba_prepend(o->target_dir, o->hba, o->nhba, err);
    crash_point("restore-settings");
    if (rc == 0)
        rc = mark_incomplete(o->target_dir, false, err);
    double secs = now_seconds() - t0;
    StartResult sr = {0};
    if (rc == 0 && o->start)
    {
        StartRequest req = {.data_dir = o->target_dir, .pg_bin = o->pg_bin, .pg_version_num = m.pg_version_num,
                            .action = o->action, .timeout = o->start_timeout, .target_kind = o->target.kind};
        rc = instance_start_and_wait(&req, &sr, err);
    }
    if (rc != 0 && wrote)
        undo_target_dir(o->target_dir, existed, err);
    if (rc == 0)
    {
        *out = m;
        *out_secs = secs;
        *out_sr = sr;
    }
    else
        manifest_free(&m);
    return rc;
}

/* A relative --dir is made absolute here, before anything starts (the
 * library refuses one: a server resolves paths against its own directory). */
static int
cluster_restore_cli(RestoreOptions *o, Error *err)
{
    char *abs = NULL;
    if (o->dir && o->dir[0] != '/')
    {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return error_errno(err, "--dir %s is relative and the current directory is unknown", o->dir);
        abs = xprintf("%s/%s", cwd, o->dir);
        o->dir = abs;
    }
    int rc = cluster_restore(o, err);
    o->dir = NULL;
    free(abs);
    return rc;
}

int
cmd_restore_local(int argc, char **argv)
{
    RestoreOptions o;
    RestoreRequest req;
    int code = parse_options(argc, argv, &req, &o);
    Error err;
    int rc = 0;
    if (code != CLI_CONTINUE)
        rc = code;
    else
    {
        Manifest m;
        double secs;
        StartResult sr;
        if (o.cluster)
            rc = cluster_restore_cli(&o, &err) == 0 ? 0 : cli_fail(&err);
        else if (restore_node(&o, &m, &secs, &sr, &err) != 0)
            rc = cli_fail(&err);
        else
        {
            print_summary(&o, &m, secs, &sr);
            manifest_free(&m);
        }
    }
    target_free(&o.target);
    free(o.sets);
    restore_request_free(&req);
    return rc;
}
