/* The S3 pool backend: the storage interface over an S3 bucket and prefix.
 *
 * An object appears under its key only on commit: a small object is one
 * PUT at commit; a large one is a multipart upload (a part per
 * STRATA_S3_PART_SIZE bytes) completed at commit and aborted on abort, and
 * an upload that is never completed (a killed process) is not an object:
 * no listing, HEAD or GET sees it. Directories are key prefixes, listed
 * with the delimiter '/'. Everything the store answers is checked: keys
 * below the requested prefix, sizes, ranges, ETags. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_client.h"
#include "storage/storage.h"

#define READ_RANGE (8u << 20)
#define MAX_PARTS 10000      /* S3's limit per upload */
#define MAX_ETAG 200

typedef struct S3Storage
{
    Storage base;
    S3Client client;
} S3Storage;

typedef struct S3Reader
{
    StorageReader base;
    S3Storage *s;
    char *key;
    char *what;
    char *etag;
    uint64_t size, offset;
    Buffer chunk;
    size_t pos;
} S3Reader;

typedef struct S3Writer
{
    StorageWriter base;
    S3Storage *s;
    char *key;
    char *what;
    Buffer part;
    uint64_t total;
    char *upload_id;
    char **etags;
    size_t nparts;
} S3Writer;

/* pool path -> object key below the pool's prefix */
static int
object_key(S3Storage *s, const char *path, char **key, Error *err)
{
    while (*path == '/')
        path++;
    for (const char *p = path; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return error_set(err, "pool %s: path holds a control character", s->client.location);
    *key = xprintf("%s%s", s->client.cfg.prefix, path);
    if (strlen(*key) > S3_MAX_KEY)
    {
        free(*key);
        return error_set(err, "pool %s: key for %.100s... is longer than %d bytes", s->client.location, path,
                         S3_MAX_KEY);
    }
    return 0;
}

static char *
key_what(S3Storage *s, const char *key)
{
    return xprintf("s3://%s/%s", s->client.cfg.bucket, key);
}

static bool
etag_valid(const char *e)
{
    return e && *e && strlen(e) <= MAX_ETAG && strspn(e, "\"0123456789abcdefABCDEF-") == strlen(e);
}

/* ---- reading: ranged GETs, all but the first pinned to the first's ETag */

/* "bytes FIRST-LAST/TOTAL", digits only */
static bool
parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total)
{
    unsigned long long a, b, t;
    int used = 0;
    if (!v || !str_starts_with(v, "bytes ") || strspn(v + 6, "0123456789-/") != strlen(v + 6) ||
        sscanf(v, "bytes %llu-%llu/%llu%n", &a, &b, &t, &used) != 3 || v[used] || a > b || b >= t)
        return false;
    *first = a;
    *last = b;
    *total = t;
    return true;
}

static bool
content_range_is(const char *v, uint64_t first, uint64_t last, uint64_t total)
{
    uint64_t a = 0, b = 0, t = 0;
    return parse_content_range(v, &a, &b, &t) && a == first && b == last && t == total;
}

static int
fetch_range(S3Reader *r, Error *err)
{
    uint64_t end = r->offset + READ_RANGE < r->size ? r->offset + READ_RANGE : r->size;
    char range[64];
    snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long) r->offset,
             (unsigned long long) end - 1);
    S3Pair h[] = {{"Range", range}, {"If-Match", r->etag}};
    S3Request req = {.method = "GET", .key = r->key, .headers = h, .nheaders = 2, .max_body = READ_RANGE};
    S3Response resp;
    if (s3_request(&r->s->client, &req, &resp, r->what, err) != 0)
        return -1;
    int rc = 0;
    char *want = xprintf("bytes %llu-%llu/%llu", (unsigned long long) r->offset, (unsigned long long) end - 1,
                         (unsigned long long) r->size);
    if (resp.status == 412 || resp.status == 404)
        rc = error_set(err, "%s: the object changed or vanished while being read (HTTP %ld)", r->what, resp.status);
    else if (resp.status != 206 && !(resp.status == 200 && r->offset == 0 && end == r->size))
        rc = s3_fail(&resp, r->what, "GET", err);
    else if (resp.body.len != end - r->offset)
        rc = error_set(err, "%s: asked for %llu bytes at offset %llu, got %zu", r->what,
                       (unsigned long long) (end - r->offset), (unsigned long long) r->offset, resp.body.len);
    else if (resp.status == 206 && !content_range_is(resp.content_range, r->offset, end - 1, r->size))
        rc = error_set(err, "%s: the store answered range '%.80s' for '%s'", r->what,
                       resp.content_range ? resp.content_range : "(none)", want);
    free(want);
    if (rc == 0)
    {
        buffer_free(&r->chunk);
        r->chunk = resp.body;
        memset(&resp.body, 0, sizeof(resp.body));
        r->pos = 0;
        r->offset = end;
    }
    s3_response_free(&resp);
    return rc;
}

