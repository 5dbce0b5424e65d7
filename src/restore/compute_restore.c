/* Rebuilding a compute node from its cluster backup (compute_restore.h). */
#include "restore/compute_restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/compute_schema.h"
#include "common/log.h"
#include "common/quote.h"
#include "common/spawn.h"
#include "common/util.h"
#include "pg/conn.h"
#include "restore/compute_init.h"
#include "restore/placement.h"
#include "restore/standby.h"

/* The fresh instance's bootstrap superuser (the user initdb ran as). */
static char *
bootstrap_role(const TopoNode *node, Error *err)
{
    char *ci = topology_conninfo(node, "postgres");
    PGconn *c = pg_connect(ci, node->name, err);
    free(ci);
    if (!c)
        return NULL;
    PGresult *r = pg_exec(c, node->name, "SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10", 0, NULL, err);
    char *name = r && PQntuples(r) == 1 ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
    if (r && !name)
        error_set(err, "%s: no bootstrap superuser", node->name);
    PQclear(r);
    PQfinish(c);
    return name;
}

/* pg_dumpall writes "CREATE ROLE <r>;" for every role, the one it ran as
 * included, expecting that one to fail on replay. Under ON_ERROR_STOP it
 * would stop the replay when <r> is the new instance's bootstrap superuser,
 * which exists already: that one line is left out (its ALTER ROLE, with the
 * source's attributes, stays). Only in the globals part, before the first
 * \connect: a function body holding the same text is not touched. */
void
compute_dump_script(const Buffer *dump, const char *role, Buffer *out)
{
    const char *data = dump->data ? dump->data : "";
    size_t len = dump->len;
    char *plain = xprintf("CREATE ROLE %s;\n", role), *quoted = xprintf("CREATE ROLE \"%s\";\n", role);
    size_t at = len;
    for (size_t pos = 0; pos < len;)
    {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t) (nl - data) + 1 : len;
        size_t n = end - pos;
        if (n >= 9 && !memcmp(data + pos, "\\connect", 8))
            break;
        if ((n == strlen(plain) && !memcmp(data + pos, plain, n)) || (n == strlen(quoted) && !memcmp(data + pos, quoted, n)))
        {
            at = pos;
            break;
        }
        pos = end;
    }
    buffer_append(out, data, at < len ? at : len);
    if (at < len)
    {
        size_t skip = at + (memcmp(data + at, plain, strlen(plain)) == 0 ? strlen(plain) : strlen(quoted));
        buffer_append(out, data + skip, len - skip);
    }
    free(plain);
    free(quoted);
}

/* The dump, through a file, into psql (over libpq: the node may be on
 * another host). The file is beside the data directory on this host, or
 * in a private directory here when the node is elsewhere. */
static int
replay(const char *bin, const TopoNode *node, const Buffer *dump, Error *err)
{
    char *workdir = NULL;
    if (!host_is_loopback(node->host))
    {
        char tmpl[] = "/tmp/strata-compute-XXXXXX";
        if (!mkdtemp(tmpl))
            return error_errno(err, "creating a directory for the schema script of %s", node->name);
        workdir = xstrdup(tmpl);
    }
    char *file = workdir ? xprintf("%s/schema.sql", workdir) : xprintf("%s.schema.sql", node->data_dir);
    char *log = workdir ? xprintf("%s/schema.log", workdir) : xprintf("%s.schema.log", node->data_dir);
    char *role = bootstrap_role(node, err);
    Buffer script = {0};
    int rc = role ? 0 : -1;
    if (rc == 0)
    {
        compute_dump_script(dump, role, &script);
        rc = write_file_atomic(file, script.data ? script.data : "", script.len, 0600, err);
    }
    free(role);
    buffer_free(&script);
    char *psql = xprintf("%s/psql", bin), *ci = topology_conninfo(node, "postgres");
    char *db_arg = xprintf("--dbname=%s", ci), *file_arg = xprintf("--file=%s", file);
    char *const argv[] = {psql, "--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", db_arg,
                          file_arg, NULL};
    if (rc == 0)
        rc = spawn_wait(argv, log, err);
    if (rc != 0)
    {
        /* psql names the failing statement's line: the first error line. */
        Buffer l = {0};
        Error e2;
        if (read_file_limited(log, 1 << 20, &l, &e2) == 0 && l.len > 0)
        {
            char *e = strstr(l.data, "ERROR:");
            char *line = e ? e : l.data;
            line[strcspn(line, "\n")] = '\0';
            error_prefix(err, "replaying its schema: %s (%s): ", line, file);
        }
        buffer_free(&l);
    }
    else
    {
        unlink(file);
        unlink(log);
        if (workdir)
            rmdir(workdir);
    }
    free(workdir);
    free(file);
    free(log);
    free(psql);
    free(ci);
    free(db_arg);
    free(file_arg);
    return rc;
}

