/* strata info: what the pool holds, per node: backups and the WAL range. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "archive/wal_continuity.h"
#include "info/cluster_info.h"
#include "info/node_state.h"
#include "cli/cli.h"
#include "client/dispatch.h"
#include "pool/manifest.h"
#include "pool/sealed.h"

static const char usage_text[] = "usage: strata info --pool POOL [--node NODE] [--output json]\n"
                                 "       strata info --manager URL --token-file FILE [--cluster C]: through the "
                                 "cluster manager\n";

static json_object *
jlsn(Lsn l)
{
    char buf[32];
    lsn_format(l, buf);
    return json_object_new_string(buf);
}

static json_object *
jtime(int64_t t)
{
    char buf[64];
    format_utc((time_t) t, buf, sizeof(buf));
    return json_object_new_string(buf);
}

/* The chain of an incremental: the backups it builds on, full first, up
 * to itself; "broken" when one is missing or incomplete. */
static json_object *
chain_json(const BackupList *bl, const BackupEntry *b, bool *broken)
{
    json_object *ids = json_object_new_array();
    *broken = false;
    for (const BackupEntry *e = b; e;)
    {
        json_object_array_add(ids, json_object_new_string(e->id));
        const char *parent = e->manifest.parent;
        e = NULL;
        for (size_t i = 0; parent && i < bl->count; i++)
            if (!strcmp(bl->items[i].id, parent))
                e = bl->items[i].complete ? &bl->items[i] : NULL;
        if (parent && !e)
            *broken = true;
    }
    json_object *rev = json_object_new_array();
    for (size_t i = json_object_array_length(ids); i-- > 0;)
        json_object_array_add(rev, json_object_get(json_object_array_get_idx(ids, i)));
    json_object_put(ids);
    return rev;
}

static json_object *
backup_json(const BackupList *bl, const BackupEntry *b)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(b->id));
    json_object_object_add(o, "status", json_object_new_string(b->complete ? "complete" : "incomplete"));
    if (!b->complete)
    {
        json_object_object_add(o, "problem", json_object_new_string(b->problem));
        return o;
    }
    const Manifest *m = &b->manifest;
    json_object_object_add(o, "type", json_object_new_string(m->type));
    if (m->parent)
    {
        bool broken;
        json_object_object_add(o, "parent", json_object_new_string(m->parent));
        json_object_object_add(o, "chain", chain_json(bl, b, &broken));
        json_object_object_add(o, "chain_complete", json_object_new_boolean(!broken));
    }
    if (m->incremental_fallback)
        json_object_object_add(o, "incremental_fallback", json_object_new_string(m->incremental_fallback));
    json_object_object_add(o, "label", json_object_new_string(m->label));
    json_object_object_add(o, "from_standby", json_object_new_boolean(m->from_standby));
    json_object_object_add(o, "timeline", json_object_new_int64(m->timeline));
    json_object_object_add(o, "start_lsn", jlsn(m->start_lsn));
    json_object_object_add(o, "stop_lsn", jlsn(m->stop_lsn));
    json_object_object_add(o, "start_time", jtime(m->start_time));
    json_object_object_add(o, "stop_time", jtime(m->stop_time));
    json_object_object_add(o, "start_epoch", json_object_new_int64(m->start_time));
    json_object_object_add(o, "stop_epoch", json_object_new_int64(m->stop_time));
    json_object_object_add(o, "duration", json_object_new_double(m->duration));
    json_object_object_add(o, "size", json_object_new_int64((int64_t) m->size));
    json_object_object_add(o, "stored_size", json_object_new_int64((int64_t) m->stored_size));
    json_object_object_add(o, "files", json_object_new_int64((int64_t) m->nfiles));
    /* Files split into ranges are several objects each (pool/manifest_ranges.c). */
    size_t split = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        split += m->files[i].nranges > 0;
    json_object_object_add(o, "split_files", json_object_new_int64((int64_t) split));
    json_object_object_add(o, "data_objects", json_object_new_int64((int64_t) manifest_object_count(m)));
    json_object_object_add(o, "compression", json_object_new_string(compression_name(m->compression)));
    json_object_object_add(o, "cipher", json_object_new_string(cipher_name(m->cipher)));
    json_object_object_add(o, "pg_version_num", json_object_new_int(m->pg_version_num));
    json_object *pe = json_object_new_array();
    for (size_t i = 0; i < m->npage_errors; i++)
    {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "path", json_object_new_string(m->page_errors[i].path));
        json_object_object_add(e, "block", json_object_new_int64(m->page_errors[i].block));
        json_object_array_add(pe, e);
    }
    json_object_object_add(o, "page_errors", pe);
    return o;
}

