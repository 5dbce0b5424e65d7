/* Unfinished multipart uploads: a writer killed mid-object leaves one
 * behind. It is no object (nothing lists, reads or counts it), but it
 * holds the parts' space until aborted; remove_tree aborts those below the
 * tree it removes. */
#include <stdlib.h>
#include <string.h>

#include "storage/s3_client.h"

static int
abort_one(S3Client *c, const char *key, const char *id, Error *err)
{
    const S3Pair q[] = {{"uploadId", id}};
    S3Request req = {.method = "DELETE", .key = key, .query = q, .nquery = 1, .max_body = S3_MAX_ERROR_BODY};
    S3Response resp;
    char *what = xprintf("s3://%s/%s", c->cfg.bucket, key);
    int rc = s3_request(c, &req, &resp, what, err);
    if (rc == 0)
    {
        if (resp.status != 204 && resp.status != 200 && resp.status != 404)
            rc = s3_fail(&resp, what, "AbortMultipartUpload", err);
        s3_response_free(&resp);
    }
    free(what);
    return rc;
}

static int
parse_uploads(const char *xml, size_t len, void *page, Error *err)
{
    return s3_xml_parse_uploads(xml, len, page, err);
}

static int
list_uploads(S3Client *c, const char *prefix, const char *key_marker, const char *id_marker, S3UploadPage *page,
             Error *err)
{
    S3Pair q[4];
    size_t n = 0;
    q[n++] = (S3Pair){"uploads", ""};
    q[n++] = (S3Pair){"prefix", prefix};
    if (key_marker)
        q[n++] = (S3Pair){"key-marker", key_marker};
    if (id_marker)
        q[n++] = (S3Pair){"upload-id-marker", id_marker};
    return s3_get_listing(c, prefix, q, n, "ListMultipartUploads", parse_uploads, page, err);
}

int
s3_abort_uploads(S3Client *c, const char *prefix, Error *err)
{
    char *key_marker = NULL, *id_marker = NULL;
    int rc = 0;
    for (;;)
    {
        S3UploadPage page;
        if ((rc = list_uploads(c, prefix, key_marker, id_marker, &page, err)) != 0)
            break;
        for (size_t i = 0; i < page.n && rc == 0; i++)
            if (!str_starts_with(page.keys[i], prefix))
                rc = error_set(err, "s3://%s/%s: the upload listing returned key '%.200s' outside the prefix",
                               c->cfg.bucket, prefix, page.keys[i]);
            else
                rc = abort_one(c, page.keys[i], page.ids[i], err);
        bool more = rc == 0 && page.truncated;
        if (more && key_marker && !strcmp(key_marker, page.next_key) && id_marker && page.next_id &&
            !strcmp(id_marker, page.next_id))
            rc = error_set(err, "s3://%s/%s: the upload listing repeats its marker", c->cfg.bucket, prefix);
        free(key_marker);
        free(id_marker);
        key_marker = page.next_key;
        id_marker = page.next_id;
        page.next_key = page.next_id = NULL;
        s3_upload_page_free(&page);
        if (!more || rc != 0)
            break;
    }
    free(key_marker);
    free(id_marker);
    return rc;
}
