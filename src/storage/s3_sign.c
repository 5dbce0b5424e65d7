/* AWS Signature Version 4 (header-based), as documented in "Authenticating
 * Requests (AWS Signature Version 4)": the canonical request's parts are
 * built here and nowhere else, so what is signed is what is sent. */
#include "storage/s3_sign.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void
s3_sha256_hex(const void *data, size_t len, char out[S3_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, out);
}

static void
hmac_sha256(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int outlen = 32;
    HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) msg, strlen(msg), out, &outlen);
}

char *
s3_uri_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    Buffer b = {0};
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/'))
            buffer_append(&b, p, 1);
        else
        {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buffer_append(&b, e, 3);
        }
    }
    buffer_append(&b, "", 0);
    return b.data;
}

typedef struct EncodedPair
{
    char *name;
    char *value;
} EncodedPair;

static int
encoded_pair_cmp(const void *a, const void *b)
{
    const EncodedPair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

char *
s3_canonical_query(const S3Pair *query, size_t n)
{
    EncodedPair *e = xcalloc(n ? n : 1, sizeof(*e));
    for (size_t i = 0; i < n; i++)
    {
        e[i].name = s3_uri_encode(query[i].name, false);
        e[i].value = s3_uri_encode(query[i].value ? query[i].value : "", false);
    }
    qsort(e, n, sizeof(*e), encoded_pair_cmp);
    Buffer b = {0};
    for (size_t i = 0; i < n; i++)
    {
        buffer_appendf(&b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
        free(e[i].name);
        free(e[i].value);
    }
    free(e);
    buffer_append(&b, "", 0);
    return b.data;
}

typedef struct CanonHeader
{
    char *name;     /* lower case */
    char *value;    /* trimmed, inner runs of spaces collapsed */
} CanonHeader;

static int
canon_header_cmp(const void *a, const void *b)
{
    return strcmp(((const CanonHeader *) a)->name, ((const CanonHeader *) b)->name);
}

static char *
canon_value(const char *v)
{
    Buffer b = {0};
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++)
    {
        if (*v == ' ' || *v == '\t')
            space = true;
        else
        {
            if (space)
                buffer_append(&b, " ", 1);
            space = false;
            buffer_append(&b, v, 1);
        }
    }
    buffer_append(&b, "", 0);
    return b.data;
}

/* Appends the canonical headers block and fills *signed_headers. */
static int
canonical_headers(const S3Pair *h, size_t n, Buffer *cr, char **signed_headers)
{
    CanonHeader *c = xcalloc(n ? n : 1, sizeof(*c));
    int rc = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (strpbrk(h[i].value, "\r\n") || strpbrk(h[i].name, "\r\n: "))
            rc = -1;
        c[i].name = xstrdup(h[i].name);
        for (char *p = c[i].name; *p; p++)
            *p = (char) tolower((unsigned char) *p);
        c[i].value = canon_value(h[i].value);
    }
    qsort(c, n, sizeof(*c), canon_header_cmp);
    Buffer sh = {0};
    for (size_t i = 0; i < n; i++)
    {
        buffer_appendf(cr, "%s:%s\n", c[i].name, c[i].value);
        buffer_appendf(&sh, "%s%s", i ? ";" : "", c[i].name);
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
    buffer_append(&sh, "", 0);
    *signed_headers = sh.data;
    return rc;
}

int
s3_sign(const S3SignRequest *req, S3Signature *out)
{
    memset(out, 0, sizeof(*out));
    Buffer cr = {0};
    char *path = s3_uri_encode(req->path, true);
    char *query = s3_canonical_query(req->query, req->nquery);
    buffer_appendf(&cr, "%s\n%s\n%s\n", req->method, path, query);
    free(path);
    free(query);
    char *signed_headers = NULL;
    int rc = canonical_headers(req->headers, req->nheaders, &cr, &signed_headers);
    buffer_appendf(&cr, "\n%s\n%s", signed_headers, req->payload_sha256);
    buffer_append(&cr, "", 0);

    char date[9];
    memcpy(date, req->amz_date, 8);
    date[8] = '\0';
    char *scope = xprintf("%s/%s/%s/aws4_request", date, req->region, req->service);
    char crhash[S3_SHA256_HEX_LEN + 1];
    s3_sha256_hex(cr.data, cr.len, crhash);
    out->canonical_request = cr.data;
    out->string_to_sign = xprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", req->amz_date, scope, crhash);

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    char *k0 = xprintf("AWS4%s", req->secret_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac_sha256(k0, strlen(k0), date, k1);
    OPENSSL_cleanse(k0, strlen(k0));
    free(k0);
    hmac_sha256(k1, 32, req->region, k2);
    hmac_sha256(k2, 32, req->service, k3);
    hmac_sha256(k3, 32, "aws4_request", k4);
    hmac_sha256(k4, 32, out->string_to_sign, sig);
    char sighex[65];
    hex_encode(sig, 32, sighex);
    OPENSSL_cleanse(k4, sizeof(k4));
    out->authorization = xprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                                 req->access_key, scope, signed_headers, sighex);
    free(scope);
    free(signed_headers);
    return rc;
}

void
s3_signature_free(S3Signature *sig)
{
    free(sig->canonical_request);
    free(sig->string_to_sign);
    free(sig->authorization);
    memset(sig, 0, sizeof(*sig));
}
