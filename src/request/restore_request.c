/* The restore request's codec: one table of fields, one setter that parses
 * a field's text (from a command line, or from a JSON value turned into the
 * same text: request/codec.c), one validation. Errors name the field as the caller spelled
 * it: --base-port on a command line, "base_port" in JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/topology.h"
#include "common/quote.h"
#include "common/util.h"
#include "pool/fields.h"
#include "pool/pool.h"
#include "request/codec.h"
#include "request/restore_request.h"
#include "request/target.h"

typedef enum FieldId
{
    F_NODE, F_CLUSTER, F_SHARD, F_TO, F_DIR, F_BASE_PORT,
    F_LATEST, F_TIME, F_XID, F_LSN, F_NAME, F_IMMEDIATE, F_CP, F_GTXID,
    F_BACKUP, F_TARGET_DIR, F_ACTION, F_ARCHIVE_NODE, F_PGBIN, F_META,
    F_EXCLUSIVE, F_FORCE, F_START, F_JOBS, F_PORT, F_START_TIMEOUT, F_MAXRATE, F_SET,
    F_CUT, F_PRIMARIES_ONLY, F_PLACEMENT, F_HOSTS,
    F_COUNT
} FieldId;

static const RequestField fields[] = {
    {F_NODE, "node", "node", FIELD_STRING},
    {F_CLUSTER, "cluster", "cluster", FIELD_STRING},
    {F_SHARD, "shard", "shard", FIELD_STRING},
    {F_TO, "to", "to", FIELD_STRING},
    {F_DIR, "dir", "dir", FIELD_STRING},
    {F_BASE_PORT, "base-port", "base_port", FIELD_INT},
    {F_LATEST, "latest", "latest", FIELD_FLAG},
    {F_TIME, "time", "time", FIELD_STRING},
    {F_XID, "xid", "xid", FIELD_STRING},
    {F_LSN, "lsn", "lsn", FIELD_STRING},
    {F_NAME, "name", "name", FIELD_STRING},
    {F_IMMEDIATE, "immediate", "immediate", FIELD_FLAG},
    {F_CP, "cp", "cp", FIELD_STRING},
    {F_GTXID, "gtxid", "gtxid", FIELD_STRING},
    {F_BACKUP, "backup", "backup", FIELD_STRING},
    {F_TARGET_DIR, "target-dir", "target_dir", FIELD_STRING},
    {F_ACTION, "target-action", "target_action", FIELD_STRING},
    {F_ARCHIVE_NODE, "archive-node", "archive_node", FIELD_STRING},
    {F_PGBIN, "pg-bin", "pg_bin", FIELD_STRING},
    {F_META, "meta-conn", "meta_conn", FIELD_STRING},
    {F_EXCLUSIVE, "exclusive", "exclusive", FIELD_FLAG},
    {F_FORCE, "force", "force", FIELD_FLAG},
    {F_START, "start", "start", FIELD_FLAG},
    {F_JOBS, "jobs", "jobs", FIELD_INT},
    {F_PORT, "port", "port", FIELD_INT},
    {F_START_TIMEOUT, "start-timeout", "start_timeout", FIELD_INT},
    {F_MAXRATE, "max-rate", "max_rate", FIELD_SIZE},
    {F_SET, "set", "settings", FIELD_LIST},
    {F_CUT, "cut", "cut", FIELD_STRING},
    {F_PRIMARIES_ONLY, "primaries-only", "primaries_only", FIELD_FLAG},
    {F_PLACEMENT, "placement", "placement", FIELD_STRING},
    {F_HOSTS, "hosts", "hosts", FIELD_STRING},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* What only a cluster restore takes, and what the manager's restore job
 * takes (it restores clusters, into its own directories and ports when
 * the request names none). */
