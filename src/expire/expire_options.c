/* A validated expire request (request/expire_request.h) as the engine's
 * options: the one place where the front ends' request meets expire_run. */
#include <string.h>

#include "expire/expire.h"

void
expire_options_from_request(ExpireOptions *o, const ExpireRequest *r, const char *pool)
{
    memset(o, 0, sizeof(*o));
    o->pool = pool;
    o->cluster = r->cluster;
    o->shard = r->shard;
    o->node = r->node;
    o->keep = r->keep;
    o->keep_days = r->keep_days;
    o->dry_run = r->dry_run;
    o->interrupted_after = r->interrupted_after;
    o->meta_conn = r->meta_conn;
}
