/* The placement of a restored cluster on the user's hosts (placement.h). */
#include "restore/placement.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pool/fields.h"

#define PLACEMENT_FILE_MAX (1 << 20)

static bool
host_name_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253)
        return false;
    for (const char *c = h; *c; c++)
        if (!isalnum((unsigned char) *c) && *c != '.' && *c != '-' && *c != ':')
            return false;
    return h[0] != '-';
}

static int
ports_parse(const char *text, int *from, int *to, Error *err)
{
    const char *dash = strchr(text, '-');
    if (!dash)
        return error_set(err, "not FROM-TO");
    char *first = xprintf("%.*s", (int) (dash - text), text);
    long a, b;
    int rc = parse_int_range(first, 1024, 65535, &a, err);
    free(first);
    if (rc == 0)
        rc = parse_int_range(dash + 1, 1024, 65535, &b, err);
    if (rc == 0 && b < a)
        rc = error_set(err, "%ld is below %ld", b, a);
    if (rc == 0)
    {
        *from = (int) a;
        *to = (int) b;
    }
    return rc;
}

void
placement_host_free(PlacementHost *h)
{
    free(h->host);
    free(h->data_root);
    memset(h, 0, sizeof(*h));
}

int
placement_host_from_json(json_object *j, const char *what, const char *host, PlacementHost *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    json_object *v;
    if (!json_object_is_type(j, json_type_object))
        return error_set(err, "%s: a host entry must be an object {\"host\", \"data_root\", \"ports\"}", what);
    if (!host)
        host = json_object_object_get_ex(j, "host", &v) && json_object_is_type(v, json_type_string)
                   ? json_object_get_string(v) : NULL;
    if (!host || !host_name_ok(host))
        return error_set(err, "%s: \"host\" must be a host name or address (letters, digits, '.', '-', ':'), not '%s'",
                         what, host ? host : "(none)");
    const char *root = json_object_object_get_ex(j, "data_root", &v) && json_object_is_type(v, json_type_string)
                           ? json_object_get_string(v) : NULL;
    Error perr;
    if (!root || root[0] != '/' || strlen(root) > 512 || relative_path_check("data_root", root + 1, &perr) != 0)
        return error_set(err, "%s: host %s: \"data_root\" must be an absolute directory path without '.', '..' or "
                              "empty parts, not '%s'", what, host, root ? root : "(none)");
    const char *ports = json_object_object_get_ex(j, "ports", &v) && json_object_is_type(v, json_type_string)
                            ? json_object_get_string(v) : NULL;
    int from = 0, to = 0;
    if (!ports || ports_parse(ports, &from, &to, &perr) != 0)
        return error_set(err, "%s: host %s: \"ports\" must be \"FROM-TO\" with 1024 <= FROM <= TO <= 65535 (e.g. "
                              "\"26000-26999\"), not '%s'%s%s", what, host, ports ? ports : "(none)",
                         ports ? ": " : "", ports ? perr.msg : "");
    out->host = xstrdup(host);
    out->data_root = xstrdup(root);
    out->port_from = from;
    out->port_to = to;
    return 0;
}

bool
placement_hba_line_ok(const char *line)
{
    static const char *const types[] = {"local ", "host ", "hostssl ", "hostnossl ", "hostgssenc ", "hostnogssenc "};
    bool ok = line && strlen(line) < 512;
    for (const char *c = line; ok && *c; c++)
        ok = (unsigned char) *c >= 0x20 && *c != 0x7f;
    bool typed = false;
    for (size_t k = 0; ok && k < sizeof(types) / sizeof(types[0]); k++)
        typed = typed || !strncmp(line, types[k], strlen(types[k]));
    return ok && typed;
}

static int
hba_parse(json_object *list, const char *what, Placement *out, Error *err)
{
    if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) > PLACEMENT_MAX_HBA)
        return error_set(err, "%s: \"hba\" must be an array of at most %d pg_hba.conf lines", what, PLACEMENT_MAX_HBA);
    for (size_t i = 0; i < json_object_array_length(list); i++)
    {
        json_object *l = json_object_array_get_idx(list, i);
        const char *line = json_object_is_type(l, json_type_string) ? json_object_get_string(l) : NULL;
        if (!placement_hba_line_ok(line))
            return error_set(err, "%s: \"hba\" line %zu must be one pg_hba.conf line (local, host, hostssl, ...; no "
                                  "control characters, under 512 bytes), not '%s'", what, i + 1, line ? line : "(not a string)");
        out->hba = xrealloc(out->hba, (out->nhba + 1) * sizeof(char *));
        out->hba[out->nhba++] = xstrdup(line);
    }
    return 0;
}

