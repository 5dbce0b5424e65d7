/* Listings of an S3 pool: a directory (ListObjectsV2 with the delimiter
 * '/', every page) as the storage interface's entries, each key checked to
 * be below the prefix asked for and to be a usable name; and every key
 * below a prefix, for removing a tree. */
#include <stdlib.h>
#include <string.h>

#include "storage/s3_client.h"
#include "storage/storage.h"

int
s3_get_listing(S3Client *c, const char *prefix, const S3Pair *q, size_t nq, const char *op, S3XmlParse parse,
               void *page, Error *err)
{
    S3Request req = {.method = "GET", .query = q, .nquery = nq, .max_body = S3_MAX_XML_BODY};
    S3Response resp;
    char *what = xprintf("s3://%s/%s", c->cfg.bucket, prefix);
    int rc = s3_request(c, &req, &resp, what, err);
    if (rc == 0)
    {
        if (resp.status != 200)
            rc = s3_fail(&resp, what, op, err);
        else if (parse(resp.body.data, resp.body.len, page, err) != 0)
            rc = error_prefix(err, "%s: ", what);
        s3_response_free(&resp);
    }
    free(what);
    return rc;
}

static int
parse_list(const char *xml, size_t len, void *page, Error *err)
{
    return s3_xml_parse_list(xml, len, page, err);
}

int
s3_list_page(S3Client *c, const char *prefix, bool delimited, const char *token, const char *max_keys,
          S3ListPage *page, Error *err)
{
    S3Pair q[5];
    size_t n = 0;
    q[n++] = (S3Pair){"list-type", "2"};
    q[n++] = (S3Pair){"prefix", prefix};
    if (delimited)
        q[n++] = (S3Pair){"delimiter", "/"};
    if (token)
        q[n++] = (S3Pair){"continuation-token", token};
    if (max_keys)
        q[n++] = (S3Pair){"max-keys", max_keys};
    return s3_get_listing(c, prefix, q, n, "ListObjectsV2", parse_list, page, err);
}

/* A name one level below the listed directory: not empty, no '/', no
 * control characters, not "." or "..". */
static bool
name_valid(const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && !strncmp(name, "..", 2)))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) name[i] < 0x20 || name[i] == '/' || name[i] == 0x7f)
            return false;
    return true;
}

static void
add_entry(StorageList *out, size_t *cap, const char *name, size_t len, bool is_dir, uint64_t size)
{
    if (out->count == *cap)
    {
        *cap = *cap ? *cap * 2 : 64;
        out->entries = xrealloc(out->entries, *cap * sizeof(StorageEntry));
    }
    out->entries[out->count++] = (StorageEntry){xprintf("%.*s", (int) len, name), is_dir, size};
}

/* One page's keys and prefixes into entries, each checked to be below dir. */
static int
take_page(const S3ListPage *page, const char *dir, const char *filter, StorageList *out, size_t *cap,
          const char *what, Error *err)
{
    size_t dl = strlen(dir);
    for (size_t i = 0; i < page->nkeys; i++)
    {
        const char *k = page->keys[i];
        if (strncmp(k, dir, dl) != 0 || !str_starts_with(k + dl, filter))
            return error_set(err, "%s: the listing returned key '%.200s', not below the prefix asked for", what, k);
        if (!k[dl] && page->sizes[i] == 0)
            continue;   /* a zero-byte "directory marker" some tools create */
        if (!name_valid(k + dl, strlen(k + dl)))
            return error_set(err, "%s: the listing returned an unusable name '%.200s'", what, k);
        add_entry(out, cap, k + dl, strlen(k + dl), false, page->sizes[i]);
    }
    for (size_t i = 0; i < page->nprefixes; i++)
    {
        const char *p = page->prefixes[i];
        size_t pl = strlen(p);
        if (strncmp(p, dir, dl) != 0 || !str_starts_with(p + dl, filter) || pl < dl + 2 || p[pl - 1] != '/' ||
            !name_valid(p + dl, pl - dl - 1))
            return error_set(err, "%s: the listing returned an unusable common prefix '%.200s'", what, p);
        add_entry(out, cap, p + dl, pl - dl - 1, true, 0);
    }
    return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
    return strcmp(((const StorageEntry *) a)->name, ((const StorageEntry *) b)->name);
}

char *
s3_dir_key(const S3Client *c, const char *dir)
{
    while (*dir == '/')
        dir++;
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/')
        n--;
    return n ? xprintf("%s%.*s/", c->cfg.prefix, (int) n, dir) : xstrdup(c->cfg.prefix);
}

int
s3_list_dir(S3Client *c, const char *dirpath, const char *prefix, StorageList *out, Error *err)
{
    out->entries = NULL;
    out->count = 0;
    const char *filter = prefix ? prefix : "";
    char *dir = s3_dir_key(c, dirpath);
    char *listprefix = xprintf("%s%s", dir, filter);
    char *what = xprintf("s3://%s/%s", c->cfg.bucket, dir);
    char *token = NULL;
    size_t cap = 0;
    int rc = 0;
    if (strlen(listprefix) > S3_MAX_KEY || strpbrk(filter, "/"))
        rc = error_set(err, "%s: cannot list prefix '%.100s'", what, filter);
    while (rc == 0)
    {
        S3ListPage page;
        rc = s3_list_page(c, listprefix, true, token, NULL, &page, err);
        if (rc != 0)
            break;
        rc = take_page(&page, dir, filter, out, &cap, what, err);
        bool more = rc == 0 && page.truncated;
        if (more && token && !strcmp(token, page.next_token))
            rc = error_set(err, "%s: the listing repeats its continuation token", what);
        free(token);
        token = page.next_token;
        page.next_token = NULL;
        s3_list_page_free(&page);
        if (!more)
            break;
    }
    free(token);
    free(listprefix);
    free(dir);
    free(what);
    if (rc != 0)
        storage_list_free(out);
    else if (out->count)
        qsort(out->entries, out->count, sizeof(StorageEntry), entry_cmp);
    return rc;
}

/* Every key below prefix (no delimiter), page by page. */
int
s3_list_all(S3Client *c, const char *prefix, char ***keys, size_t *nkeys, Error *err)
{
    *keys = NULL;
    *nkeys = 0;
    char *token = NULL;
    int rc = 0;
    for (;;)
    {
        S3ListPage page;
        if ((rc = s3_list_page(c, prefix, false, token, NULL, &page, err)) != 0)
            break;
        *keys = xrealloc(*keys, (*nkeys + page.nkeys + 1) * sizeof(char *));
        for (size_t i = 0; i < page.nkeys && rc == 0; i++)
        {
            if (!str_starts_with(page.keys[i], prefix))
                rc = error_set(err, "s3://%s/%s: the listing returned key '%.200s' outside the prefix",
                               c->cfg.bucket, prefix, page.keys[i]);
            else
            {
                (*keys)[(*nkeys)++] = page.keys[i];
                page.keys[i] = NULL;
            }
        }
        bool more = rc == 0 && page.truncated;
        if (more && token && !strcmp(token, page.next_token))
            rc = error_set(err, "s3://%s/%s: the listing repeats its continuation token", c->cfg.bucket,
                           prefix);
        free(token);
        token = page.next_token;
        page.next_token = NULL;
        s3_list_page_free(&page);
        if (!more)
            break;
    }
    free(token);
    return rc;
}