static int
s3_read(StorageReader *base, void *buf, size_t cap, size_t *n, Error *err)
{
    S3Reader *r = (S3Reader *) base;
    *n = 0;
    if (r->pos == r->chunk.len)
    {
        if (r->offset == r->size)
            return 0;
        if (fetch_range(r, err) != 0)
            return -1;
    }
    size_t take = r->chunk.len - r->pos < cap ? r->chunk.len - r->pos : cap;
    memcpy(buf, r->chunk.data + r->pos, take);
    r->pos += take;
    *n = take;
    return 0;
}

static void
s3_reader_close(StorageReader *base)
{
    S3Reader *r = (S3Reader *) base;
    buffer_free(&r->chunk);
    free(r->key);
    free(r->what);
    free(r->etag);
    free(r);
}

static const StorageReaderOps s3_reader_ops = {s3_read, s3_reader_close};

/* A HEAD answer has no body; a GET of the same key says why it failed. */
static int
fail_head(S3Storage *s, const char *key, const S3Response *head, const char *what, Error *err)
{
    S3Pair h[] = {{"Range", "bytes=0-0"}};
    S3Request req = {.method = "GET", .key = key, .headers = h, .nheaders = 1, .max_body = 1};
    S3Response resp;
    Error ignored;
    if (s3_request(&s->client, &req, &resp, what, &ignored) == 0 && resp.status == head->status)
    {
        s3_fail(&resp, what, "HEAD", err);
        s3_response_free(&resp);
        return -1;
    }
    s3_response_free(&resp);
    return s3_fail(head, what, "HEAD", err);
}

/* HEAD: 0 with *found, size and ETag, or -1. */
static int
head_object(S3Storage *s, const char *key, const char *what, bool *found, uint64_t *size, char **etag, Error *err)
{
    S3Request req = {.method = "HEAD", .key = key};
    S3Response resp;
    if (s3_request(&s->client, &req, &resp, what, err) != 0)
        return -1;
    int rc = 0;
    *found = resp.status == 200;
    if (resp.status == 404)
        ;
    else if (resp.status != 200)
        rc = fail_head(s, key, &resp, what, err);
    else if (resp.content_length < 0)
        rc = error_set(err, "%s: HEAD answered without a valid Content-Length", what);
    else if (etag && !etag_valid(resp.etag))
        rc = error_set(err, "%s: HEAD answered without a valid ETag", what);
    else
    {
        *size = (uint64_t) resp.content_length;
        if (etag)
        {
            *etag = resp.etag;
            resp.etag = NULL;
        }
    }
    s3_response_free(&resp);
    return rc;
}

/* The first range's GET finds the object's size and ETag too: one round
 * trip for the many objects smaller than a range. */
