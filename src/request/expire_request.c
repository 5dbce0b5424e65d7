/* The expire request's codec: its field table and setter over
 * request/codec.c, and its rules, stated once. */
#include <stdlib.h>
#include <string.h>

#include "cluster/topology.h"
#include "common/util.h"
#include "pool/lease.h"
#include "pool/pool.h"
#include "request/codec.h"
#include "request/expire_request.h"

enum
{
    E_CLUSTER, E_SHARD, E_NODE, E_KEEP, E_KEEP_DAYS, E_DRY_RUN, E_META, E_INTERRUPTED_AFTER,
};

static const RequestField fields[] = {
    {E_CLUSTER, "cluster", "cluster", FIELD_STRING},
    {E_SHARD, "shard", "shard", FIELD_STRING},
    {E_NODE, "node", "node", FIELD_STRING},
    {E_KEEP, "keep", "keep", FIELD_INT},
    {E_KEEP_DAYS, "keep-days", "keep_days", FIELD_INT},
    {E_DRY_RUN, "dry-run", "dry_run", FIELD_FLAG},
    {E_META, "meta-conn", "meta_conn", FIELD_STRING},
    /* a duration (90s, 30min, 2h) on both paths */
    {E_INTERRUPTED_AFTER, "interrupted-after", "interrupted_after", FIELD_STRING},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define BIT(f) ((uint64_t) 1 << (f))

void
expire_request_init(ExpireRequest *r)
{
    memset(r, 0, sizeof(*r));
}

void
expire_request_free(ExpireRequest *r)
{
    free(r->cluster);
    free(r->shard);
    free(r->node);
    free(r->meta_conn);
    memset(r, 0, sizeof(*r));
}

static int
set_field(void *req, const RequestField *f, const char *label, const char *value, Error *err)
{
    ExpireRequest *r = req;
    long v;
    int rc = 0;
    switch (f->id)
    {
        case E_CLUSTER: request_set_string(&r->cluster, value); break;
        case E_SHARD: request_set_string(&r->shard, value); break;
        case E_NODE: request_set_string(&r->node, value); break;
        case E_META: request_set_string(&r->meta_conn, value); break;
        case E_KEEP: rc = request_set_int(label, value, 1, 1000000, &r->keep, err); break;
        case E_KEEP_DAYS: rc = request_set_int(label, value, 1, 100000, &r->keep_days, err); break;
        case E_DRY_RUN: r->dry_run = true; break;
        case E_INTERRUPTED_AFTER:
            /* Two renewals missed at the least: a live backup's lease is
             * never older than one renewal period (plus a write). */
            if (parse_duration(value, 2 * LEASE_RENEW_SECONDS, 365L * 86400, &v, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            else
                r->interrupted_after = (int) v;
            break;
        default: break;
    }
    if (rc == 0)
        r->given |= BIT(f->id);
    return rc;
}

static const RequestSchema schema = {"expire", fields, NFIELDS, set_field};

const RequestSchema *
expire_request_schema(void)
{
    return &schema;
}

int
expire_request_set_flag(ExpireRequest *r, const char *flag, const char *value, Error *err)
{
    return request_set_flag(&schema, r, flag, value, err);
}

int
expire_request_from_json(json_object *body, ExpireRequest *r, Error *err)
{
    return request_from_json(&schema, r, body, err);
}

int
expire_request_validate(const ExpireRequest *r, ExpireRequestPlace where, Error *err)
{
    if (where == EXPIRE_AT_MANAGER)
    {
        if (r->node || r->meta_conn)
            return error_set(err, "node and meta-conn are not taken by an expire through the cluster manager (it "
                                  "expires the backups of its registered clusters, in its own catalog)");
        if (!r->cluster)
            return error_set(err, "the cluster manager expires registered clusters: cluster is required");
    }
    if ((r->cluster != NULL) == (r->node != NULL))
        return error_set(err, "give --cluster C or --node NODE (one of them): whose backups are expired");
    if (r->shard && !r->cluster)
        return error_set(err, "shard needs --cluster");
    if (r->meta_conn && !r->cluster)
        return error_set(err, "meta-conn goes with --cluster (node backups have no catalog rows)");
    if ((r->keep > 0) == (r->keep_days > 0))
        return error_set(err, "give the retention: --keep N or --keep-days D (one of them)");
    if (r->cluster && (topology_name_check("cluster", r->cluster, err) != 0 ||
                       (r->shard && topology_name_check("shard", r->shard, err) != 0)))
        return -1;
    return r->node ? node_name_check(r->node, err) : 0;
}

static json_object *
field_json(const void *req, int id)
{
    const ExpireRequest *r = req;
    switch (id)
    {
        case E_CLUSTER: return json_object_new_string(r->cluster);
        case E_SHARD: return json_object_new_string(r->shard);
        case E_NODE: return json_object_new_string(r->node);
        case E_META: return json_object_new_string(r->meta_conn);
        case E_KEEP: return json_object_new_int(r->keep);
        case E_KEEP_DAYS: return json_object_new_int(r->keep_days);
        case E_DRY_RUN: return json_object_new_boolean(r->dry_run);
        case E_INTERRUPTED_AFTER:
        {
            char s[32];
            snprintf(s, sizeof(s), "%ds", r->interrupted_after);
            return json_object_new_string(s);
        }
        default: return NULL;
    }
}

json_object *
expire_request_to_json(const ExpireRequest *r)
{
    return request_given_json(&schema, r->given, field_json, r);
}
