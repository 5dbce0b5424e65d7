/* Retention right after a backup: the decision, and applying it without
 * letting it fail the backup (expire/auto_expire.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/json_member.h"
#include "common/log.h"
#include "common/util.h"
#include "expire/auto_expire.h"

static void
retention_text(int keep, int keep_days, char *out, size_t len)
{
    if (keep > 0)
        snprintf(out, len, "keep the last %d", keep);
    else
        snprintf(out, len, "keep %d day(s)", keep_days);
}

void
auto_expire_decide(ExpireAuto setting, int keep, int keep_days, const RetentionPolicy *policies, size_t npolicies,
                   bool queued_by_policy, AutoExpireChoice *out)
{
    memset(out, 0, sizeof(*out));
    char what[64];
    if (setting == EXPIRE_AUTO_OFF)
    {
        snprintf(out->reason, sizeof(out->reason), "expire-auto is off");
        return;
    }
    if (queued_by_policy)
    {
        snprintf(out->reason, sizeof(out->reason), "a policy's backup: the policy's expire job applies its retention");
        return;
    }
    if (keep > 0 || keep_days > 0)
    {
        out->apply = true;
        out->keep = keep > 0 ? keep : 0;
        out->keep_days = keep > 0 ? 0 : keep_days;
        retention_text(out->keep, out->keep_days, what, sizeof(what));
        snprintf(out->source, sizeof(out->source), "the backup's options (--%s): %s", keep > 0 ? "keep" : "keep-days",
                 what);
        return;
    }
    if (npolicies > 0)
    {
        const RetentionPolicy *p = &policies[0];
        bool agree = true;
        for (size_t i = 1; i < npolicies; i++)
            agree = agree && policies[i].keep_last == p->keep_last && policies[i].keep_days == p->keep_days;
        if (!agree)
        {
            int n = snprintf(out->reason, sizeof(out->reason), "the policies of this scope set different retentions "
                                                               "(policies");
            for (size_t i = 0; i < npolicies && n > 0 && (size_t) n < sizeof(out->reason); i++)
                n += snprintf(out->reason + n, sizeof(out->reason) - (size_t) n, " %lld", (long long) policies[i].id);
            if (n > 0 && (size_t) n < sizeof(out->reason))
                snprintf(out->reason + n, sizeof(out->reason) - (size_t) n,
                         "): none applied; give --keep or --keep-days, or run strata expire");
            out->warn = true;
            return;
        }
        out->apply = true;
        out->keep = p->keep_last;
        out->keep_days = p->keep_last > 0 ? 0 : p->keep_days;
        retention_text(out->keep, out->keep_days, what, sizeof(what));
        snprintf(out->source, sizeof(out->source), "policy %lld: %s", (long long) p->id, what);
        return;
    }
    snprintf(out->reason, sizeof(out->reason), "no retention set (--keep, --keep-days, or a policy of this scope)");
    out->warn = setting == EXPIRE_AUTO_ON;
}

/* "a, b and c" of the ids in a report array (objects with "id", or strings). */
static char *
ids_text(json_object *arr)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n == 0)
        return xstrdup("none");
    char *text = xstrdup("");
    for (size_t i = 0; i < n; i++)
    {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *id = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : json_member_string(e, "id");
        if (!id)
            id = json_member_string(e, "name");
        char *next = xprintf("%s%s%s", text, i == 0 ? "" : i + 1 == n ? " and " : ", ", id ? id : "?");
        free(text);
        text = next;
    }
    return text;
}

static json_object *
member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

json_object *
auto_expire_apply(const AutoExpireChoice *c, const ExpireOptions *base)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "applied", json_object_new_boolean(c->apply));
    if (!c->apply)
    {
        json_object_object_add(r, "reason", json_object_new_string(c->reason));
        if (c->warn)
            log_warn("retention after the backup not applied: %s", c->reason);
        return r;
    }
    ExpireOptions o = *base;
    o.keep = c->keep;
    o.keep_days = c->keep_days;
    o.dry_run = false;
    json_object_object_add(r, "source", json_object_new_string(c->source));
    json_object_object_add(r, c->keep > 0 ? "keep" : "keep_days", json_object_new_int(c->keep > 0 ? c->keep : c->keep_days));
    json_object *report = NULL;
    Error err;
    int rc = expire_run(&o, &report, &err);
    json_object *removed = member(report, "removed_backups"), *cps = member(report, "removed_cps"),
                *wal = member(report, "removed_wal");
    json_object_object_add(r, "removed_backups", removed ? json_object_get(removed) : json_object_new_array());
    json_object_object_add(r, "removed_cps", cps ? json_object_get(cps) : json_object_new_array());
    json_object_object_add(r, "removed_wal", json_object_new_int64(wal ? (int64_t) json_object_array_length(wal) : 0));
    char *b = ids_text(member(r, "removed_backups")), *p = ids_text(member(r, "removed_cps"));
    const char *scope = base->node ? base->node : base->cluster;
    if (rc != 0)
    {
        json_object_object_add(r, "error", json_object_new_string(err.msg));
        log_warn("retention after the backup (%s) of %s failed, the backup stands: %s (removed before the failure: "
                 "backups %s)", c->source, scope, err.msg, b);
    }
    else
        log_info("retention after the backup (%s) of %s: removed backups %s; consistency points %s; %d WAL file(s)",
                 c->source, scope, b, p, (int) json_object_get_int64(member(r, "removed_wal")));
    free(b);
    free(p);
    json_object_put(report);
    return r;
}

/* {"applied": false, "error"}: the retention could not even be decided. */
static json_object *
undecided(const char *scope, const Error *err)
{
    log_warn("retention after the backup of %s not applied, the backup stands: %s", scope, err->msg);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "applied", json_object_new_boolean(false));
    json_object_object_add(r, "error", json_object_new_string(err->msg));
    return r;
}

json_object *
auto_expire_after(const BackupRequest *req, const char *pool, const char *meta_conn, PGconn *catalog,
                  bool queued_by_policy)
{
    ExpireOptions base = {0};
    base.pool = pool;
    base.cluster = req->cluster;
    base.shard = req->cluster ? req->shard : NULL;
    base.node = req->cluster ? NULL : req->node;
    base.meta_conn = req->cluster ? meta_conn : NULL;
    RetentionPolicy *policies = NULL;
    size_t n = 0;
    /* The policies are read only when they can decide. */
    bool consult = req->cluster && req->expire_auto != EXPIRE_AUTO_OFF && !queued_by_policy && req->keep <= 0 &&
                   req->keep_days <= 0;
    if (consult)
    {
        Error err;
        PGconn *own = NULL;
        if (!catalog && !(catalog = own = catalog_connect(meta_conn, false, &err)))
            return undecided(req->cluster, &err);
        int rc = retention_policies_load(catalog, req->cluster, req->shard, &policies, &n, &err);
        if (own)
            PQfinish(own);
        if (rc != 0)
            return undecided(req->cluster, &err);
    }
    AutoExpireChoice choice;
    auto_expire_decide(req->expire_auto, req->keep, req->keep_days, policies, n, queued_by_policy, &choice);
    free(policies);
    return auto_expire_apply(&choice, &base);
}

json_object *
auto_expire_after_backup(const BackupRequest *req, const BackupOptions *o)
{
    return auto_expire_after(req, o->co.pool, req->meta_conn, NULL, false);
}
