#include "restore/exact_plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/history.h"
#include "cluster/topology.h"
#include "common/log.h"
#include "common/util.h"
#include "consistency/cp_choose.h"
#include "consistency/cp_store.h"
#include "pg/conn.h"
#include "pool/manifest.h"

#define L(x) (unsigned) ((x) >> 32), (unsigned) (x)

int
exact_cut_mode_parse(const char *text, ExactCutMode *out, Error *err)
{
    if (!text || !strcmp(text, "auto"))
        *out = EXACT_CUT_AUTO;
    else if (!strcmp(text, "exact"))
        *out = EXACT_CUT_EXACT;
    else if (!strcmp(text, "cp"))
        *out = EXACT_CUT_CP;
    else
        return error_set(err, "--cut '%s' is not auto, exact or cp", text);
    return 0;
}

static int
fall_back(ExactPlan *ep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int
fall_back(ExactPlan *ep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ep->why, sizeof(ep->why), fmt, ap);
    va_end(ap);
    ep->exact = false;
    return 1;
}

static double
end_cp_epoch(json_object *b, const char **name)
{
    json_object *cp, *v;
    *name = NULL;
    if (!json_object_object_get_ex(b, "end_cp", &cp))
        return -1;
    if (json_object_object_get_ex(cp, "name", &v))
        *name = json_object_get_string(v);
    return json_object_object_get_ex(cp, "epoch", &v) ? json_object_get_double(v) : -1;
}

int
exact_plan_gtxid_decision(const RestoreOptions *o, double *epoch, uint32_t *xid, Error *err)
{
    if (!o->meta_conn)
        return error_set(err, "--gtxid needs --meta-conn: the source's metadata primary, to read when %s was decided "
                              "(read only)", o->gtxid);
    PGconn *meta = catalog_connect(o->meta_conn, false, err);
    if (!meta)
        return -1;
    bool found = false;
    int rc = catalog_commit_decided_at(meta, "source metadata primary", o->gtxid, &found, epoch, xid, err);
    if (rc == 0 && !found)
        rc = error_set(err, "global transaction %s has no commit decision in the commit log of cluster %s: it was "
                            "aborted or never existed", o->gtxid, o->cluster);
    PQfinish(meta);
    return rc;
}

/* The newest complete cluster backup whose end CP is before the target. */
static int
choose(const RestoreOptions *o, const Plan *p, ExactPlan *ep, Error *err)
{
    double target = 0;
    if (o->gtxid)
    {
        if (exact_plan_gtxid_decision(o, &target, &ep->decision_xid, err) != 0)
            return -1;
    }
    else
        target = o->target.time;
    ep->target_us = (int64_t) llround(target * 1e6);
    ep->after = cp_first_after(p->cps, p->ncps, target);
    if (!ep->after)
        return fall_back(ep, "no consistency point after the target yet, so the WAL past it is not known to be "
                             "archived on every node");
    for (size_t i = 0; i < p->nbackups; i++)
    {
        const char *scope = jstring(p->backups[i], "scope"), *name;
        double end = end_cp_epoch(p->backups[i], &name);
        const ConsistencyPoint *cp = name ? cp_named(p->cps, p->ncps, name) : NULL;
        if (scope && !strcmp(scope, "cluster") && cp && end >= 0 && (o->gtxid ? end < target : end <= target))
        {
            ep->backup = p->backups[i];
            ep->end_cp = cp;
        }
    }
    if (!ep->backup)
        return fall_back(ep, "no complete cluster backup ends before the target");
    return 0;
}

/* The start and stop of a node backup (its manifest). */
static int
node_backup_lsns(Pool *pool, const char *node, const char *id, Lsn *start, Lsn *stop, Error *err)
{
    BackupList bl;
    if (backup_list_load(pool, node, &bl, err) != 0)
        return -1;
    int rc = error_set(err, "node %s has no complete backup %s in pool %s", node, id ? id : "?", pool->location);
    for (size_t k = 0; k < bl.count; k++)
        if (bl.items[k].complete && id && !strcmp(bl.items[k].id, id))
        {
            *start = bl.items[k].manifest.start_lsn;
            *stop = bl.items[k].manifest.stop_lsn;
            rc = 0;
        }
    backup_list_free(&bl);
    return rc;
}