static json_object *
wal_json(const WalList *wl, uint64_t seg_size)
{
    json_object *o = json_object_new_object();
    json_object *tls = json_object_new_array();
    /* The gaps are those of the one continuity rule (.partial segments count as present). */
    WalArchiveView view = {.wl = wl, .seg_size = seg_size};
    WalIssues issues = {0};
    wal_archive_issues(&view, &issues);
    uint64_t stored = 0;
    for (size_t i = 0; i < wl->count; i++)
        stored += wl->items[i].stored_size;
    size_t i = 0;
    while (i < wl->count && wl->items[i].is_segment)
    {
        size_t j = i;
        while (j + 1 < wl->count && wl->items[j + 1].is_segment && wl->items[j + 1].tli == wl->items[i].tli)
            j++;
        json_object *t = json_object_new_object();
        json_object_object_add(t, "timeline", json_object_new_int64(wl->items[i].tli));
        json_object_object_add(t, "first", json_object_new_string(wl->items[i].name));
        json_object_object_add(t, "last", json_object_new_string(wl->items[j].name));
        json_object_object_add(t, "segments", json_object_new_int64((int64_t) (j - i + 1)));
        json_object *g = json_object_new_array();
        for (size_t k = 0; k < issues.count; k++)
        {
            const WalIssue *gap = &issues.items[k];
            if (gap->kind != WAL_ISSUE_SEGMENTS_MISSING || gap->tli != wl->items[i].tli)
                continue;
            char a[WAL_NAME_LEN + 1], b[WAL_NAME_LEN + 1];
            wal_segment_name(gap->tli, gap->first, seg_size, a);
            wal_segment_name(gap->tli, gap->last, seg_size, b);
            json_object *gj = json_object_new_object();
            json_object_object_add(gj, "first_missing", json_object_new_string(a));
            json_object_object_add(gj, "last_missing", json_object_new_string(b));
            json_object_array_add(g, gj);
        }
        json_object_object_add(t, "gaps", g);
        json_object_array_add(tls, t);
        i = j + 1;
    }
    json_object *others = json_object_new_array();
    for (; i < wl->count; i++)
        json_object_array_add(others, json_object_new_string(wl->items[i].name));
    json_object_object_add(o, "timelines", tls);
    json_object_object_add(o, "other_files", others);
    json_object_object_add(o, "stored_size", json_object_new_int64((int64_t) stored));
    wal_issues_free(&issues);
    return o;
}

static void
print_text(json_object *node)
{
    json_object *v;
    json_object_object_get_ex(node, "name", &v);
    printf("node %s", json_object_get_string(v));
    if (json_object_object_get_ex(node, "system_identifier", &v))
        printf(" (system %s", json_object_get_string(v));
    if (json_object_object_get_ex(node, "pg_version_num", &v) && json_object_get_int(v))
        printf(", PostgreSQL %d.%d", json_object_get_int(v) / 10000, json_object_get_int(v) % 100);
    printf(")\n");
    json_object *backups;
    json_object_object_get_ex(node, "backups", &backups);
    if (json_object_array_length(backups) == 0)
        printf("  no backups\n");
    for (size_t i = 0; i < json_object_array_length(backups); i++)
    {
        json_object *b = json_object_array_get_idx(backups, i), *f;
#define S(k) (json_object_object_get_ex(b, k, &f) ? json_object_get_string(f) : "")
        if (strcmp(S("status"), "complete") != 0)
        {
            printf("  backup %s  INCOMPLETE: %s\n", S("id"), S("problem"));
            continue;
        }
        char db[32], st[32];
        json_object_object_get_ex(b, "size", &f);
        format_bytes((uint64_t) json_object_get_int64(f), db, sizeof(db));
        json_object_object_get_ex(b, "stored_size", &f);
        format_bytes((uint64_t) json_object_get_int64(f), st, sizeof(st));
        char kind[300];
        json_object *chain;
        if (json_object_object_get_ex(b, "chain", &chain))
            snprintf(kind, sizeof(kind), "(%s on %s, chain of %zu from %s%s)", S("type"), S("parent"),
                     json_object_array_length(chain), json_object_get_string(json_object_array_get_idx(chain, 0)),
                     json_object_object_get_ex(b, "chain_complete", &f) && !json_object_get_boolean(f)
                         ? ", BROKEN: a backup it builds on is missing" : "");
        else
            snprintf(kind, sizeof(kind), "%s", S("type"));
        printf("  backup %s %s  %s .. %s  LSN %s .. %s  timeline %s\n", S("id"), kind, S("start_time"),
               S("stop_time"), S("start_lsn"), S("stop_lsn"), S("timeline"));
        if (json_object_object_get_ex(b, "incremental_fallback", &f))
            printf("      a full instead of an incremental: %s\n", json_object_get_string(f));
        json_object_object_get_ex(b, "duration", &f);
        double dur = json_object_get_double(f);
        printf("      database %s, pool %s (%s), %.1f s%s\n", db, st, S("compression"), dur,
               json_object_object_get_ex(b, "from_standby", &f) && json_object_get_boolean(f) ? ", from a standby" : "");
        if (json_object_object_get_ex(b, "split_files", &f) && json_object_get_int64(f) > 0)
            printf("      %s file(s), %s split into ranges: %s data objects\n", S("files"), S("split_files"),
                   S("data_objects"));
        json_object *pe;
        json_object_object_get_ex(b, "page_errors", &pe);
        for (size_t k = 0; k < json_object_array_length(pe); k++)
        {
            json_object *e = json_object_array_get_idx(pe, k), *x, *y;
            json_object_object_get_ex(e, "path", &x);
            json_object_object_get_ex(e, "block", &y);
            printf("      invalid page checksum: %s block %s\n", json_object_get_string(x), json_object_get_string(y));
        }
#undef S
    }
    json_object *wal, *tls;
    json_object_object_get_ex(node, "wal", &wal);
    json_object_object_get_ex(wal, "timelines", &tls);
    if (json_object_array_length(tls) == 0)
        printf("  WAL: none archived\n");
    for (size_t i = 0; i < json_object_array_length(tls); i++)
    {
        json_object *t = json_object_array_get_idx(tls, i), *a, *b, *n, *tl, *g;
        json_object_object_get_ex(t, "timeline", &tl);
        json_object_object_get_ex(t, "first", &a);
        json_object_object_get_ex(t, "last", &b);
        json_object_object_get_ex(t, "segments", &n);
        json_object_object_get_ex(t, "gaps", &g);
        printf("  WAL timeline %s: %s .. %s, %s segments, %s\n", json_object_get_string(tl), json_object_get_string(a),
               json_object_get_string(b), json_object_get_string(n),
               json_object_array_length(g) ? "GAPS:" : "no gaps");
        for (size_t k = 0; k < json_object_array_length(g); k++)
        {
            json_object *gj = json_object_array_get_idx(g, k), *x, *y;
            json_object_object_get_ex(gj, "first_missing", &x);
            json_object_object_get_ex(gj, "last_missing", &y);
            printf("      missing %s .. %s\n", json_object_get_string(x), json_object_get_string(y));
        }
    }
}