#define BIT(f) ((uint64_t) 1 << (f))
static const uint64_t cluster_only = BIT(F_CP) | BIT(F_GTXID) | BIT(F_TO) | BIT(F_DIR) | BIT(F_BASE_PORT) |
                                     BIT(F_SHARD) | BIT(F_CUT) | BIT(F_PRIMARIES_ONLY) | BIT(F_PLACEMENT) |
                                     BIT(F_HOSTS);
static const uint64_t manager_fields = BIT(F_CLUSTER) | BIT(F_SHARD) | BIT(F_TO) | BIT(F_DIR) | BIT(F_BASE_PORT) |
                                       BIT(F_LATEST) | BIT(F_TIME) | BIT(F_CP) | BIT(F_GTXID) | BIT(F_CUT) |
                                       BIT(F_PLACEMENT) | BIT(F_HOSTS);

static const char *
target_field_key(RestoreTargetKind k)
{
    static const char *keys[] = {"latest", "time", "xid", "lsn", "name", "immediate", "cp", "gtxid"};
    return keys[k];
}

const char *
restore_target_kind_name(RestoreTargetKind k)
{
    return target_field_key(k);
}

void
restore_request_init(RestoreRequest *r)
{
    memset(r, 0, sizeof(*r));
    r->jobs = 2;
    r->action = xstrdup("promote");
    r->start_timeout = 300;
}

void
restore_request_free(RestoreRequest *r)
{
    char **strings[] = {&r->node, &r->cluster, &r->shard, &r->to, &r->dir, &r->target_value, &r->backup_id,
                        &r->target_dir, &r->action, &r->archive_node, &r->pg_bin, &r->meta_conn, &r->cut,
                        &r->placement, &r->hosts};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        free(*strings[i]);
    for (size_t i = 0; i < r->nsets; i++)
        free(r->sets[i]);
    free(r->sets);
    memset(r, 0, sizeof(*r));
}

/* A target's value checked as the recovery setting will need it. */
static int
set_target(RestoreRequest *r, RestoreTargetKind kind, const char *label, const char *value, Error *err)
{
    Target t = {0};
    int rc = 0;
    switch (kind)
    {
        case RESTORE_TARGET_TIME: rc = target_parse_time(value, &t, err); break;
        case RESTORE_TARGET_XID: rc = target_parse_xid(value, &t, err); break;
        case RESTORE_TARGET_LSN: rc = target_parse_lsn(value, &t, err); break;
        case RESTORE_TARGET_NAME: rc = target_parse_name(value, &t, err); break;
        case RESTORE_TARGET_CP:
        case RESTORE_TARGET_GTXID:
            if (!*value)
                rc = error_set(err, "%s: the value is empty", label);
            break;
        default: break;
    }
    target_free(&t);
    /* target.c's messages name the flag (--time '...' is not a time) */
    if (rc != 0)
        return -1;
    r->ntargets++;
    r->target_kind = kind;
    free(r->target_value);
    r->target_value = value ? xstrdup(value) : NULL;
    return 0;
}