static int
collect(Pool *pool, ExactPlan *ep, ExactNode *n, Lsn from, Error *err)
{
    if (n->have_ch)
        wal_changes_free(&n->ch);
    n->have_ch = false;
    Lsn to = cp_member_lsn(ep->after, n->set);
    if (wal_changes_collect(pool, n->node, 0, from, to, &n->ch, err) != 0)
        return -1;
    n->have_ch = true;
    if (!n->ch.complete)
        return fall_back(ep, "the WAL index of %s does not describe %X/%X to %X/%X: %s", n->node, L(from), L(to),
                         n->ch.why);
    n->ceiling = 0;
    for (size_t i = 0; i < n->ch.index.nrpoints; i++)
        if (!strcmp(n->ch.index.rpoints[i].name, ep->after->name))
            n->ceiling = n->ch.index.rpoints[i].lsn;
    if (!n->ceiling)
        return fall_back(ep, "the restore point of CP %s is not in the archived WAL of %s before %X/%X", ep->after->name,
                         n->node, L(to));
    return 0;
}

/* One node: its backup, the floor, the records up to the next CP. */
static int
read_node(Pool *pool, const RestoreOptions *o, ExactPlan *ep, ExactNode *n, const char *set, const char *backup,
          Error *err)
{
    n->set = xstrdup(set);
    n->node = xprintf("%s/%s", o->cluster, set);
    Lsn stop = 0;
    if (node_backup_lsns(pool, n->node, backup, &n->start, &stop, err) != 0)
        return -1;
    n->floor = cp_member_lsn(ep->end_cp, set);
    if (stop > n->floor)
        n->floor = stop;
    return collect(pool, ep, n, n->start, err);
}

/* A PREPARE before the backup's start may be committed inside the range:
 * read the shard's WAL from the beginning of its archive to name it. */
static int
name_old_prepares(Pool *pool, ExactPlan *ep, ExactNode *n, Error *err)
{
    ExactDecided none = {NULL, 0};
    ExactWindowInput in = {.shard = n->set, .xacts = n->ch.index.xacts, .nxacts = n->ch.index.nxacts,
                           .decided = &none, .floor = n->floor, .ceiling = n->ceiling, .target_us = ep->target_us};
    ExactCut c;
    uint32_t unknown;
    Error e;
    if (exact_window_cut(&in, &c, &unknown, &e) == 0 || !unknown)
        return 0;
    log_info("%s: %s; reading its WAL index from the start of its archive", n->node, e.msg);
    int rc = collect(pool, ep, n, 0, err);
    if (rc != 0)
        return rc;
    in.xacts = n->ch.index.xacts;
    in.nxacts = n->ch.index.nxacts;
    if (exact_window_cut(&in, &c, &unknown, &e) != 0 && unknown)
        return fall_back(ep, "%s", e.msg);
    return 0;
}

/* The metadata cut: before the first commit stamped after T (the one
 * clock), or just after G's decision. */
static int
meta_cut(ExactPlan *ep, const RestoreOptions *o)
{
    ExactNode *m = &ep->meta;
    m->lsn = 0;
    for (size_t i = 0; i < m->ch.index.nxacts && !m->lsn; i++)
    {
        const WalXact *x = &m->ch.index.xacts[i];
        if (x->kind != WAL_XACT_COMMIT || x->lsn < m->floor || x->lsn >= m->ceiling)
            continue;
        if (o->gtxid && x->xid == ep->decision_xid)
            m->lsn = x->end, m->how = "after-decision";
        else if (!o->gtxid && x->time_us > ep->target_us)
            m->lsn = x->lsn, m->how = "time";
    }
    if (!m->lsn && o->gtxid)
        return fall_back(ep, "the commit of %s's decision (xid %" PRIu32 ") is not in the archived WAL of %s from "
                             "%X/%X to %X/%X", o->gtxid, ep->decision_xid, m->node, L(m->floor), L(m->ceiling));
    if (!m->lsn)
        m->lsn = m->ceiling, m->how = "next-cp";
    return 0;
}

