/* SigV4 against the signatures AWS publishes: the Signature Version 4 test
 * suite (get-vanilla and friends; credentials AKIDEXAMPLE, service
 * "service", 2015-08-30T12:36:00Z) and the S3 developer guide's examples
 * (examplebucket, AKIAIOSFODNN7EXAMPLE, 2013-05-24). A wrong byte anywhere
 * in the canonical request changes the signature, so these pin it. */
#include <string.h>

#include "common/util.h"
#include "storage/s3_sign.h"
#include "unit.h"

#define SUITE_AK "AKIDEXAMPLE"
#define SUITE_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define S3_AK "AKIAIOSFODNN7EXAMPLE"
#define S3_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SUITE_PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define S3_PREFIX "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "

static const S3Pair suite_headers[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};

static S3Signature
suite_sign(const char *method, const char *path, const S3Pair *q, size_t nq)
{
    S3SignRequest r = {method, path, q, nq, suite_headers, 2, S3_EMPTY_SHA256, "20150830T123600Z",
                       "us-east-1", "service", SUITE_AK, SUITE_SK};
    S3Signature s;
    s3_sign(&r, &s);
    return s;
}

static void
suite_case(const char *name, const char *method, const char *path, const S3Pair *q, size_t nq, const char *sig)
{
    S3Signature s = suite_sign(method, path, q, nq);
    char *want = xprintf(SUITE_PREFIX "SignedHeaders=host;x-amz-date, Signature=%s", sig);
    CHECK(!strcmp(s.authorization, want), name);
    if (strcmp(s.authorization, want))
        printf("#   got  %s\n#   want %s\n", s.authorization, want);
    free(want);
    s3_signature_free(&s);
}

static void
s3_case(const char *name, const char *method, const char *path, const S3Pair *q, size_t nq, const S3Pair *h,
        size_t nh, const char *payload, const char *signed_headers, const char *sig)
{
    S3SignRequest r = {method, path, q, nq, h, nh, payload, "20130524T000000Z", "us-east-1", "s3", S3_AK, S3_SK};
    S3Signature s;
    s3_sign(&r, &s);
    char *want = xprintf(S3_PREFIX "SignedHeaders=%s, Signature=%s", signed_headers, sig);
    CHECK(!strcmp(s.authorization, want), name);
    if (strcmp(s.authorization, want))
        printf("#   got  %s\n#   want %s\n", s.authorization, want);
    free(want);
    s3_signature_free(&s);
}

int main(void)
{
    /* get-vanilla: every intermediate the suite publishes */
    S3Signature s = suite_sign("GET", "/", NULL, 0);
    CHECK(!strcmp(s.canonical_request, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                       "host;x-amz-date\n" S3_EMPTY_SHA256),
          "get-vanilla canonical request");
    CHECK(!strcmp(s.string_to_sign, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                                    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"),
          "get-vanilla string to sign");
    s3_signature_free(&s);
    suite_case("get-vanilla signature", "GET", "/", NULL, 0,
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    suite_case("post-vanilla signature", "POST", "/", NULL, 0,
               "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    const S3Pair unsorted[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    suite_case("get-vanilla-query-order-key-case (query sorted)", "GET", "/", unsorted, 2,
               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    suite_case("get-utf8 (path percent-encoded)", "GET", "/\xe1\x88\xb4", NULL, 0,
               "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
    suite_case("get-unreserved (unreserved characters kept)", "GET",
               "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL, 0,
               "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");

    /* S3: GET Object, with a Range header */
    const S3Pair get_h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                            {"x-amz-content-sha256", S3_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};
    S3SignRequest r = {"GET", "/test.txt", NULL, 0, get_h, 4, S3_EMPTY_SHA256, "20130524T000000Z",
                       "us-east-1", "s3", S3_AK, S3_SK};
    s3_sign(&r, &s);
    CHECK(strstr(s.string_to_sign, "\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972") != NULL,
          "S3 GET Object: canonical request hash");
    s3_signature_free(&s);
    s3_case("S3 GET Object signature", "GET", "/test.txt", NULL, 0, get_h, 4, S3_EMPTY_SHA256,
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

    /* S3: PUT Object, signed payload, '$' in the key */
    const char *body = "Welcome to Amazon S3.";
    char body_sha[65];
    s3_sha256_hex(body, strlen(body), body_sha);
    CHECK(!strcmp(body_sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
          "SHA-256 of the PUT example's body");
    const S3Pair put_h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                            {"x-amz-date", "20130524T000000Z"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                            {"x-amz-content-sha256", body_sha}};
    s3_case("S3 PUT Object signature", "PUT", "/test$file.text", NULL, 0, put_h, 5, body_sha,
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

    /* S3: GET Bucket lifecycle (a parameter without a value) and a listing */
    const S3Pair bucket_h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                               {"x-amz-content-sha256", S3_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};
    const S3Pair lifecycle[] = {{"lifecycle", ""}};
    s3_case("S3 GET Bucket lifecycle signature", "GET", "/", lifecycle, 1, bucket_h, 3, S3_EMPTY_SHA256,
            "host;x-amz-content-sha256;x-amz-date",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    const S3Pair listq[] = {{"prefix", "J"}, {"max-keys", "2"}};
    s3_case("S3 List Objects signature (query sorted)", "GET", "/", listq, 2, bucket_h, 3, S3_EMPTY_SHA256,
            "host;x-amz-content-sha256;x-amz-date",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

    /* encoding details the driver relies on */
    char *e = s3_uri_encode("a b+c/d~e%", false);
    CHECK(!strcmp(e, "a%20b%2Bc%2Fd~e%25"), "query encoding: space, plus, slash, percent");
    free(e);
    e = s3_uri_encode("nodes/n1/wal/0000000100000000000000A1.zst", true);
    CHECK(!strcmp(e, "nodes/n1/wal/0000000100000000000000A1.zst"), "path encoding keeps slashes");
    free(e);
    const S3Pair tok[] = {{"continuation-token", "1/a+b=="}, {"list-type", "2"}, {"delimiter", "/"}};
    e = s3_canonical_query(tok, 3);
    CHECK(!strcmp(e, "continuation-token=1%2Fa%2Bb%3D%3D&delimiter=%2F&list-type=2"), "canonical query");
    free(e);
    const S3Pair bad_h[] = {{"Host", "h"}, {"x-amz-meta", "a\r\nInjected: 1"}};
    S3SignRequest bad = {"GET", "/", NULL, 0, bad_h, 2, S3_EMPTY_SHA256, "20130524T000000Z", "r", "s3", S3_AK, S3_SK};
    CHECK(s3_sign(&bad, &s) != 0, "a header value with a line break is refused");
    s3_signature_free(&s);
    UNIT_DONE();
}