/* A comma-separated list of host names (letters, digits, '.', '-', ':'). */
static int
set_hosts(RestoreRequest *r, const char *label, const char *value, Error *err)
{
    bool ok = value[0] && value[0] != ',' && value[strlen(value) - 1] != ',' && strlen(value) < 4096 &&
              !strstr(value, ",,");
    for (const char *c = value; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
             *c == '-' || *c == ':' || *c == ',';
    if (!ok)
        return error_set(err, "%s '%s' must be host names separated by commas (e.g. db1,db2,db3)", label, value);
    request_set_string(&r->hosts, value);
    return 0;
}

static int
set_field(void *req, const RequestField *f, const char *label, const char *value, Error *err)
{
    RestoreRequest *r = req;
    int rc = 0;
    switch (f->id)
    {
        case F_NODE: request_set_string(&r->node, value); break;
        case F_CLUSTER: request_set_string(&r->cluster, value); break;
        case F_SHARD: request_set_string(&r->shard, value); break;
        case F_TO: request_set_string(&r->to, value); break;
        case F_DIR: request_set_string(&r->dir, value); break;
        case F_PLACEMENT: request_set_string(&r->placement, value); break;
        case F_HOSTS: rc = set_hosts(r, label, value, err); break;
        case F_BASE_PORT: rc = request_set_int(label, value, 1024, 65000, &r->base_port, err); break;
        case F_LATEST: rc = set_target(r, RESTORE_TARGET_LATEST, label, NULL, err); break;
        case F_TIME: rc = set_target(r, RESTORE_TARGET_TIME, label, value, err); break;
        case F_XID: rc = set_target(r, RESTORE_TARGET_XID, label, value, err); break;
        case F_LSN: rc = set_target(r, RESTORE_TARGET_LSN, label, value, err); break;
        case F_NAME: rc = set_target(r, RESTORE_TARGET_NAME, label, value, err); break;
        case F_IMMEDIATE: rc = set_target(r, RESTORE_TARGET_IMMEDIATE, label, NULL, err); break;
        case F_CP: rc = set_target(r, RESTORE_TARGET_CP, label, value, err); break;
        case F_GTXID: rc = set_target(r, RESTORE_TARGET_GTXID, label, value, err); break;
        case F_BACKUP: request_set_string(&r->backup_id, value); break;
        case F_TARGET_DIR: request_set_string(&r->target_dir, value); break;
        case F_ACTION:
            if (strcmp(value, "promote") && strcmp(value, "pause") && strcmp(value, "shutdown"))
                rc = error_set(err, "%s '%s' is not promote, pause or shutdown", label, value);
            else
                request_set_string(&r->action, value);
            break;
        case F_ARCHIVE_NODE: request_set_string(&r->archive_node, value); break;
        case F_PGBIN: request_set_string(&r->pg_bin, value); break;
        case F_META: request_set_string(&r->meta_conn, value); break;
        case F_EXCLUSIVE: r->exclusive = true; break;
        case F_FORCE: r->force = true; break;
        case F_START: r->start = true; break;
        case F_JOBS: rc = request_set_int(label, value, 1, 64, &r->jobs, err); break;
        case F_PORT: rc = request_set_int(label, value, 1, 65535, &r->port, err); break;
        case F_START_TIMEOUT: rc = request_set_int(label, value, 1, 86400 * 7, &r->start_timeout, err); break;
        case F_MAXRATE:
            if (parse_size(value, &r->max_rate, err) != 0)
                rc = error_prefix(err, "%s: ", label);
            else if (r->max_rate == 0)
                rc = error_set(err, "%s must be above 0", label);
            break;
        case F_SET:
            if (pg_setting_assignment_check(value, err) != 0)
                rc = error_prefix(err, "%s '%s': ", label, value);
            else
            {
                r->sets = xrealloc(r->sets, (r->nsets + 1) * sizeof(char *));
                r->sets[r->nsets++] = xstrdup(value);
            }
            break;
        case F_CUT:
            /* how --time and --gtxid cut the shards (docs/design.md, "Exact cluster targets") */
            if (strcmp(value, "auto") && strcmp(value, "exact") && strcmp(value, "cp"))
                rc = error_set(err, "%s '%s' is not auto, exact or cp", label, value);
            else
                request_set_string(&r->cut, value);
            break;
        case F_PRIMARIES_ONLY: r->primaries_only = true; break;
        case F_COUNT: break;
    }
    if (rc == 0)
        r->given |= BIT(f->id);
    return rc;
}

static const RequestSchema schema = {"restore", fields, NFIELDS, set_field};

const RequestSchema *
restore_request_schema(void)
{
    return &schema;
}

int
restore_request_set_flag(RestoreRequest *r, const char *flag, const char *value, Error *err)
{
    return request_set_flag(&schema, r, flag, value, err);
}

int
restore_request_from_argv(int argc, char **argv, RestoreRequest *r, Error *err)
{
    return request_from_argv(&schema, r, argc, argv, err);
}

int
restore_request_from_json(json_object *body, RestoreRequest *r, Error *err)
{
    return request_from_json(&schema, r, body, err);
}

/* The rules, the union of what each path checked before they shared this
 * codec. At most one target; none means the latest (what `strata restore`
 * always did; the manager paths now take the same default). */
static int
validate_cluster(const RestoreRequest *r, RestoreRequestPlace where, Error *err)
{
    if (topology_name_check("cluster", r->cluster, err) != 0)
        return -1;
    RestoreTargetKind k = r->target_kind;
    if (k != RESTORE_TARGET_LATEST && k != RESTORE_TARGET_TIME && k != RESTORE_TARGET_CP && k != RESTORE_TARGET_GTXID)
        return error_set(err, "a cluster restores to a consistency point: cp, time, gtxid or latest (per-shard "
                              "xid/lsn/name/immediate targets would not be consistent)");
    if (r->shard && topology_name_check("shard", r->shard, err) != 0)
        return -1;
    if (r->cut && strcmp(r->cut, "auto") && k != RESTORE_TARGET_TIME && k != RESTORE_TARGET_GTXID)
        return error_set(err, "cut %s applies to time and gtxid targets only (the others are consistency points)",
                         r->cut);
    if (!r->to && (!r->shard || where == RESTORE_AT_MANAGER))
        return error_set(err, "a cluster restore needs \"to\" (--to NAME): the new cluster's name");
    if (r->to && topology_name_check("to (the new cluster's name)", r->to, err) != 0)
        return -1;
    if (r->to && !strcmp(r->to, r->cluster))
        return error_set(err, "to must name a new cluster, not the source %s", r->cluster);
    if (r->shard && (r->placement || r->hosts))
        return error_set(err, "placement and hosts place a whole cluster: a shard alone restores on one host");
    if (r->placement && (r->dir || r->base_port))
        return error_set(err, "placement names the new cluster's hosts, directories and ports: not with dir or "
                              "base-port");
    if (r->placement && (r->placement[0] != '/' || strlen(r->placement) > 1024))
        return error_set(err, "placement must be an absolute path to a placement file (on the host that restores), "
                              "not '%s'", r->placement);
    if (r->hosts && where == RESTORE_AT_LOCAL && !r->placement)
        return error_set(err, "hosts picks hosts of a placement (--placement FILE) or of the cluster manager's node "
                              "managers");
    if (where == RESTORE_AT_LOCAL && !r->placement && (!r->dir || !r->base_port))
        return error_set(err, "a cluster restore needs dir and base-port (--dir, --base-port) for the new cluster, "
                              "or a placement on hosts (--placement FILE)");
    if (where == RESTORE_AT_MANAGER && r->dir)
    {
        Error perr;
        if (r->dir[0] != '/' || relative_path_check("dir", r->dir + 1, &perr) != 0)
            return error_set(err, "dir must be an absolute path without '.', '..' or empty parts (it is on the "
                                  "manager's host), not '%s'", r->dir);
    }
    return 0;
}

static int
validate_node(const RestoreRequest *r, Error *err)
{
    if (r->given & cluster_only)
        return error_set(err, "cp, gtxid, to, dir, base-port, shard, cut and primaries-only go with cluster");
    RestoreTargetKind k = r->target_kind;
    if (r->exclusive && k != RESTORE_TARGET_TIME && k != RESTORE_TARGET_XID && k != RESTORE_TARGET_LSN)
        return error_set(err, "exclusive applies to time, xid and lsn targets only");
    if (!r->target_dir)
        return error_set(err, "target-dir is required: the new data directory");
    if (!r->node)
        return error_set(err, "node is required: the pool node restored (e.g. c1/shard1)");
    if (node_name_check(r->node, err) != 0)
        return -1;
    if (r->archive_node)
    {
        if (node_name_check(r->archive_node, err) != 0)
            return error_prefix(err, "archive-node: ");
        if (!strcmp(r->archive_node, r->node))
            return error_set(err, "archive-node must differ from the source node %s: the restored instance must not "
                                  "write into its source's archive", r->node);
    }
    return 0;
}

int
restore_request_validate(const RestoreRequest *r, RestoreRequestPlace where, Error *err)
{
    if (r->ntargets > 1)
    {
        /* Name what was given, as the flags (the same text on every path). */
        char given[128] = "";
        for (size_t i = 0; i < NFIELDS; i++)
            if (fields[i].id >= F_LATEST && fields[i].id <= F_GTXID && (r->given & BIT(fields[i].id)))
                snprintf(given + strlen(given), sizeof(given) - strlen(given), "%s--%s", *given ? " and " : "",
                         fields[i].flag);
        return error_set(err, "%s given: give one target at most (latest, time, xid, lsn, name, immediate, cp, gtxid)",
                         given);
    }
    if (where == RESTORE_AT_MANAGER)
    {
        uint64_t extra = r->given & ~manager_fields;
        for (size_t i = 0; extra && i < NFIELDS; i++)
            if (extra & BIT(fields[i].id))
                return error_set(err, "%s is not taken by a restore through the cluster manager (it restores "
                                      "clusters: cluster, shard, to, dir, base_port and a target)", fields[i].key);
        if (!r->cluster)
            return error_set(err, "the cluster manager restores clusters: cluster is required");
    }
    return r->cluster ? validate_cluster(r, where, err) : validate_node(r, err);
}

static void
add_field(json_object *o, const RestoreRequest *r, const RequestField *f)
{
    json_object *v = NULL;
    switch (f->id)
    {
        case F_NODE: v = json_object_new_string(r->node); break;
        case F_CLUSTER: v = json_object_new_string(r->cluster); break;
        case F_SHARD: v = json_object_new_string(r->shard); break;
        case F_TO: v = json_object_new_string(r->to); break;
        case F_DIR: v = json_object_new_string(r->dir); break;
        case F_BASE_PORT: v = json_object_new_int(r->base_port); break;
        case F_PLACEMENT: v = json_object_new_string(r->placement); break;
        case F_HOSTS: v = json_object_new_string(r->hosts); break;
        case F_BACKUP: v = json_object_new_string(r->backup_id); break;
        case F_TARGET_DIR: v = json_object_new_string(r->target_dir); break;
        case F_ACTION: v = json_object_new_string(r->action); break;
        case F_ARCHIVE_NODE: v = json_object_new_string(r->archive_node); break;
        case F_PGBIN: v = json_object_new_string(r->pg_bin); break;
        case F_META: v = json_object_new_string(r->meta_conn); break;
        case F_EXCLUSIVE: v = json_object_new_boolean(r->exclusive); break;
        case F_FORCE: v = json_object_new_boolean(r->force); break;
        case F_START: v = json_object_new_boolean(r->start); break;
        case F_JOBS: v = json_object_new_int(r->jobs); break;
        case F_PORT: v = json_object_new_int(r->port); break;
        case F_START_TIMEOUT: v = json_object_new_int(r->start_timeout); break;
        case F_MAXRATE: v = json_object_new_int64((int64_t) r->max_rate); break;
        case F_CUT: v = json_object_new_string(r->cut); break;
        case F_PRIMARIES_ONLY: v = json_object_new_boolean(r->primaries_only); break;
        case F_SET:
            v = json_object_new_array();
            for (size_t i = 0; i < r->nsets; i++)
                json_object_array_add(v, json_object_new_string(r->sets[i]));
            break;
        default: return;   /* targets: written once, below */
    }
    json_object_object_add(o, f->key, v);
}

json_object *
restore_request_to_json(const RestoreRequest *r)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < NFIELDS; i++)
        if (r->given & BIT(fields[i].id))
            add_field(o, r, &fields[i]);
    const char *key = target_field_key(r->target_kind);
    json_object_object_add(o, key, r->target_value ? json_object_new_string(r->target_value)
                                                   : json_object_new_boolean(1));
    return o;
}
