/* Removing many objects: DeleteObjects, up to 1000 keys a request (what
 * expire does to a backup of thousands of objects), with the Content-MD5
 * S3 requires on it. A key the store reports as not deleted fails the
 * removal, named. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_client.h"

#define DELETE_BATCH 1000

static void
xml_escaped(Buffer *b, const char *s)
{
    for (; *s; s++)
        switch (*s)
        {
            case '&': buffer_append(b, "&amp;", 5); break;
            case '<': buffer_append(b, "&lt;", 4); break;
            case '>': buffer_append(b, "&gt;", 4); break;
            case '"': buffer_append(b, "&quot;", 6); break;
            case '\'': buffer_append(b, "&apos;", 6); break;
            default: buffer_append(b, s, 1);
        }
}

static int
delete_batch(S3Client *c, char **keys, size_t n, const char *what, Error *err)
{
    Buffer body = {0};
    buffer_appendf(&body, "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++)
    {
        buffer_appendf(&body, "<Object><Key>");
        xml_escaped(&body, keys[i]);
        buffer_appendf(&body, "</Key></Object>");
    }
    buffer_appendf(&body, "</Delete>");
    unsigned char md5[16];
    unsigned int mdlen = 0;
    EVP_Digest(body.data, body.len, md5, &mdlen, EVP_md5(), NULL);
    char md5_b64[32];
    EVP_EncodeBlock((unsigned char *) md5_b64, md5, 16);
    const S3Pair q[] = {{"delete", ""}};
    const S3Pair h[] = {{"Content-MD5", md5_b64}};
    S3Request req = {.method = "POST", .query = q, .nquery = 1, .headers = h, .nheaders = 1, .body = body.data,
                     .body_len = body.len, .max_body = S3_MAX_XML_BODY};
    S3Response resp;
    int rc = s3_request(c, &req, &resp, what, err);
    buffer_free(&body);
    if (rc != 0)
        return -1;
    if (resp.status != 200)
        rc = s3_fail(&resp, what, "DeleteObjects", err);
    else
    {
        char *key = NULL, *code = NULL;
        if (s3_xml_parse_delete_result(resp.body.data, resp.body.len, &key, &code, err) != 0)
            rc = error_prefix(err, "%s: ", what);
        else if (key)
            rc = error_set(err, "s3://%s/%s: DeleteObjects did not delete it: %s", c->cfg.bucket, key,
                           code ? code : "(no code)");
        free(key);
        free(code);
    }
    s3_response_free(&resp);
    return rc;
}

int
s3_delete_keys(S3Client *c, char **keys, size_t n, const char *what, Error *err)
{
    for (size_t i = 0; i < n; i += DELETE_BATCH)
        if (delete_batch(c, keys + i, n - i < DELETE_BATCH ? n - i : DELETE_BATCH, what, err) != 0)
            return -1;
    return 0;
}