int
exact_plan_prepare(Pool *pool, const RestoreOptions *o, const Plan *p, ExactCutMode mode, ExactPlan *ep, Error *err)
{
    memset(ep, 0, sizeof(*ep));
    double t0 = now_seconds();
    int rc;
    if (mode == EXACT_CUT_CP)
        rc = fall_back(ep, "--cut cp");
    else if (!o->gtxid && o->target.kind != TARGET_TIME)
        rc = fall_back(ep, "the target is a consistency point");
    else if (o->shard)
        rc = fall_back(ep, "one shard restored alone is cut at a consistency point");
    else
        rc = choose(o, p, ep, err);
    json_object *nodes = NULL;
    if (rc == 0)
        json_object_object_get_ex(ep->backup, "nodes", &nodes);
    size_t n = nodes ? json_object_array_length(nodes) : 0;
    if (rc == 0)
        ep->shards = xcalloc(n ? n : 1, sizeof(ExactNode));
    bool have_meta = false;
    for (size_t i = 0; i < n && rc == 0; i++)
    {
        json_object *nb = json_object_array_get_idx(nodes, i);
        const char *set = jstring(nb, "set"), *backup = jstring(nb, "backup");
        if (!set)
            continue;
        bool is_meta = !strcmp(set, TOPO_META_SET);
        ExactNode *node = is_meta ? &ep->meta : &ep->shards[ep->nshards++];
        have_meta |= is_meta;
        rc = read_node(pool, o, ep, node, set, backup, err);
        if (rc == 0 && !is_meta)
            rc = name_old_prepares(pool, ep, node, err);
    }
    if (rc == 0 && !have_meta)
        rc = error_set(err, "cluster backup %s has no backup of the metadata set", jstring(ep->backup, "id"));
    if (rc == 0)
        rc = meta_cut(ep, o);
    if (rc == 0)
        ep->exact = true;
    ep->plan_secs = now_seconds() - t0;
    if (rc == 1 && mode == EXACT_CUT_EXACT)
        return error_set(err, "an exact cut is not possible (--cut exact): %s", ep->why);
    return rc < 0 ? -1 : 0;
}

/* Each shard's cut from the decided set. */
static int
cut_shards(ExactPlan *ep, ExactDecided *d, Error *err)
{
    exact_decisions_sort(d);
    ep->ndecided = d->n;
    for (size_t i = 0; i < ep->nshards; i++)
    {
        ExactNode *s = &ep->shards[i];
        ExactWindowInput in = {.shard = s->set, .xacts = s->ch.index.xacts, .nxacts = s->ch.index.nxacts,
                               .decided = d, .floor = s->floor, .ceiling = s->ceiling, .target_us = ep->target_us};
        if (exact_window_cut(&in, &s->cut, NULL, err) != 0)
            return -1;
        s->lsn = s->cut.lsn;
        s->how = exact_cut_how_name(s->cut.how);
    }
    return 0;
}

static void
decisions_free(ExactDecided *d)
{
    for (size_t i = 0; i < d->n; i++)
        free((char *) d->items[i].gtxid);
    free(d->items);
}

/* The shards cut by the decided set of the commit log's rows
 * (catalog_commit_decisions: gtxid, decided_at in Unix microseconds). */
static int
cut_shards_by(ExactPlan *ep, PGresult *r, Error *err)
{
    ExactDecided d;
    d.items = xcalloc((size_t) PQntuples(r) + 1, sizeof(ExactDecision));
    d.n = 0;
    for (int i = 0; i < PQntuples(r); i++)
        d.items[d.n++] = (ExactDecision){xstrdup(PQgetvalue(r, i, 0)), strtoll(PQgetvalue(r, i, 1), NULL, 10)};
    int rc = cut_shards(ep, &d, err);
    decisions_free(&d);
    return rc;
}

int
exact_plan_decide(ExactPlan *ep, const char *restored_meta_conninfo, Error *err)
{
    PGconn *meta = pg_connect(restored_meta_conninfo, "restored metadata primary", err);
    if (!meta)
        return -1;
    PGresult *r = catalog_commit_decisions(meta, "restored metadata primary", NULL, NULL, err);
    PQfinish(meta);
    if (!r)
        return -1;
    int rc = cut_shards_by(ep, r, err);
    PQclear(r);
    return rc;
}

int
exact_plan_decide_from_source(ExactPlan *ep, const char *source_meta_conninfo, Error *err)
{
    /* the xids whose commit is in [start, cut) of the metadata WAL */
    Buffer xids = {0};
    buffer_appendf(&xids, "{");
    size_t k = 0;
    for (size_t i = 0; i < ep->meta.ch.index.nxacts; i++)
    {
        const WalXact *x = &ep->meta.ch.index.xacts[i];
        if (x->kind == WAL_XACT_COMMIT && x->lsn < ep->meta.lsn)
            buffer_appendf(&xids, "%s%" PRIu32, k++ ? "," : "", x->xid);
    }
    buffer_appendf(&xids, "}");
    PGconn *meta = catalog_connect(source_meta_conninfo, false, err);
    if (!meta)
    {
        buffer_free(&xids);
        return -1;
    }
    char end_cp[64];
    snprintf(end_cp, sizeof(end_cp), "%.6f", ep->end_cp->time);
    /* decided before the backup's end CP (its barrier), or by a commit in
     * the metadata WAL read, before the cut */
    PGresult *r = catalog_commit_decisions(meta, "source metadata primary", (const char *) xids.data, end_cp, err);
    PQfinish(meta);
    buffer_free(&xids);
    if (!r)
        return -1;
    int rc = cut_shards_by(ep, r, err);
    PQclear(r);
    return rc;
}

