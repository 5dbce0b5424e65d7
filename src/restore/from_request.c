#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "restore/from_request.h"

static int
target_from_request(const RestoreRequest *r, Target *t, Error *err)
{
    memset(t, 0, sizeof(*t));
    switch (r->target_kind)
    {
        case RESTORE_TARGET_TIME: return target_parse_time(r->target_value, t, err);
        case RESTORE_TARGET_XID: return target_parse_xid(r->target_value, t, err);
        case RESTORE_TARGET_LSN: return target_parse_lsn(r->target_value, t, err);
        case RESTORE_TARGET_NAME: return target_parse_name(r->target_value, t, err);
        case RESTORE_TARGET_IMMEDIATE: t->kind = TARGET_IMMEDIATE; return 0;
        /* cp and gtxid are cluster targets (o->cp, o->gtxid): no recovery target of their own */
        default: t->kind = TARGET_LATEST; return 0;
    }
}

int
restore_options_from_request(const RestoreRequest *r, RestoreOptions *o, Error *err)
{
    if (target_from_request(r, &o->target, err) != 0)
        return -1;
    o->ntargets = r->ntargets;
    if (r->node)
        o->co.node = r->node;
    o->cluster = r->cluster;
    o->shard = r->shard;
    o->cut = r->cut;
    o->primaries_only = r->primaries_only;
    o->to = r->to;
    o->dir = r->dir;
    o->base_port = r->base_port;
    o->placement_file = r->placement;
    o->hosts = r->hosts;
    o->cp = r->target_kind == RESTORE_TARGET_CP ? r->target_value : NULL;
    o->gtxid = r->target_kind == RESTORE_TARGET_GTXID ? r->target_value : NULL;
    o->backup_id = r->backup_id;
    o->target_dir = r->target_dir;
    o->action = r->action;
    o->archive_node = r->archive_node;
    if (r->pg_bin)
        o->pg_bin = r->pg_bin;
    if (r->meta_conn)
        o->meta_conn = r->meta_conn;
    o->exclusive = r->exclusive;
    o->force = r->force;
    o->start = r->start;
    o->jobs = r->jobs;
    o->port = r->port;
    o->start_timeout = r->start_timeout;
    if (r->max_rate)
        o->max_rate = r->max_rate;
    o->sets = xcalloc(r->nsets + 1, sizeof(char *));
    for (size_t i = 0; i < r->nsets; i++)
        o->sets[i] = r->sets[i];
    o->nsets = r->nsets;
    return 0;
}
