/* AWS Signature Version 4 for the S3 pool backend (OpenSSL's SHA-256 and
 * HMAC-SHA256): canonical request, string to sign, signing key, the
 * Authorization header. Pure functions of their inputs, so the published
 * AWS test vectors pin them (tests/unit/test_s3_sign.c). */
#ifndef STRATA_S3_SIGN_H
#define STRATA_S3_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#define S3_SHA256_HEX_LEN 64
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A query parameter or header: name and value as sent (unencoded). */
typedef struct S3Pair
{
    const char *name;
    const char *value;
} S3Pair;

typedef struct S3SignRequest
{
    const char *method;
    const char *path;           /* unencoded, starts with '/' */
    const S3Pair *query;        /* unencoded; signed sorted */
    size_t nquery;
    const S3Pair *headers;      /* every header to sign, Host included */
    size_t nheaders;
    const char *payload_sha256; /* hex, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;       /* 20150830T123600Z, as in X-Amz-Date */
    const char *region;
    const char *service;        /* "s3" */
    const char *access_key;
    const char *secret_key;
} S3SignRequest;

typedef struct S3Signature
{
    char *canonical_request;
    char *string_to_sign;
    char *authorization;        /* the Authorization header's value */
} S3Signature;

void s3_sha256_hex(const void *data, size_t len, char out[S3_SHA256_HEX_LEN + 1]);
/* RFC 3986 encoding as SigV4 wants it: everything but A-Za-z0-9-._~
 * (and '/' when keep_slash) as %XX, upper-case hex. */
char *s3_uri_encode(const char *s, bool keep_slash);
/* The query string in SigV4's canonical form (encoded, sorted by name then
 * value); also what is sent on the wire, so both always agree. */
char *s3_canonical_query(const S3Pair *query, size_t n);
/* Returns 0, or -1 if a header value holds a line break (never signed). */
int s3_sign(const S3SignRequest *req, S3Signature *out);
void s3_signature_free(S3Signature *sig);

#endif