static int
open_first_range(S3Reader *r, bool *found, Error *err)
{
    char range[64];
    snprintf(range, sizeof(range), "bytes=0-%u", READ_RANGE - 1);
    S3Pair h[] = {{"Range", range}};
    S3Request req = {.method = "GET", .key = r->key, .headers = h, .nheaders = 1, .max_body = READ_RANGE};
    S3Response resp;
    if (s3_request(&r->s->client, &req, &resp, r->what, err) != 0)
        return -1;
    int rc = 0;
    uint64_t first = 0, last = 0, total = 0;
    *found = resp.status != 404;
    if (resp.status == 404)
        ;
    else if (resp.status == 416)
    {
        /* no byte 0: an empty object, as HEAD must confirm */
        rc = head_object(r->s, r->key, r->what, found, &total, NULL, err);
        if (rc == 0 && *found && total != 0)
            rc = error_set(err, "%s: GET of bytes 0.. refused (HTTP 416), yet HEAD says %llu bytes", r->what,
                           (unsigned long long) total);
    }
    else if (resp.status != 200 && resp.status != 206)
        rc = s3_fail(&resp, r->what, "GET", err);
    else if (!etag_valid(resp.etag))
        rc = error_set(err, "%s: GET answered without a valid ETag", r->what);
    else if (resp.status == 206 && (!parse_content_range(resp.content_range, &first, &last, &total) ||
                                    first != 0 || last + 1 != (total < READ_RANGE ? total : READ_RANGE) ||
                                    resp.body.len != last + 1))
        rc = error_set(err, "%s: the store answered range '%.80s' with %zu bytes for 'bytes=0-%u'", r->what,
                       resp.content_range ? resp.content_range : "(none)", resp.body.len, READ_RANGE - 1);
    else if (resp.status == 200 && (resp.content_length < 0 || resp.body.len != (uint64_t) resp.content_length))
        rc = error_set(err, "%s: GET answered %zu bytes, Content-Length %lld", r->what, resp.body.len,
                       (long long) resp.content_length);
    else
    {
        r->size = resp.status == 206 ? total : resp.body.len;
        r->offset = resp.body.len;
        r->etag = resp.etag;
        resp.etag = NULL;
        r->chunk = resp.body;
        memset(&resp.body, 0, sizeof(resp.body));
    }
    s3_response_free(&resp);
    return rc;
}

