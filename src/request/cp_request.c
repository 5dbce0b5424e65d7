/* The CP request's codec: its field table and setter over request/codec.c,
 * and its rules, stated once. */
#include <stdlib.h>
#include <string.h>

#include "cluster/topology.h"
#include "common/util.h"
#include "common/name_limits.h"
#include "request/codec.h"
#include "request/cp_request.h"

enum { C_CLUSTER, C_NAME, C_META, C_TIMEOUT, C_EVERY, C_COUNT };

static const RequestField fields[] = {
    {C_CLUSTER, "cluster", "cluster", FIELD_STRING},
    {C_NAME, "name", "name", FIELD_STRING},
    {C_META, "meta-conn", "meta_conn", FIELD_STRING},
    {C_TIMEOUT, "timeout-ms", "timeout_ms", FIELD_INT},
    {C_EVERY, "every", "every", FIELD_INT},
    {C_COUNT, "count", "count", FIELD_INT},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
#define BIT(f) ((uint64_t) 1 << (f))

void
cp_request_init(CpRequest *r)
{
    memset(r, 0, sizeof(*r));
    r->timeout_ms = 2000;
}

void
cp_request_free(CpRequest *r)
{
    free(r->cluster);
    free(r->name);
    free(r->meta_conn);
    memset(r, 0, sizeof(*r));
}

static int
set_long(const char *label, const char *value, long min, long max, long *out, Error *err)
{
    if (parse_int_range(value, min, max, out, err) != 0)
        return error_prefix(err, "%s: ", label);
    return 0;
}

static int
set_field(void *req, const RequestField *f, const char *label, const char *value, Error *err)
{
    CpRequest *r = req;
    long v = 0;
    int rc = 0;
    switch (f->id)
    {
        case C_CLUSTER: request_set_string(&r->cluster, value); break;
        case C_NAME: request_set_string(&r->name, value); break;
        case C_META: request_set_string(&r->meta_conn, value); break;
        case C_TIMEOUT:
            if ((rc = set_long(label, value, 10, 600000, &v, err)) == 0)
                r->timeout_ms = (int) v;
            break;
        case C_EVERY:
            if ((rc = set_long(label, value, 1, 86400, &v, err)) == 0)
                r->every = (int) v;
            break;
        case C_COUNT: rc = set_long(label, value, 0, 100000000, &r->count, err); break;
        default: break;
    }
    if (rc == 0)
        r->given |= BIT(f->id);
    return rc;
}

static const RequestSchema schema = {"consistency point", fields, NFIELDS, set_field};

const RequestSchema *
cp_request_schema(void)
{
    return &schema;
}

int
cp_request_set_flag(CpRequest *r, const char *flag, const char *value, Error *err)
{
    return request_set_flag(&schema, r, flag, value, err);
}

int
cp_request_from_json(json_object *body, CpRequest *r, Error *err)
{
    /* no body: a CP with a generated name */
    return body ? request_from_json(&schema, r, body, err) : 0;
}

/* Which fields each place takes besides the cluster. */
static uint64_t
allowed(CpRequestPlace where)
{
    switch (where)
    {
        case CP_CREATE_AT_LOCAL: return BIT(C_NAME) | BIT(C_META) | BIT(C_TIMEOUT) | BIT(C_EVERY) | BIT(C_COUNT);
        case CP_LIST_AT_LOCAL: return 0;
        case CP_CREATE_AT_MANAGER: return BIT(C_NAME) | BIT(C_TIMEOUT);
    }
    return 0;
}

int
cp_request_validate(const CpRequest *r, CpRequestPlace where, Error *err)
{
    uint64_t extra = r->given & ~(allowed(where) | BIT(C_CLUSTER));
    for (size_t i = 0; extra && i < NFIELDS; i++)
        if (extra & BIT(fields[i].id))
            return error_set(err, "%s (--%s) does not apply to %s", fields[i].key, fields[i].flag,
                             where == CP_LIST_AT_LOCAL      ? "listing consistency points"
                             : where == CP_CREATE_AT_MANAGER ? "a consistency point taken by the cluster manager "
                                                               "(it takes name and timeout_ms)"
                                                             : "creating a consistency point");
    if (!r->cluster)
        return error_set(err, "cluster is required (--cluster)");
    if (topology_name_check("cluster", r->cluster, err) != 0)
        return -1;
    /* The name becomes a pool object's name: clusters/C/cps/NAME.json. */
    if (r->name && (!*r->name || strlen(r->name) > CP_NAME_MAX))
        return error_set(err, "name (--name): 1 to %d characters", CP_NAME_MAX);
    if (r->name && topology_name_check("consistency point name", r->name, err) != 0)
        return -1;
    if (where == CP_CREATE_AT_LOCAL && !r->meta_conn)
        return error_set(err, "create needs meta-conn (--meta-conn: the metadata primary)");
    if (r->name && r->every)
        return error_set(err, "name (--name) names one CP; with every (--every) names are generated");
    if ((r->given & BIT(C_COUNT)) && !r->every)
        return error_set(err, "count (--count) goes with every (--every)");
    return 0;
}

static json_object *
field_json(const void *req, int id)
{
    const CpRequest *r = req;
    switch (id)
    {
        case C_CLUSTER: return json_object_new_string(r->cluster);
        case C_NAME: return json_object_new_string(r->name);
        case C_META: return json_object_new_string(r->meta_conn);
        case C_TIMEOUT: return json_object_new_int(r->timeout_ms);
        case C_EVERY: return json_object_new_int(r->every);
        case C_COUNT: return json_object_new_int64(r->count);
        default: return NULL;
    }
}

json_object *
cp_request_to_json(const CpRequest *r)
{
    return request_given_json(&schema, r->given, field_json, r);
}