int
placement_from_json(json_object *j, const char *what, Placement *out, Error *err)
{
    memset(out, 0, sizeof(*out));
    json_object *hosts = NULL, *v;
    if (!json_object_is_type(j, json_type_object) || !json_object_object_get_ex(j, "hosts", &hosts) ||
        !json_object_is_type(hosts, json_type_array) || json_object_array_length(hosts) == 0 ||
        json_object_array_length(hosts) > PLACEMENT_MAX_HOSTS)
        return error_set(err, "%s: a placement is {\"hosts\": [{\"host\", \"data_root\", \"ports\"}, ...]} with 1 to %d "
                              "hosts", what, PLACEMENT_MAX_HOSTS);
    json_object_object_foreach(j, key, val)
    {
        (void) val;
        if (strcmp(key, "hosts") && strcmp(key, "hba"))
        {
            placement_free(out);
            return error_set(err, "%s: unknown field \"%s\" (a placement has \"hosts\" and \"hba\")", what, key);
        }
    }
    for (size_t i = 0; i < json_object_array_length(hosts); i++)
    {
        PlacementHost h;
        if (placement_host_from_json(json_object_array_get_idx(hosts, i), what, NULL, &h, err) != 0)
        {
            placement_free(out);
            return -1;
        }
        for (size_t k = 0; k < out->n; k++)
            if (!strcmp(out->hosts[k].host, h.host))
            {
                int rc = error_set(err, "%s: host %s is listed twice", what, h.host);
                placement_host_free(&h);
                placement_free(out);
                return rc;
            }
        out->hosts = xrealloc(out->hosts, (out->n + 1) * sizeof(PlacementHost));
        out->hosts[out->n++] = h;
    }
    if (json_object_object_get_ex(j, "hba", &v) && hba_parse(v, what, out, err) != 0)
    {
        placement_free(out);
        return -1;
    }
    return 0;
}

int
placement_load_file(const char *path, Placement *out, Error *err)
{
    Buffer b = {0};
    if (read_file_limited(path, PLACEMENT_FILE_MAX, &b, err) != 0)
        return error_prefix(err, "placement file: ");
    json_tokener *tok = json_tokener_new();
    json_object *j = json_tokener_parse_ex(tok, b.data ? b.data : "", (int) b.len);
    bool complete = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    buffer_free(&b);
    if (!j || !complete)
    {
        json_object_put(j);
        return error_set(err, "placement file %s is not a JSON document", path);
    }
    int rc = placement_from_json(j, path, out, err);
    json_object_put(j);
    return rc;
}

int
placement_select(Placement *p, const char *list, Error *err)
{
    PlacementHost *kept = xcalloc(p->n ? p->n : 1, sizeof(PlacementHost));
    bool *taken = xcalloc(p->n ? p->n : 1, sizeof(bool));
    size_t nkept = 0;
    int rc = 0;
    for (const char *s = list; rc == 0 && *s;)
    {
        size_t len = strcspn(s, ",");
        size_t k;
        for (k = 0; k < p->n; k++)
            if (strlen(p->hosts[k].host) == len && !strncmp(p->hosts[k].host, s, len))
                break;
        if (len == 0)
            rc = error_set(err, "hosts '%s': an empty host name", list);
        else if (k == p->n)
            rc = error_set(err, "hosts: %.*s is none of the available hosts (a node manager with a data_root and "
                                "ports, or a host of the placement file)", (int) len, s);
        else if (taken[k])
            rc = error_set(err, "hosts: %.*s is listed twice", (int) len, s);
        else
        {
            taken[k] = true;
            kept[nkept++] = p->hosts[k];
        }
        s += len;
        if (*s == ',')
            s++;
    }
    if (rc == 0)
    {
        for (size_t k = 0; k < p->n; k++)
            if (!taken[k])
                placement_host_free(&p->hosts[k]);
        free(p->hosts);
        p->hosts = kept;
        p->n = nkept;
    }
    else
        free(kept);
    free(taken);
    return rc;
}