static int
s3_open_read(Storage *base, const char *path, StorageReader **out, bool *missing, Error *err)
{
    S3Storage *s = (S3Storage *) base;
    char *key;
    *missing = false;
    if (object_key(s, path, &key, err) != 0)
        return -1;
    S3Reader *r = xcalloc(1, sizeof(*r));
    r->base.ops = &s3_reader_ops;
    r->s = s;
    r->key = key;
    r->what = key_what(s, key);
    bool found = false;
    int rc = open_first_range(r, &found, err);
    if (rc != 0 || !found)
    {
        *missing = rc == 0;
        s3_reader_close(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}

/* ---- writing: one PUT at commit, or a multipart upload for large objects */

static int
create_upload(S3Writer *w, Error *err)
{
    const S3Pair q[] = {{"uploads", ""}};
    S3Request req = {.method = "POST", .key = w->key, .query = q, .nquery = 1, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    if (s3_request(&w->s->client, &req, &resp, w->what, err) != 0)
        return -1;
    int rc = 0;
    if (resp.status != 200)
        rc = s3_fail(&resp, w->what, "CreateMultipartUpload", err);
    else
    {
        bool bad;
        w->upload_id = s3_xml_find(resp.body.data, resp.body.len, "UploadId", &bad);
        if (!w->upload_id || !*w->upload_id || strlen(w->upload_id) > 1024 ||
            strpbrk(w->upload_id, "\r\n&"))
        {
            free(w->upload_id);
            w->upload_id = NULL;
            rc = error_set(err, "%s: CreateMultipartUpload answered without a usable UploadId", w->what);
        }
    }
    s3_response_free(&resp);
    return rc;
}

static int
upload_part(S3Writer *w, Error *err)
{
    if (!w->upload_id && create_upload(w, err) != 0)
        return -1;
    if (w->nparts == MAX_PARTS)
        return error_set(err, "%s: more than %d parts of %llu bytes; raise STRATA_S3_PART_SIZE", w->what,
                         MAX_PARTS, (unsigned long long) w->s->client.cfg.part_size);
    char num[16];
    snprintf(num, sizeof(num), "%zu", w->nparts + 1);
    const S3Pair q[] = {{"partNumber", num}, {"uploadId", w->upload_id}};
    S3Request req = {.method = "PUT", .key = w->key, .query = q, .nquery = 2, .body = w->part.data,
                     .body_len = w->part.len, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    if (s3_request(&w->s->client, &req, &resp, w->what, err) != 0)
        return -1;
    int rc = 0;
    if (resp.status != 200)
        rc = s3_fail(&resp, w->what, "UploadPart", err);
    else if (!etag_valid(resp.etag))
        rc = error_set(err, "%s: part %s answered without a valid ETag", w->what, num);
    else
    {
        w->etags = xrealloc(w->etags, (w->nparts + 1) * sizeof(char *));
        w->etags[w->nparts++] = resp.etag;
        resp.etag = NULL;
        w->part.len = 0;
    }
    s3_response_free(&resp);
    return rc;
}

static int
s3_write(StorageWriter *base, const void *buf, size_t len, Error *err)
{
    S3Writer *w = (S3Writer *) base;
    const char *p = buf;
    uint64_t part_size = w->s->client.cfg.part_size;
    while (len > 0)
    {
        size_t take = part_size - w->part.len < len ? (size_t) (part_size - w->part.len) : len;
        buffer_append(&w->part, p, take);
        p += take;
        len -= take;
        w->total += take;
        if (w->part.len == part_size && upload_part(w, err) != 0)
            return -1;
    }
    return 0;
}

static int
complete_upload(S3Writer *w, Error *err)
{
    Buffer body = {0};
    buffer_appendf(&body, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < w->nparts; i++)
        buffer_appendf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, w->etags[i]);
    buffer_appendf(&body, "</CompleteMultipartUpload>");
    const S3Pair q[] = {{"uploadId", w->upload_id}};
    S3Request req = {.method = "POST", .key = w->key, .query = q, .nquery = 1, .body = body.data,
                     .body_len = body.len, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    int rc = s3_request(&w->s->client, &req, &resp, w->what, err);
    buffer_free(&body);
    if (rc != 0)
        return -1;
    /* S3 may answer 200 and still fail: the body then is an <Error>. */
    char *code = NULL, *msg = NULL;
    if (resp.status == 200)
        s3_xml_parse_error(resp.body.data, resp.body.len, &code, &msg);
    if (resp.status != 200 || code)
        rc = s3_fail(&resp, w->what, "CompleteMultipartUpload", err);
    free(code);
    free(msg);
    s3_response_free(&resp);
    if (rc != 0)
        return -1;
    /* what is there now must be what was written */
    bool found = false;
    uint64_t size = 0;
    if (head_object(w->s, w->key, w->what, &found, &size, NULL, err) != 0)
        return -1;
    if (!found || size != w->total)
        return error_set(err, "%s: after CompleteMultipartUpload the object is %s%llu bytes, %llu were written",
                         w->what, found ? "" : "absent, not ", (unsigned long long) size,
                         (unsigned long long) w->total);
    return 0;
}

static int
put_whole(S3Writer *w, Error *err)
{
    S3Request req = {.method = "PUT", .key = w->key, .body = w->part.data, .body_len = w->part.len,
                     .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    if (s3_request(&w->s->client, &req, &resp, w->what, err) != 0)
        return -1;
    int rc = resp.status == 200 ? 0 : s3_fail(&resp, w->what, "PUT", err);
    s3_response_free(&resp);
    return rc;
}

static void
abort_upload(S3Writer *w)
{
    if (!w->upload_id)
        return;
    const S3Pair q[] = {{"uploadId", w->upload_id}};
    S3Request req = {.method = "DELETE", .key = w->key, .query = q, .nquery = 1, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    Error ignored;
    /* Best effort: an upload left behind is invisible, and remove_tree and
     * the bucket's lifecycle rule for incomplete uploads take it away. */
    if (s3_request(&w->s->client, &req, &resp, w->what, &ignored) == 0)
        s3_response_free(&resp);
}

static void
s3_writer_free(S3Writer *w)
{
    buffer_free(&w->part);
    for (size_t i = 0; i < w->nparts; i++)
        free(w->etags[i]);
    free(w->etags);
    free(w->upload_id);
    free(w->key);
    free(w->what);
    free(w);
}

static int
s3_commit(StorageWriter *base, Error *err)
{
    S3Writer *w = (S3Writer *) base;
    int rc;
    if (!w->upload_id)
        rc = put_whole(w, err);
    else
    {
        rc = w->part.len > 0 ? upload_part(w, err) : 0;
        if (rc == 0)
            rc = complete_upload(w, err);
        if (rc != 0)
            abort_upload(w);
    }
    s3_writer_free(w);
    return rc;
}

static void
s3_abort(StorageWriter *base)
{
    S3Writer *w = (S3Writer *) base;
    abort_upload(w);
    s3_writer_free(w);
}

static const StorageWriterOps s3_writer_ops = {s3_write, s3_commit, s3_abort};

static int
s3_open_write(Storage *base, const char *path, StorageWriter **out, Error *err)
{
    S3Storage *s = (S3Storage *) base;
    char *key;
    if (object_key(s, path, &key, err) != 0)
        return -1;
    if (!*path || str_ends_with(key, "/"))
    {
        free(key);
        return error_set(err, "pool %s: '%s' is not an object name", s->client.location, path);
    }
    S3Writer *w = xcalloc(1, sizeof(*w));
    w->base.ops = &s3_writer_ops;
    w->s = s;
    w->key = key;
    w->what = key_what(s, key);
    *out = &w->base;
    return 0;
}

/* ---- exists, remove */

static int
s3_exists(Storage *base, const char *path, bool *exists, Error *err)
{
    S3Storage *s = (S3Storage *) base;
    char *key;
    *exists = false;
    if (object_key(s, path, &key, err) != 0)
        return -1;
    char *what = key_what(s, key);
    uint64_t size = 0;
    int rc = *key && !str_ends_with(key, "/") ? head_object(s, key, what, exists, &size, NULL, err) : 0;
    if (rc == 0 && !*exists)
    {
        /* a "directory": some object below path/ */
        char *dir = s3_dir_key(&s->client, path);
        S3ListPage page;
        rc = s3_list_page(&s->client, dir, false, NULL, "1", &page, err);
        if (rc == 0)
        {
            *exists = page.nkeys > 0;
            s3_list_page_free(&page);
        }
        free(dir);
    }
    free(key);
    free(what);
    return rc;
}

static int
delete_key(S3Storage *s, const char *key, Error *err)
{
    char *what = key_what(s, key);
    S3Request req = {.method = "DELETE", .key = key, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    int rc = s3_request(&s->client, &req, &resp, what, err);
    if (rc == 0)
    {
        if (resp.status != 204 && resp.status != 200 && resp.status != 404)
            rc = s3_fail(&resp, what, "DELETE", err);
        s3_response_free(&resp);
    }
    free(what);
    return rc;
}

static int
s3_remove(Storage *base, const char *path, Error *err)
{
    S3Storage *s = (S3Storage *) base;
    char *key;
    if (object_key(s, path, &key, err) != 0)
        return -1;
    int rc = *key ? delete_key(s, key, err) : error_set(err, "pool %s: cannot remove the pool's root",
                                                          s->client.location);
    free(key);
    return rc;
}

static int
s3_remove_tree(Storage *base, const char *dirpath, Error *err)
{
    S3Storage *s = (S3Storage *) base;
    char *dir = s3_dir_key(&s->client, dirpath);
    char **keys;
    size_t n;
    int rc = s3_list_all(&s->client, dir, &keys, &n, err);
    if (rc == 0 && n > 0)
    {
        char *what = key_what(s, dir);
        rc = s3_delete_keys(&s->client, keys, n, what, err);
        free(what);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    if (rc == 0)
        rc = s3_abort_uploads(&s->client, dir, err);
    free(dir);
    return rc;
}

static void
s3_close(Storage *base)
{
    S3Storage *s = (S3Storage *) base;
    s3_client_destroy(&s->client);
    free(s->base.location);
    free(s);
}

static int
s3_list(Storage *base, const char *dirpath, const char *prefix, StorageList *out, Error *err)
{
    return s3_list_dir(&((S3Storage *) base)->client, dirpath, prefix, out, err);
}

static const StorageDriver s3_driver = {
    .name = "s3",
    .open_read = s3_open_read,
    .open_write = s3_open_write,
    .exists = s3_exists,
    .list = s3_list,
    .remove = s3_remove,
    .remove_tree = s3_remove_tree,
    .close = s3_close,
};

int
storage_s3_open(const char *location, Storage **out, Error *err)
{
    S3Storage *s = xcalloc(1, sizeof(*s));
    if (s3_client_init(&s->client, location, err) != 0)
    {
        free(s);
        return -1;
    }
    s->base.driver = &s3_driver;
    s->base.location = xstrdup(location);
    *out = &s->base;
    return 0;
}