static int
node_json(Pool *pool, const char *node, json_object **out, Error *err)
{
    NodeState ns;
    if (node_state_load(pool, node, &ns, err) != 0)
        return -1;
    NodeInfo ni = ns.info;
    json_object *o = json_object_new_object();
    char sysid[32];
    snprintf(sysid, sizeof(sysid), "%" PRIu64, ni.system_identifier);
    json_object_object_add(o, "name", json_object_new_string(node));
    json_object_object_add(o, "system_identifier", json_object_new_string(sysid));
    json_object_object_add(o, "pg_version_num", json_object_new_int(ni.pg_version_num));
    json_object *backups = json_object_new_array();
    for (size_t i = 0; i < ns.backups.count; i++)
        json_object_array_add(backups, backup_json(&ns.backups, &ns.backups.items[i]));
    json_object_object_add(o, "backups", backups);
    json_object_object_add(o, "wal", wal_json(&ns.wal, ni.wal_segment_size));
    node_state_free(&ns);
    *out = o;
    return 0;
}

static int
info_local(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    CommonOptions co;
    common_options_init(&co);
    co.node = NULL;   /* info lists every node unless one is named */
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "info", usage_text, &code);
        if (h < 0)
            return code;
        if (!h)
            return cli_bad_option("info", argv, c);
    }
    if (optind != argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    Error err;
    if (co.node && node_name_check(co.node, &err) != 0)
        return cli_usage_error("info", "%s", err.msg);
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    pool->unauthenticated_ok = true;   /* listing only: restore and verify with the key check the seals */
    char **names = NULL;
    size_t count = 0;
    int rc = 0;
    rc = pool_select_nodes(pool, co.node, &names, &count, &err);
    json_object *nodes = json_object_new_array();
    for (size_t i = 0; rc == 0 && i < count; i++)
    {
        json_object *n = NULL;
        rc = node_json(pool, names[i], &n, &err);
        if (rc == 0)
            json_object_array_add(nodes, n);
    }
    /* The cluster half: with --node only that node is asked for. */
    json_object *clusters = NULL;
    if (rc == 0 && !co.node)
        rc = cluster_info_json(pool, &clusters, &err);
    if (rc == 0)
    {
        if (co.json)
        {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "pool", json_object_new_string(pool->location));
            json_object_object_add(o, "nodes", json_object_get(nodes));
            if (clusters)
                json_object_object_add(o, "clusters", json_object_get(clusters));
            cli_json_result(json_object_get(o));
            json_object_put(o);
        }
        else
        {
            printf("pool %s\n", pool->location);
            if (count == 0)
                printf("  (empty)\n");
            for (size_t i = 0; i < count; i++)
                print_text(json_object_array_get_idx(nodes, i));
            if (clusters)
                cluster_info_print(clusters);
        }
    }
    json_object_put(clusters);
    json_object_put(nodes);
    pool_free_names(names, count);
    pool_close(pool);
    return rc == 0 ? 0 : cli_fail(&err);
}

/* --manager / --cluster: the clusters and their backups through the cluster
 * manager (client/dispatch.c). */
int
cmd_info(int argc, char **argv)
{
    return dispatch_info(argc, argv, info_local);
}
