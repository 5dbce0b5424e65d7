/* strata wal-index: build the WAL index of a node's archived segments
 * (the missing ones, or all with --rebuild), show one segment's index,
 * find a restore point, or decode local segment files (diagnostics). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "wal/changes.h"
#include "wal/history.h"
#include "wal/index_pool.h"
#include "wal/restore_point.h"

static const char usage_text[] =
    "usage: strata wal-index --pool POOL --node NODE [--rebuild]\n"
    "       strata wal-index --pool POOL --node NODE --show SEGMENT\n"
    "       strata wal-index --pool POOL --node NODE --find-restore-point NAME [--timeline TLI]\n"
    "       strata wal-index --pool POOL --node NODE --changes FROM-LSN TO-LSN [--timeline TLI]\n"
    "       strata wal-index --decode FILE...\n"
    "  Builds the index of every archived segment that has none (--rebuild: of all);\n"
    "  --show prints one segment's index; --find-restore-point prints the LSN of each\n"
    "  restore point of that name on the timeline's history (default: the latest);\n"
    "  --changes prints what the WAL changed in [FROM, TO) and whether the index covers it all;\n"
    "  --decode prints the records and block references of local segment files.\n";

enum { OPT_REBUILD = OPT_FIRST_COMMAND_OPTION, OPT_SHOW, OPT_DECODE, OPT_FIND_RP, OPT_TIMELINE, OPT_CHANGES };

#define L(x) (unsigned) ((x) >> 32), (unsigned) (x)

static const char *fork_names[] = {"main", "fsm", "vm", "init"};
static const char *xact_names[] = {"?", "commit", "abort", "prepare", "commit-prepared", "abort-prepared"};
static const char *db_names[] = {"?", "create-file-copy", "create-wal-log", "drop"};
static const char *srv_names[] = {"?", "parameter-change", "end-of-recovery", "checkpoint-shutdown",
                                  "timeline-checkpoint"};

static void
show_events(const WalIndex *ix);

static void
show_index(const WalIndex *ix)
{
    char name[WAL_NAME_LEN + 1];
    wal_segment_name(ix->tli, ix->segno, ix->seg_size, name);
    printf("segment %s sha256 %s records %" PRIu64 " covered %X/%X..%X/%X flags 0x%x%s%s\n", name,
           ix->segment_sha256, ix->nrecords, L(ix->covered_from), L(ix->valid_end), ix->flags,
           ix->error[0] ? " error: " : "", ix->error);
    show_events(ix);
}

static void
show_events(const WalIndex *ix)
{
    for (size_t i = 0; i < ix->nforks; i++)
    {
        const WalForkBlocks *f = &ix->forks[i];
        for (size_t j = 0; j < f->nranges; j++)
            printf("blocks %u/%u/%u %s %u+%u\n", f->rel.spc, f->rel.db, f->rel.rel,
                   f->fork <= WAL_FORK_MAX ? fork_names[f->fork] : "?", f->ranges[j].start, f->ranges[j].count);
    }
    for (size_t i = 0; i < ix->ntruncations; i++)
        printf("truncate %X/%X %u/%u/%u to %u flags %u\n", L(ix->truncations[i].lsn), ix->truncations[i].rel.spc,
               ix->truncations[i].rel.db, ix->truncations[i].rel.rel, ix->truncations[i].blkno,
               ix->truncations[i].flags);
    for (size_t i = 0; i < ix->nrels; i++)
    {
        const WalRelEvent *e = &ix->rels[i];
        printf("%s %X/%X %u/%u/%u %s xid %u\n", e->kind == WAL_REL_CREATE ? "create" : "drop", L(e->lsn), e->rel.spc,
               e->rel.db, e->rel.rel, e->fork <= WAL_FORK_MAX ? fork_names[e->fork] : "all", e->xid);
    }
    for (size_t i = 0; i < ix->ndbs; i++)
        printf("database %s %X/%X db %u spc %u from %u/%u\n", db_names[ix->dbs[i].kind <= 3 ? ix->dbs[i].kind : 0],
               L(ix->dbs[i].lsn), ix->dbs[i].db, ix->dbs[i].spc, ix->dbs[i].src_db, ix->dbs[i].src_spc);
    for (size_t i = 0; i < ix->nxacts; i++)
    {
        const WalXact *x = &ix->xacts[i];
        printf("xact %s %X/%X xid %u time %" PRId64 "%s%s\n", xact_names[x->kind <= 5 ? x->kind : 0], L(x->lsn),
               x->xid, x->time_us, x->gid[0] ? " gid " : "", x->gid);
    }
    for (size_t i = 0; i < ix->nrpoints; i++)
        printf("restore-point %X/%X time %" PRId64 " name %s\n", L(ix->rpoints[i].lsn), ix->rpoints[i].time_us,
               ix->rpoints[i].name);
    for (size_t i = 0; i < ix->nservers; i++)
        printf("server %s %X/%X wal_level %d tli %u prev %u\n",
               srv_names[ix->servers[i].kind <= 4 ? ix->servers[i].kind : 0], L(ix->servers[i].lsn),
               ix->servers[i].wal_level, ix->servers[i].tli, ix->servers[i].prev_tli);
    for (size_t i = 0; i < ix->nunknown; i++)
        printf("unknown-special %X/%X rmid %u info 0x%02x\n", L(ix->unknown[i].lsn), ix->unknown[i].rmid,
               ix->unknown[i].info);
}

static int
show_changes(Pool *pool, const char *node, const char *from_s, const char *to_s, uint32_t tli)
{
    Error err;
    Lsn from, to;
    if (lsn_parse(from_s, &from, &err) != 0 || lsn_parse(to_s, &to, &err) != 0)
        return cli_usage_error("wal-index", "--changes: %s", err.msg);
    WalChanges ch;
    if (wal_changes_collect(pool, node, tli, from, to, &ch, &err) != 0)
        return cli_fail(&err);
    printf("range %X/%X..%X/%X segments %zu decoded %zu records %" PRIu64 "\n", L(from), L(to), ch.segments, ch.built,
           ch.index.nrecords);
    show_events(&ch.index);
    if (ch.complete)
        printf("complete yes\n");
    else
        printf("complete no: %s\n", ch.why);
    wal_changes_free(&ch);
    return 0;
}

static int
print_record(void *ctx, const WalRecord *r, Error *err)
{
    printf("record %X/%X rmid %u info 0x%02x len %u xid %u\n", L(r->lsn), r->rmid, r->info, r->tot_len, r->xid);
    for (int i = 0; i < r->nblocks; i++)
    {
        const WalBlockRef *b = &r->blocks[i];
        printf("block %X/%X %u %u/%u/%u %s %u%s\n", L(r->lsn), b->id, b->rel.spc, b->rel.db, b->rel.rel,
               fork_names[b->fork], b->blkno, b->has_image ? " image" : "");
    }
    return 0;
}

static int
decode_files(char **files, int n)
{
    WalReader *r = NULL;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
    {
        Buffer b = {0};
        Error err;
        const char *base = strrchr(files[i], '/');
        base = base ? base + 1 : files[i];
        if (read_small_file(files[i], &b, &err) != 0)
            return cli_fail(&err);
        uint32_t tli;
        uint64_t segno;
        if (!r)
            r = wal_reader_new(b.len, 0);
        if (!wal_parse_segment_name(base, b.len ? b.len : 1, &tli, &segno))
            rc = error_set(&err, "%s: not a WAL segment file name", files[i]);
        else
            rc = wal_reader_feed(r, tli, segno, (const uint8_t *) b.data, b.len, print_record, NULL, &err);
        if (rc != 0)
            cli_fail(&err);
        buffer_free(&b);
    }
    wal_reader_free(r);
    return rc == 0 ? 0 : 1;
}

static int
find_rp(Pool *pool, const char *node, const char *name, uint32_t tli)
{
    Error err;
    WalRestorePointMatch *m = NULL;
    size_t n = 0;
    if (wal_find_restore_points(pool, node, tli, name, &m, &n, &err) != 0)
        return cli_fail(&err);
    for (size_t i = 0; i < n; i++)
        printf("%X/%X end %X/%X timeline %u time %" PRId64 "\n", L(m[i].lsn), L(m[i].end), m[i].tli, m[i].time_us);
    free(m);
    if (n == 0)
    {
        fprintf(stderr, "strata: no restore point named '%s' in the archived WAL of node %s\n", name, node);
        return 1;
    }
    return 0;
}

static int
build_all(Pool *pool, const char *node, bool rebuild)
{
    Error err;
    NodeInfo ni;
    bool exists;
    if (node_info_read(pool, node, &ni, &exists, &err) != 0)
        return cli_fail(&err);
    if (!exists || !ni.wal_segment_size)
    {
        error_set(&err, "node %s has no archived WAL in pool %s", node, pool->location);
        return cli_fail(&err);
    }
    WalList l;
    if (archive_list(pool, node, ni.wal_segment_size, &l, &err) != 0)
        return cli_fail(&err);
    size_t built = 0, kept = 0, failed = 0;
    for (size_t i = 0; i < l.count; i++)
    {
        const WalObject *o = &l.items[i];
        if (!o->is_segment)
            continue;
        WalIndex ix;
        bool have = false;
        if (!rebuild)
        {
            if (wal_index_load(pool, node, o, ni.wal_segment_size, &ix, &have, &err) != 0)
                log_warn("%s: rebuilding it", err.msg);   /* a corrupt index is replaced */
            else if (have)
            {
                wal_index_free(&ix);
                kept++;
                continue;
            }
        }
        if (wal_index_build_segment(pool, node, o, NULL, ni.wal_segment_size, true, &ix, &err) != 0)
        {
            log_error("%s", err.msg);
            failed++;
            continue;
        }
        if (ix.flags & WAL_INDEX_DECODE_ERROR)
            log_warn("%s: %s", o->name, ix.error);
        wal_index_free(&ix);
        built++;
    }
    wal_list_free(&l);
    log_info("node %s: %zu segment indexes built, %zu already present, %zu failed", node, built, kept, failed);
    if (cli_json())
    {
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "node", json_object_new_string(node));
        json_object_object_add(doc, "built", json_object_new_int64((int64_t) built));
        json_object_object_add(doc, "already_present", json_object_new_int64((int64_t) kept));
        json_object_object_add(doc, "failed", json_object_new_int64((int64_t) failed));
        cli_json_result(doc);
    }
    return failed ? 1 : 0;
}