/* The node of the new cluster at the place the source node with host:port
 * had (same replica set, same position), or NULL. */
static const TopoNode *
counterpart(const Topology *src, const Topology *t, const char *host, int port)
{
    for (size_t k = 0; k <= src->nshards; k++)
    {
        const ReplicaSet *a = k == 0 ? &src->meta : &src->shards[k - 1];
        const ReplicaSet *b = k == 0 ? &t->meta : (k - 1 < t->nshards ? &t->shards[k - 1] : NULL);
        for (size_t i = 0; b && i < a->nnodes && i < b->nnodes; i++)
            if (a->nodes[i].host && !strcmp(a->nodes[i].host, host) && a->nodes[i].port == port)
                return &b->nodes[i];
    }
    for (size_t i = 0; i < src->ncompute && i < t->ncompute; i++)
        if (src->compute[i].host && !strcmp(src->compute[i].host, host) && src->compute[i].port == port)
            return &t->compute[i];
    return NULL;
}

static int
exec_ok(PGconn *c, const char *what, const char *sql, Error *err)
{
    PGresult *r = pg_exec(c, what, sql, 0, NULL, err);
    PQclear(r);
    return r ? 0 : -1;
}

/* One database's postgres_fdw servers, re-pointed. */
static int
repoint_database(const Topology *src, const Topology *t, const TopoNode *node, const char *db, int *count,
                 Error *err)
{
    char *ci = topology_conninfo(node, db);
    char *what = xprintf("compute node %s, database %s", node->name, db);
    PGconn *c = pg_connect(ci, what, err);
    free(ci);
    int rc = c ? 0 : -1;
    PGresult *r = NULL;
    if (rc == 0)
        r = pg_exec(c, what,
                    "SELECT s.srvname, "
                    "(SELECT option_value FROM pg_catalog.pg_options_to_table(s.srvoptions) WHERE option_name = "
                    "'host'), "
                    "(SELECT option_value FROM pg_catalog.pg_options_to_table(s.srvoptions) WHERE option_name = "
                    "'port'), "
                    "(SELECT option_value FROM pg_catalog.pg_options_to_table(s.srvoptions) WHERE option_name = "
                    "'hostaddr') "
                    "FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = "
                    "s.srvfdw WHERE w.fdwname = 'postgres_fdw' ORDER BY 1",
                    0, NULL, err);
    if (c && !r)
        rc = -1;
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
    {
        const char *srv = PQgetvalue(r, i, 0), *host = PQgetvalue(r, i, 1), *port_text = PQgetvalue(r, i, 2);
        bool has_port = !PQgetisnull(r, i, 2);
        int port = has_port ? atoi(port_text) : 5432;
        const TopoNode *to = PQgetisnull(r, i, 1) ? NULL : counterpart(src, t, host, port);
        if (!PQgetisnull(r, i, 3))
        {
            /* libpq connects to hostaddr, whatever host says: re-pointing host alone would not move it. */
            rc = error_set(err, "postgres_fdw server %s in database %s has hostaddr '%s': strata re-points servers "
                                "by host and port only; use host",
                           srv, db, PQgetvalue(r, i, 3));
            break;
        }
        if (!to)
        {
            rc = error_set(err, "postgres_fdw server %s in database %s points at %s:%d, which is no node of the "
                                "source cluster %s: left as it is the restored compute node would reach it (the "
                                "source cluster, or something this backup does not restore)",
                           srv, db, PQgetisnull(r, i, 1) ? "(no host)" : host, port, src->name);
            break;
        }
        char *ident = PQescapeIdentifier(c, srv, strlen(srv));
        char *host_lit = PQescapeLiteral(c, to->host, strlen(to->host));
        char port_buf[16];
        snprintf(port_buf, sizeof(port_buf), "%d", to->port);
        char *port_lit = PQescapeLiteral(c, port_buf, strlen(port_buf));
        if (!ident || !host_lit || !port_lit)
            rc = error_set(err, "%s: cannot quote server %s: %s", what, srv, PQerrorMessage(c));
        char *sql = rc == 0 ? xprintf("ALTER SERVER %s OPTIONS (SET host %s, %s port %s)", ident, host_lit,
                                      has_port ? "SET" : "ADD", port_lit)
                            : NULL;
        if (rc == 0)
            rc = exec_ok(c, what, sql, err);
        if (rc == 0)
        {
            log_info("compute node %s: postgres_fdw server %s (database %s) %s:%d -> %s (%s:%d)", node->name, srv, db,
                     host, port, to->name, to->host, to->port);
            (*count)++;
        }
        free(sql);
        PQfreemem(ident);
        PQfreemem(host_lit);
        PQfreemem(port_lit);
    }
    PQclear(r);
    if (c)
        PQfinish(c);
    free(what);
    return rc;
}