void
placement_free(Placement *p)
{
    for (size_t i = 0; i < p->n; i++)
        placement_host_free(&p->hosts[i]);
    free(p->hosts);
    for (size_t i = 0; i < p->nhba; i++)
        free(p->hba[i]);
    free(p->hba);
    memset(p, 0, sizeof(*p));
}

/* ---- the decision ---- */

typedef struct Cursor
{
    const Placement *p;
    int *next;                 /* per host: the next port to try */
    const PlacementUsed *used;
    size_t nused;
    const char *to;
} Cursor;

static bool
port_used(const Cursor *c, const char *host, int port)
{
    for (size_t i = 0; i < c->nused; i++)
        if (c->used[i].port == port && c->used[i].host && !strcmp(c->used[i].host, host))
            return true;
    return false;
}

/* Puts one node on host h: its next free port, its directory. */
static int
place_on(Cursor *c, size_t h, json_object *node, const char *set, Error *err)
{
    const PlacementHost *host = &c->p->hosts[h];
    while (c->next[h] <= host->port_to && port_used(c, host->host, c->next[h]))
        c->next[h]++;
    json_object *name = NULL;
    json_object_object_get_ex(node, "name", &name);
    if (c->next[h] > host->port_to)
        return error_set(err, "host %s has no free port left in %d-%d for node %s of the new cluster: give it a wider "
                              "port range or more hosts", host->host, host->port_from, host->port_to,
                         name ? json_object_get_string(name) : "?");
    json_object_object_add(node, "host", json_object_new_string(host->host));
    json_object_object_add(node, "port", json_object_new_int(c->next[h]++));
    char *path = xprintf("%s/%s/%s/%s", host->data_root, c->to, set, name ? json_object_get_string(name) : "");
    json_object_object_add(node, "data_dir", json_object_new_string(path));
    free(path);
    return 0;
}

/* A replica set: node i on host (first + i) mod n, distinct while n allows. */
static int
place_set(Cursor *c, json_object *nodes, const char *set, size_t first, Error *err)
{
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++)
        if (place_on(c, (first + i) % c->p->n, json_object_array_get_idx(nodes, i), set, err) != 0)
            return -1;
    return 0;
}

int
placement_plan(const Topology *src, const char *to, const Placement *p, const PlacementUsed *used, size_t nused,
               Topology *out, Error *err)
{
    if (!p || p->n == 0)
        return error_set(err, "no host to place the new cluster %s on (a placement file, or node managers with a "
                              "data_root and ports)", to);
    Cursor c = {.p = p, .next = xcalloc(p->n, sizeof(int)), .used = used, .nused = nused, .to = to};
    for (size_t h = 0; h < p->n; h++)
        c.next[h] = p->hosts[h].port_from;
    json_object *j = topology_to_json(src);
    json_object_object_add(j, "name", json_object_new_string(to));
    json_object_object_add(j, "origin", json_object_new_string(src->name));
    json_object *list;
    size_t set_index = 0;
    int rc = 0;
    if (json_object_object_get_ex(j, "meta", &list))
        rc = place_set(&c, list, TOPO_META_SET, set_index++, err);
    if (rc == 0 && json_object_object_get_ex(j, "shards", &list))
        for (size_t i = 0; rc == 0 && i < json_object_array_length(list); i++)
        {
            json_object *sh = json_object_array_get_idx(list, i), *nodes = NULL, *name = NULL;
            json_object_object_get_ex(sh, "nodes", &nodes);
            json_object_object_get_ex(sh, "name", &name);
            rc = place_set(&c, nodes, name ? json_object_get_string(name) : "", set_index++ % p->n, err);
        }
    /* The compute nodes after the last set's primary host: round-robin. */
    if (rc == 0 && json_object_object_get_ex(j, "compute", &list))
        rc = place_set(&c, list, "compute", set_index % p->n, err);
    if (rc == 0)
        rc = topology_from_json(json_object_to_json_string(j), "restored topology", out, err);
    json_object_put(j);
    free(c.next);
    return rc;
}

bool
host_is_loopback(const char *host)
{
    if (!host)
        return false;
    if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
        return true;
    /* 127.0.0.0/8 written as a dotted quad */
    if (strncmp(host, "127.", 4) != 0)
        return false;
    int dots = 0;
    for (const char *c = host; *c; c++)
        if (*c == '.')
            dots++;
        else if (!isdigit((unsigned char) *c))
            return false;
    return dots == 3;
}