static int
show_one(Pool *pool, const char *node, const char *seg)
{
    Error err;
    WalObject o;
    bool found;
    NodeInfo ni;
    bool exists;
    if (node_info_read(pool, node, &ni, &exists, &err) != 0)
        return cli_fail(&err);
    if (!exists || !wal_is_segment_name(seg))
        return cli_usage_error("wal-index", "--show needs a segment name of an archived node");
    if (archive_find(pool, node, seg, &o, &found, &err) != 0)
        return cli_fail(&err);
    if (!found)
    {
        error_set(&err, "segment %s is not archived for node %s", seg, node);
        return cli_fail(&err);
    }
    o.is_segment = wal_parse_segment_name(seg, ni.wal_segment_size, &o.tli, &o.segno);
    WalIndex ix;
    bool have;
    int rc = wal_index_load(pool, node, &o, ni.wal_segment_size, &ix, &have, &err);
    if (rc == 0 && !have)
        rc = error_set(&err, "segment %s of node %s has no index (strata wal-index builds it)", seg, node);
    wal_object_free(&o);
    if (rc != 0)
        return cli_fail(&err);
    show_index(&ix);
    wal_index_free(&ix);
    return 0;
}

int
cmd_wal_index(int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_LONG_OPTIONS,
        {"rebuild", no_argument, NULL, OPT_REBUILD},
        {"show", required_argument, NULL, OPT_SHOW},
        {"decode", no_argument, NULL, OPT_DECODE},
        {"find-restore-point", required_argument, NULL, OPT_FIND_RP},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"changes", no_argument, NULL, OPT_CHANGES},
        {NULL, 0, NULL, 0},
    };
    CommonOptions co;
    common_options_init(&co);
    bool rebuild = false, decode = false, changes = false;
    const char *show = NULL, *rp = NULL;
    long tli = 0;
    Error err;
    int c, code;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
    {
        int h = common_option(&co, c, optarg, "wal-index", usage_text, &code);
        if (h < 0)
            return code;
        if (h)
            continue;
        switch (c)
        {
            case OPT_REBUILD: rebuild = true; break;
            case OPT_SHOW: show = optarg; break;
            case OPT_DECODE: decode = true; break;
            case OPT_CHANGES: changes = true; break;
            case OPT_FIND_RP: rp = optarg; break;
            case OPT_TIMELINE:
                if (parse_int_range(optarg, 1, UINT32_MAX, &tli, &err) != 0)
                    return cli_usage_error("wal-index", "--timeline: %s", err.msg);
                break;
            default: return cli_bad_option("wal-index", argv, c);
        }
    }
    /* The dumps are line-oriented text; building the index has a JSON result. */
    if (co.json && (decode || changes || show || rp))
        return cli_usage_error("wal-index", "--output json: --decode, --changes, --show and --find-restore-point "
                                            "print text only");
    if (decode)
    {
        if (optind >= argc)
            return cli_usage_error("wal-index", "--decode needs segment files");
        return decode_files(argv + optind, argc - optind);
    }
    if (changes && optind != argc - 2)
        return cli_usage_error("wal-index", "--changes needs FROM-LSN and TO-LSN");
    if (!changes && optind != argc)
        return cli_usage_error("wal-index", "unexpected argument '%s'", argv[optind]);
    if (node_name_check(co.node, &err) != 0)
        return cli_usage_error("wal-index", "%s", err.msg);
    Pool *pool;
    if (pool_open(co.pool, &pool, &err) != 0)
        return cli_fail(&err);
    int rc = changes ? show_changes(pool, co.node, argv[optind], argv[optind + 1], (uint32_t) tli)
             : show ? show_one(pool, co.node, show)
                  : rp ? find_rp(pool, co.node, rp, (uint32_t) tli) : build_all(pool, co.node, rebuild);
    pool_close(pool);
    return rc;
}