/* Every database that takes connections (template0 does not). */
static int
repoint_servers(const Topology *src, const Topology *t, const TopoNode *node, Error *err)
{
    char *ci = topology_conninfo(node, "postgres");
    PGconn *c = pg_connect(ci, node->name, err);
    free(ci);
    if (!c)
        return -1;
    PGresult *r = pg_exec(c, node->name, "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY 1",
                          0, NULL, err);
    int rc = r ? 0 : -1, count = 0;
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
        rc = repoint_database(src, t, node, PQgetvalue(r, i, 0), &count, err);
    PQclear(r);
    PQfinish(c);
    if (rc == 0)
        log_info("compute node %s: %d postgres_fdw server(s) re-pointed at the new cluster", node->name, count);
    return rc;
}

int
compute_schemas_load(Pool *pool, json_object *backup, const Topology *src, const Topology *t, ComputeSchemas *out,
                     Error *err)
{
    out->n = t->ncompute;
    out->dumps = xcalloc(out->n ? out->n : 1, sizeof(Buffer));
    out->absent = xcalloc(out->n ? out->n : 1, sizeof(bool));
    int rc = 0;
    for (size_t i = 0; i < out->n && rc == 0; i++)
    {
        const char *source = i < src->ncompute ? src->compute[i].name : t->compute[i].name;
        rc = compute_schema_read(pool, backup, source, &out->dumps[i], &out->absent[i], err);
        if (rc != 0)
            error_prefix(err, "compute node %s: ", source);
    }
    if (rc != 0)
        compute_schemas_free(out);
    return rc;
}

void
compute_schemas_free(ComputeSchemas *cs)
{
    for (size_t i = 0; cs->dumps && i < cs->n; i++)
        buffer_free(&cs->dumps[i]);
    free(cs->dumps);
    free(cs->absent);
    memset(cs, 0, sizeof(*cs));
}

/* The fresh instance: by the node manager of its host, or here when it is
 * this host's; another host without a node manager is an error. */
static int
init_instance(const char *bin, const ComputeInit *ci, const TopoNode *node, Error *err)
{
    const RestoreExecutor *ex = ci->executor;
    const char *where = ex ? ex->where(ex, node) : NULL;
    if (where)
    {
        log_info("compute node %s: fresh instance made by %s", node->name, where);
        return ex->init(ex, node, ci->sockdir, ci->hba, ci->nhba, err);
    }
    if (!host_is_loopback(node->host))
        return error_set(err, "host %s has no node manager: a new instance on another host is made by that host's "
                              "node manager", node->host);
    return compute_instance_init(bin, node->data_dir, node->port, node->host, ci->sockdir, ci->hba, ci->nhba, err);
}

int
compute_restore_node(const char *bin, const ComputeSchemas *cs, const Topology *src, const Topology *t, size_t idx,
                     const ComputeInit *ci, Error *err)
{
    const TopoNode *node = &t->compute[idx];
    const char *source = idx < src->ncompute ? src->compute[idx].name : node->name;
    bool absent = idx >= cs->n || cs->absent[idx];
    int rc = init_instance(bin, ci, node, err);
    if (rc == 0 && absent)
        log_warn("compute node %s: the cluster backup holds no schema of %s (taken before strata recorded compute "
                 "schemas): the node is an empty instance", node->name, source);
    else if (rc == 0)
        rc = replay(bin, node, &cs->dumps[idx], err);
    if (rc == 0 && !absent)
        rc = repoint_servers(src, t, node, err);
    if (rc != 0)
        error_prefix(err, "rebuilding compute node %s: ", node->name);
    return rc;
}
