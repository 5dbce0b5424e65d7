/* The S3 backend's parsing of what it is given and what it is answered:
 * pool locations, options and credentials files; ListObjectsV2 pages,
 * error bodies. Bad input is refused with a message, never half-used. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/s3_client.h"
#include "unit.h"

static int
load(const char *location, S3Config *cfg, Error *err)
{
    return s3_config_load(location, cfg, err);
}

static void
refused(const char *location, const char *needle, const char *name)
{
    S3Config cfg;
    Error err = {{0}};
    int rc = load(location, &cfg, &err);
    CHECK(rc != 0 && strstr(err.msg, needle), name);
    if (rc == 0)
        s3_config_free(&cfg);
    else if (!strstr(err.msg, needle))
        printf("#   message: %s\n", err.msg);
}

static void
locations(void)
{
    S3Config cfg;
    Error err;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret/key+1", 1);
    unsetenv("STRATA_S3_ENDPOINT");
    unsetenv("STRATA_S3_CREDENTIALS_FILE");
    CHECK(load("s3://my-bucket/a/b/", &cfg, &err) == 0, "s3://my-bucket/a/b/ loads");
    CHECK(!strcmp(cfg.bucket, "my-bucket") && !strcmp(cfg.prefix, "a/b/"), "bucket and prefix (one trailing '/')");
    CHECK(!strcmp(cfg.host, "s3.us-east-1.amazonaws.com") && cfg.virtual_host && !strcmp(cfg.scheme, "https"),
          "no endpoint: AWS, virtual-hosted, https");
    CHECK(!strcmp(cfg.access_key, "AKIDEXAMPLE") && !strcmp(cfg.secret_key, "secret/key+1"),
          "credentials from the environment");
    s3_config_free(&cfg);

    CHECK(load("s3://bkt?endpoint=http://127.0.0.1:7480/&region=eu-west-2", &cfg, &err) == 0,
          "endpoint and region as URL options");
    CHECK(!strcmp(cfg.host, "127.0.0.1:7480") && !strcmp(cfg.scheme, "http") && !cfg.virtual_host &&
              !strcmp(cfg.region, "eu-west-2") && !strcmp(cfg.prefix, ""),
          "... host:port, path style by default with an endpoint, no prefix");
    s3_config_free(&cfg);

    setenv("STRATA_S3_ENDPOINT", "https://minio.example:9000", 1);
    setenv("STRATA_S3_URI_STYLE", "virtual", 1);
    CHECK(load("s3://bkt/p", &cfg, &err) == 0 && cfg.virtual_host && !strcmp(cfg.host, "minio.example:9000"),
          "STRATA_S3_ENDPOINT and STRATA_S3_URI_STYLE");
    s3_config_free(&cfg);
    CHECK(load("s3://bkt/p?style=path", &cfg, &err) == 0 && !cfg.virtual_host, "a URL option wins over the environment");
    s3_config_free(&cfg);
    unsetenv("STRATA_S3_URI_STYLE");
    unsetenv("STRATA_S3_ENDPOINT");

    refused("s3://ab", "3 to 63", "a 2-character bucket name");
    refused("s3://Upper", "a-z", "an upper-case bucket name");
    refused("s3://bkt/a//b", "empty path segment", "an empty prefix segment");
    refused("s3://bkt/a/../b", "'..'", "a '..' prefix segment");
    refused("s3://bkt/p?secret_access_key=x", "unknown option 'secret_access_key'", "a secret on the URL");
    refused("s3://bkt/p?endpoint=ftp://h", "http:// or https://", "an endpoint of another scheme");
    refused("s3://bkt/p?endpoint=http://h/path", "no path", "an endpoint with a path");
    refused("s3://bkt/p?style=sideways", "'path' or 'virtual'", "an unknown style");
    refused("s3://bkt/p?region=", "name=value", "an option without a value");
    refused("s3://my_bucket/p?style=virtual", "host name", "'_' in a bucket with virtual-hosted style");
    setenv("STRATA_S3_PART_SIZE", "1M", 1);
    refused("s3://bkt/p", "between 5M and 5G", "a part size below S3's minimum");
    unsetenv("STRATA_S3_PART_SIZE");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    refused("s3://bkt/p", "no S3 credentials", "no credentials");
}

static void
credentials_file(void)
{
    char path[] = "/tmp/strata-unit-creds-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n[other]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n"
                       "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key =  s3cr3t  \n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t) strlen(text), "write a credentials file");
    close(fd);
    chmod(path, 0600);
    setenv("STRATA_S3_CREDENTIALS_FILE", path, 1);
    S3Config cfg;
    Error err;
    CHECK(load("s3://bkt", &cfg, &err) == 0 && !strcmp(cfg.access_key, "AKIDFILE") &&
              !strcmp(cfg.secret_key, "s3cr3t") && !cfg.session_token,
          "credentials file: the [default] section, values trimmed");
    s3_config_free(&cfg);
    setenv("STRATA_S3_PROFILE", "other", 1);
    CHECK(load("s3://bkt", &cfg, &err) == 0 && !strcmp(cfg.access_key, "WRONG"), "STRATA_S3_PROFILE picks a section");
    s3_config_free(&cfg);
    setenv("STRATA_S3_PROFILE", "absent", 1);
    refused("s3://bkt", "no [absent] section", "a profile that is not in the file");
    unsetenv("STRATA_S3_PROFILE");
    chmod(path, 0644);
    refused("s3://bkt", "chmod 600", "a credentials file others can read");
    unlink(path);
    refused("s3://bkt", "credentials file", "a missing credentials file");
    unsetenv("STRATA_S3_CREDENTIALS_FILE");
}

static void
listings(void)
{
    const char *page = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                       "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Name>b</Name><Prefix>p/</Prefix><IsTruncated>true</IsTruncated>"
                       "<NextContinuationToken>1/tok+en==</NextContinuationToken>"
                       "<Contents><Key>p/a&amp;b</Key><Size>123</Size></Contents>"
                       "<Contents><Key>p/c</Key><Size>0</Size></Contents>"
                       "<CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes></ListBucketResult>";
    S3ListPage lp;
    Error err;
    CHECK(s3_xml_parse_list(page, strlen(page), &lp, &err) == 0, "a ListObjectsV2 page parses");
    CHECK(lp.nkeys == 2 && !strcmp(lp.keys[0], "p/a&b") && lp.sizes[0] == 123 && lp.sizes[1] == 0,
          "... keys (entities decoded) and sizes");
    CHECK(lp.nprefixes == 1 && !strcmp(lp.prefixes[0], "p/dir/"), "... common prefixes");
    CHECK(lp.truncated && !strcmp(lp.next_token, "1/tok+en=="), "... truncated, with its continuation token");
    s3_list_page_free(&lp);

    const char *bad_size = "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>";
    CHECK(s3_xml_parse_list(bad_size, strlen(bad_size), &lp, &err) != 0 && strstr(err.msg, "invalid Size"),
          "a negative size is refused");
    const char *huge = "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents>"
                       "</ListBucketResult>";
    CHECK(s3_xml_parse_list(huge, strlen(huge), &lp, &err) != 0, "a size beyond 64 bits is refused");
    const char *no_token = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
    CHECK(s3_xml_parse_list(no_token, strlen(no_token), &lp, &err) != 0 && strstr(err.msg, "NextContinuationToken"),
          "truncated without a token is refused (no endless or short listing)");
    const char *not_xml = "<ListBucketResult><Contents>";
    CHECK(s3_xml_parse_list(not_xml, strlen(not_xml), &lp, &err) != 0, "broken XML is refused");
    const char *other = "<Error><Code>AccessDenied</Code></Error>";
    CHECK(s3_xml_parse_list(other, strlen(other), &lp, &err) != 0 && strstr(err.msg, "not a ListBucketResult"),
          "an error document is not a listing");
    const char *ent = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                      "<ListBucketResult><Contents><Key>&e;</Key><Size>1</Size></Contents></ListBucketResult>";
    if (s3_xml_parse_list(ent, strlen(ent), &lp, &err) == 0)
    {
        CHECK(lp.nkeys == 0 || !strstr(lp.keys[0], "root:"), "an external entity is not read");
        s3_list_page_free(&lp);
    }
    else
        CHECK(1, "an external entity is not read");

    char *code, *msg;
    const char *e = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message>"
                    "<RequestId>x</RequestId></Error>";
    s3_xml_parse_error(e, strlen(e), &code, &msg);
    CHECK(code && msg && !strcmp(code, "SignatureDoesNotMatch") && !strcmp(msg, "bad sig"), "an error body");
    free(code);
    free(msg);
    bool bad;
    const char *init = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>";
    char *id = s3_xml_find(init, strlen(init), "UploadId", &bad);
    CHECK(id && !strcmp(id, "2~abc") && !bad, "CreateMultipartUpload's UploadId");
    free(id);
}

int main(void)
{
    locations();
    credentials_file();
    listings();
    UNIT_DONE();
}
