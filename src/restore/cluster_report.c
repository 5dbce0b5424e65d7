/* The report of a cluster restore (text or JSON): the CP or the exact
 * cut (per node the LSN, how it was placed, the window, the skew). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "restore/cluster_restore_internal.h"
#include "restore/exact_plan.h"

/* The result of a restore as JSON (what --output json prints). */
json_object *
report_json(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs, double secs)
{
    const char *target = o->cp ? "cp" : o->gtxid ? "gtxid" : o->target.kind == TARGET_TIME ? "time" : "latest";
    double distance = o->target.kind == TARGET_TIME ? o->target.time - p->cp->time : 0;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "cluster", json_object_new_string(o->cluster));
    json_object_object_add(r, "restored_as", json_object_new_string(o->to ? o->to : ""));
    json_object_object_add(r, "target", json_object_new_string(target));
    json_object_object_add(r, "cp", json_object_new_string(p->cp->name));
    json_object_object_add(r, "cp_time", json_object_new_string(p->cp->time_text));
    json_object_object_add(r, "distance_seconds", json_object_new_double(distance));
    json_object_object_add(r, "backup", json_object_new_string(jstring(p->backup, "id")));
    json_object_object_add(r, "committed_in_doubt", json_object_new_int64((int64_t) rs->committed));
    json_object_object_add(r, "rolled_back_in_doubt", json_object_new_int64((int64_t) rs->rolled_back));
    json_object_object_add(r, "duration", json_object_new_double(secs));
    if (t)
        json_object_object_add(r, "topology", topology_to_json(t));
    return r;
}

/* A cluster restore's report: report_json and how the nodes were cut
 * ("cut": exact_plan_json); an exact cut is at no CP. */
json_object *
cluster_report_json(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs, double secs,
                    const ExactPlan *ep)
{
    json_object *r = report_json(o, p, t, rs, secs);
    if (ep->exact)
    {
        json_object_object_add(r, "cp", NULL);
        json_object_object_add(r, "cp_time", NULL);
        json_object_object_add(r, "distance_seconds", json_object_new_double(0));
    }
    json_object_object_add(r, "cut", exact_plan_json(ep));
    return r;
}

static void
report_exact(const RestoreOptions *o, const ExactPlan *ep)
{
    char lsn[32];
    if (o->gtxid)
        printf("  global transaction %s: exact, every decision up to and including it (%zu)\n", o->gtxid, ep->ndecided);
    else
        printf("  target time %s: exact, every decision committed by then (%zu)\n", o->target.text, ep->ndecided);
    lsn_format(ep->meta.lsn, lsn);
    printf("    %-8s cut at %s (%s)\n", ep->meta.set, lsn, ep->meta.how);
    for (size_t i = 0; i < ep->nshards; i++)
    {
        const ExactNode *n = &ep->shards[i];
        char lo[32], hi[32];
        lsn_format(n->lsn, lsn);
        lsn_format(n->cut.lo.lsn, lo);
        lsn_format(n->cut.hi.lsn, hi);
        printf("    %-8s cut at %s (%s; window %s to %s)", n->set, lsn, n->how, lo, hi);
        if (n->cut.skew_samples)
            printf(", clock %+.3f s off the metadata primary's (between %+.3f and %+.3f, %zu transactions)",
                   n->cut.skew_s, n->cut.skew_lo_s, n->cut.skew_hi_s, n->cut.skew_samples);
        printf("\n");
    }
}

void
cluster_report_print(const RestoreOptions *o, const Plan *p, const Topology *t, const ResolveStats *rs, double secs,
       const ExactPlan *ep)
{
    double distance = o->target.kind == TARGET_TIME ? o->target.time - p->cp->time : 0;
    if (o->co.json)
    {
        json_object *r = cluster_report_json(o, p, t, rs, secs, ep);
        cli_json_result(json_object_get(r));
        json_object_put(r);
        return;
    }
    if (ep->exact)
    {
        printf("restored cluster %s from cluster backup %s by an exact cut\n", o->cluster, jstring(p->backup, "id"));
        report_exact(o, ep);
    }
    else
        printf("restored %s%s%s from cluster backup %s to consistency point %s (%s)\n", o->shard ? "shard " : "cluster ",
               o->shard ? o->shard : o->cluster, o->to ? "" : "", jstring(p->backup, "id"), p->cp->name,
               p->cp->time_text);
    if ((o->target.kind == TARGET_TIME || o->gtxid) && !ep->exact)
        printf("  cut at the CP: %s\n", ep->why);
    if (o->target.kind == TARGET_TIME && !ep->exact)
        printf("  target time %s: the latest CP at or before it is %.3f s earlier\n", o->target.text, distance);
    if (o->gtxid && !ep->exact)
        printf("  global transaction %s: the first CP after its decision\n", o->gtxid);
    printf("  in-doubt transactions resolved: %zu committed, %zu rolled back; %.1f s\n", rs->committed,
           rs->rolled_back, secs);
    if (t)
    {
        printf("  new cluster %s:\n", t->name);
        for (size_t k = 0; k <= t->nshards; k++)
        {
            const ReplicaSet *set = k == 0 ? &t->meta : &t->shards[k - 1];
            for (size_t i = 0; i < set->nnodes; i++)
                printf("    %-8s %-12s %-8s port %d  %s\n", set->name, set->nodes[i].name,
                       node_role_name(set->nodes[i].role), set->nodes[i].port, set->nodes[i].data_dir);
        }
        for (size_t i = 0; i < t->ncompute; i++)
            printf("    %-8s %-12s %-8s port %d  %s\n", "compute", t->compute[i].name, "compute", t->compute[i].port,
                   t->compute[i].data_dir);
    }
}