static json_object *
lsn_json(Lsn lsn)
{
    char t[32];
    lsn_format(lsn, t);
    return json_object_new_string(t);
}

static json_object *
edge_json(const ExactEdge *e, const char *bound)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "lsn", lsn_json(e->lsn));
    char text[400];
    if (e->rec.kind)
        exact_record_text(&e->rec, text, sizeof(text));
    json_object_object_add(o, "by", json_object_new_string(e->rec.kind ? text : bound));
    return o;
}

static json_object *
node_json(const ExactPlan *ep, const ExactNode *n, bool shard)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "set", json_object_new_string(n->set));
    json_object_object_add(o, "method", json_object_new_string("exact"));
    json_object_object_add(o, "lsn", n->lsn ? lsn_json(n->lsn) : NULL);
    json_object_object_add(o, "how", n->how ? json_object_new_string(n->how) : NULL);
    json_object_object_add(o, "records_read", json_object_new_int64((int64_t) n->ch.index.nxacts));
    json_object_object_add(o, "segments_read", json_object_new_int64((int64_t) n->ch.segments));
    if (!shard || !n->lsn)
        return o;
    json_object *w = json_object_new_object();
    json_object_object_add(w, "from", edge_json(&n->cut.lo, "the backup's end CP"));
    json_object_object_add(w, "to", edge_json(&n->cut.hi, "the next CP's restore point"));
    json_object_object_add(o, "window", w);
    json_object_object_add(o, "crossing", n->cut.crossing ? lsn_json(n->cut.crossing) : NULL);
    json_object_object_add(o, "skew_samples", json_object_new_int64((int64_t) n->cut.skew_samples));
    if (n->cut.skew_samples)
    {
        json_object_object_add(o, "skew_seconds", json_object_new_double(n->cut.skew_s));
        json_object *b = json_object_new_array();
        json_object_array_add(b, json_object_new_double(n->cut.skew_lo_s));
        json_object_array_add(b, json_object_new_double(n->cut.skew_hi_s));
        json_object_object_add(o, "skew_bounds_seconds", b);
    }
    (void) ep;
    return o;
}

json_object *
exact_plan_json(const ExactPlan *ep)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string(ep->exact ? "exact" : "cp"));
    json_object_object_add(o, "why", json_object_new_string(ep->exact ? "the WAL index covers every node from its "
                                                                        "backup to the first CP after the target"
                                                                      : ep->why));
    if (!ep->exact)
        return o;
    json_object_object_add(o, "next_cp", json_object_new_string(ep->after->name));
    json_object_object_add(o, "backup", json_object_new_string(jstring(ep->backup, "id")));
    json_object_object_add(o, "decided", json_object_new_int64((int64_t) ep->ndecided));
    json_object_object_add(o, "plan_seconds", json_object_new_double(ep->plan_secs));
    json_object *cuts = json_object_new_array();
    json_object_array_add(cuts, node_json(ep, &ep->meta, false));
    for (size_t i = 0; i < ep->nshards; i++)
        json_object_array_add(cuts, node_json(ep, &ep->shards[i], true));
    json_object_object_add(o, "cuts", cuts);
    return o;
}

static void
node_free(ExactNode *n)
{
    free(n->set);
    free(n->node);
    if (n->have_ch)
        wal_changes_free(&n->ch);
}

void
exact_plan_free(ExactPlan *ep)
{
    node_free(&ep->meta);
    for (size_t i = 0; i < ep->nshards; i++)
        node_free(&ep->shards[i]);
    free(ep->shards);
    memset(ep, 0, sizeof(*ep));
}

static json_object *
method_why(const char *method, const char *why)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "method", json_object_new_string(method));
    json_object_object_add(r, "why", json_object_new_string(why));
    return r;
}

json_object *
exact_plan_preview(Pool *pool, const RestoreOptions *o, const Plan *p, ExactCutMode mode,
                   const char *source_meta_conninfo)
{
    ExactPlan ep;
    Error err;
    if (exact_plan_prepare(pool, o, p, mode, &ep, &err) != 0)
        return method_why("cp", err.msg);
    json_object *r;
    if (ep.exact && exact_plan_decide_from_source(&ep, source_meta_conninfo, &err) != 0)
        r = method_why("none", err.msg);   /* an empty window: the restore would refuse too, saying the same */
    else
        r = exact_plan_json(&ep);
    exact_plan_free(&ep);
    return r;
}
