/* The S3 pool backend's internals, shared by its files: where the pool is
 * (s3_config.c), how a request travels (s3_http.c), what the answers say
 * (s3_xml.c); the storage driver on top is s3.c. */
#ifndef STRATA_S3_CLIENT_H
#define STRATA_S3_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/util.h"
#include "storage/s3_sign.h"

/* Bounds on what the store may send: no answer grows memory without limit. */
#define S3_MAX_XML_BODY (8u << 20)      /* a listing page of 1000 keys is ~0.5 MiB */
#define S3_MAX_ERROR_BODY (64u << 10)
#define S3_MAX_KEY 1024                 /* S3's own limit on a key, in bytes */

typedef struct S3Config
{
    char *bucket;
    char *prefix;         /* "" or "some/prefix/" (always ending in '/') */
    char *scheme;         /* "http" or "https" */
    char *host;           /* endpoint host[:port] */
    char *region;
    bool virtual_host;    /* bucket in the host name, not the path */
    char *ca_file;        /* NULL: the system's CA store */
    char *access_key;
    char *secret_key;
    char *session_token;  /* NULL unless temporary credentials */
    int max_attempts;     /* per request, >= 1 */
    uint64_t part_size;   /* multipart part size in bytes */
} S3Config;

/* Parses s3://bucket[/prefix][?option=value&...] and the environment (see
 * docs/cli.md "S3 pools"); credentials only from the environment or a file. */
int s3_config_load(const char *location, S3Config *cfg, Error *err);
void s3_config_free(S3Config *cfg);

typedef struct S3Client
{
    S3Config cfg;
    char *location;       /* for messages: s3://bucket/prefix, never a secret */
    pthread_mutex_t lock; /* guards the idle handle list */
    void **idle;          /* CURL handles kept for connection reuse */
    size_t nidle, capidle;
} S3Client;

typedef struct S3Request
{
    const char *method;
    const char *key;        /* object key below the bucket (prefix included); NULL: the bucket */
    const S3Pair *query;
    size_t nquery;
    const S3Pair *headers;  /* extra headers to send and sign */
    size_t nheaders;
    const void *body;       /* kept whole, so a retry resends it */
    size_t body_len;
    size_t max_body;        /* a 2xx answer longer than this is an error */
} S3Request;

typedef struct S3Response
{
    long status;
    Buffer body;
    char *etag;             /* ETag header, quotes kept */
    int64_t content_length; /* -1 if absent */
    char *content_range;
} S3Response;

int s3_client_init(S3Client *c, const char *location, Error *err);
void s3_client_destroy(S3Client *c);
/* Sends the request, retrying 5xx/408/429 and connection failures with
 * exponential back-off. Returns 0 with resp->status set for any HTTP answer
 * the caller decides on (2xx, 404, ...); -1 with err set after the last
 * attempt failed, or for an answer that no retry can change (403, ...).
 * `what` names the object for messages. */
int s3_request(S3Client *c, const S3Request *req, S3Response *resp, const char *what, Error *err);
void s3_response_free(S3Response *resp);
/* The message of an S3 error answer: "HTTP 403 SignatureDoesNotMatch: ...". */
char *s3_error_text(const S3Response *resp);

/* Sets err to "WHAT: OP: <s3_error_text>"; returns -1. */
int s3_fail(const S3Response *resp, const char *what, const char *op, Error *err);

/* A listing request (operation `op`, query q) of the keys below prefix: a
 * GET of the bucket that must answer 200 with an XML body, which `parse`
 * reads into `page`. Errors name s3://BUCKET/PREFIX and the operation. */
typedef int (*S3XmlParse)(const char *xml, size_t len, void *page, Error *err);
int s3_get_listing(S3Client *c, const char *prefix, const S3Pair *q, size_t nq, const char *op, S3XmlParse parse,
                   void *page, Error *err);

/* XML answers (libxml2). */
typedef struct S3ListPage
{
    char **keys;            /* full keys of Contents */
    uint64_t *sizes;
    size_t nkeys;
    char **prefixes;        /* CommonPrefixes */
    size_t nprefixes;
    bool truncated;
    char *next_token;       /* NextContinuationToken, when truncated */
} S3ListPage;

/* One ListObjectsV2 page below prefix (delimited: with '/'); token and
 * max_keys may be NULL. */
int s3_list_page(S3Client *c, const char *prefix, bool delimited, const char *token, const char *max_keys,
                 S3ListPage *page, Error *err);
/* Every key below prefix, all pages. */
int s3_list_all(S3Client *c, const char *prefix, char ***keys, size_t *nkeys, Error *err);
/* The key prefix of a pool directory: "<prefix><dir>/" (or the pool's prefix for ""). */
char *s3_dir_key(const S3Client *c, const char *dir);
struct StorageList;
/* A pool directory's entries (storage.h's list). */
int s3_list_dir(S3Client *c, const char *dir, const char *prefix, struct StorageList *out, Error *err);

int s3_xml_parse_list(const char *xml, size_t len, S3ListPage *page, Error *err);
void s3_list_page_free(S3ListPage *page);
/* The text of the first element named `name` (any namespace) below the
 * root, or NULL; *bad set if the document is not XML. */
char *s3_xml_find(const char *xml, size_t len, const char *name, bool *bad);
/* Parses <Error><Code/><Message/></Error>; NULLs when absent. */
void s3_xml_parse_error(const char *xml, size_t len, char **code, char **message);

typedef struct S3UploadPage
{
    char **keys;            /* in-progress multipart uploads */
    char **ids;
    size_t n;
    bool truncated;
    char *next_key, *next_id;
} S3UploadPage;

int s3_xml_parse_uploads(const char *xml, size_t len, S3UploadPage *page, Error *err);
void s3_upload_page_free(S3UploadPage *page);

/* The first <Error> of a DeleteObjects answer (NULLs: every key deleted). */
int s3_xml_parse_delete_result(const char *xml, size_t len, char **key, char **code, Error *err);
/* Deletes the keys, DeleteObjects batches of 1000; what names them for messages. */
int s3_delete_keys(S3Client *c, char **keys, size_t n, const char *what, Error *err);

/* Aborts every unfinished multipart upload below prefix (what a killed
 * writer left: invisible, but it holds space). */
int s3_abort_uploads(S3Client *c, const char *prefix, Error *err);

#endif
