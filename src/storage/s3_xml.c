/* The S3 store's XML answers, read with libxml2: ListObjectsV2 pages,
 * CreateMultipartUpload's UploadId, error bodies. Elements are matched by
 * local name (S3 puts everything in its 2006-03-01 namespace); no network
 * access and no entity substitution while parsing; sizes bounded by the
 * caller before anything is parsed. */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_client.h"

#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)

static xmlDocPtr
parse(const char *xml, size_t len)
{
    if (len == 0 || len > S3_MAX_XML_BODY)
        return NULL;
    return xmlReadMemory(xml, (int) len, "s3-answer.xml", NULL, XML_OPTIONS);
}

static bool
is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *) n->name, name);
}

static char *
text_of(xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    char *s = xstrdup(t ? (const char *) t : "");
    xmlFree(t);
    return s;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (is(c, name))
            return c;
    return NULL;
}

char *
s3_xml_find(const char *xml, size_t len, const char *name, bool *bad)
{
    xmlDocPtr doc = parse(xml, len);
    *bad = doc == NULL;
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr n = root ? child(root, name) : NULL;
    char *s = n ? text_of(n) : NULL;
    xmlFreeDoc(doc);
    return s;
}

void
s3_xml_parse_error(const char *xml, size_t len, char **code, char **message)
{
    *code = *message = NULL;
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root && is(root, "Error"))
    {
        xmlNodePtr c = child(root, "Code"), m = child(root, "Message");
        *code = c ? text_of(c) : NULL;
        *message = m ? text_of(m) : NULL;
    }
    xmlFreeDoc(doc);
}

/* A decimal size as S3 writes it: digits only, no sign, no overflow. */
static int
parse_size_text(const char *s, uint64_t *out)
{
    if (!*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

static int
add_content(S3ListPage *page, xmlNodePtr c, size_t *cap, Error *err)
{
    xmlNodePtr k = child(c, "Key"), sz = child(c, "Size");
    if (!k || !sz)
        return error_set(err, "S3 listing: a Contents entry without Key or Size");
    char *key = text_of(k), *size = text_of(sz);
    uint64_t v = 0;
    int rc = 0;
    if (parse_size_text(size, &v) != 0)
        rc = error_set(err, "S3 listing: key %.200s has an invalid Size '%.40s'", key, size);
    free(size);
    if (rc != 0)
    {
        free(key);
        return rc;
    }
    if (page->nkeys == *cap)
    {
        *cap = *cap ? *cap * 2 : 64;
        page->keys = xrealloc(page->keys, *cap * sizeof(char *));
        page->sizes = xrealloc(page->sizes, *cap * sizeof(uint64_t));
    }
    page->keys[page->nkeys] = key;
    page->sizes[page->nkeys++] = v;
    return 0;
}

static int
add_prefix(S3ListPage *page, xmlNodePtr c, size_t *cap, Error *err)
{
    xmlNodePtr p = child(c, "Prefix");
    if (!p)
        return error_set(err, "S3 listing: a CommonPrefixes entry without Prefix");
    if (page->nprefixes == *cap)
    {
        *cap = *cap ? *cap * 2 : 16;
        page->prefixes = xrealloc(page->prefixes, *cap * sizeof(char *));
    }
    page->prefixes[page->nprefixes++] = text_of(p);
    return 0;
}

int
s3_xml_parse_list(const char *xml, size_t len, S3ListPage *page, Error *err)
{
    memset(page, 0, sizeof(*page));
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return error_set(err, "S3 listing: the answer (%zu bytes) is not XML", len);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = 0;
    if (!root || !is(root, "ListBucketResult"))
        rc = error_set(err, "S3 listing: the answer is not a ListBucketResult");
    size_t kcap = 0, pcap = 0;
    for (xmlNodePtr c = root ? root->children : NULL; c && rc == 0; c = c->next)
    {
        if (is(c, "Contents"))
            rc = add_content(page, c, &kcap, err);
        else if (is(c, "CommonPrefixes"))
            rc = add_prefix(page, c, &pcap, err);
        else if (is(c, "IsTruncated"))
        {
            char *t = text_of(c);
            if (!strcmp(t, "true"))
                page->truncated = true;
            else if (strcmp(t, "false"))
                rc = error_set(err, "S3 listing: IsTruncated is '%.20s'", t);
            free(t);
        }
        else if (is(c, "NextContinuationToken"))
        {
            free(page->next_token);
            page->next_token = text_of(c);
        }
    }
    if (rc == 0 && page->truncated && (!page->next_token || !*page->next_token))
        rc = error_set(err, "S3 listing: truncated, but no NextContinuationToken");
    if (rc == 0 && page->next_token && strlen(page->next_token) > 4096)
        rc = error_set(err, "S3 listing: NextContinuationToken longer than 4096 bytes");
    xmlFreeDoc(doc);
    if (rc != 0)
        s3_list_page_free(page);
    return rc;
}

void
s3_list_page_free(S3ListPage *page)
{
    for (size_t i = 0; i < page->nkeys; i++)
        free(page->keys[i]);
    for (size_t i = 0; i < page->nprefixes; i++)
        free(page->prefixes[i]);
    free(page->keys);
    free(page->sizes);
    free(page->prefixes);
    free(page->next_token);
    memset(page, 0, sizeof(*page));
}

int
s3_xml_parse_uploads(const char *xml, size_t len, S3UploadPage *page, Error *err)
{
    memset(page, 0, sizeof(*page));
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return error_set(err, "S3 upload listing: the answer (%zu bytes) is not XML", len);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = 0;
    if (!root || !is(root, "ListMultipartUploadsResult"))
        rc = error_set(err, "S3 upload listing: the answer is not a ListMultipartUploadsResult");
    size_t cap = 0;
    for (xmlNodePtr c = root ? root->children : NULL; c && rc == 0; c = c->next)
    {
        if (is(c, "Upload"))
        {
            xmlNodePtr k = child(c, "Key"), u = child(c, "UploadId");
            if (!k || !u)
            {
                rc = error_set(err, "S3 upload listing: an Upload without Key or UploadId");
                break;
            }
            if (page->n == cap)
            {
                cap = cap ? cap * 2 : 16;
                page->keys = xrealloc(page->keys, cap * sizeof(char *));
                page->ids = xrealloc(page->ids, cap * sizeof(char *));
            }
            page->keys[page->n] = text_of(k);
            page->ids[page->n++] = text_of(u);
        }
        else if (is(c, "IsTruncated"))
        {
            char *t = text_of(c);
            page->truncated = !strcmp(t, "true");
            free(t);
        }
        else if (is(c, "NextKeyMarker"))
            page->next_key = text_of(c);
        else if (is(c, "NextUploadIdMarker"))
            page->next_id = text_of(c);
    }
    if (rc == 0 && page->truncated && (!page->next_key || !*page->next_key))
        rc = error_set(err, "S3 upload listing: truncated, but no NextKeyMarker");
    xmlFreeDoc(doc);
    if (rc != 0)
        s3_upload_page_free(page);
    return rc;
}

void
s3_upload_page_free(S3UploadPage *page)
{
    for (size_t i = 0; i < page->n; i++)
    {
        free(page->keys[i]);
        free(page->ids[i]);
    }
    free(page->keys);
    free(page->ids);
    free(page->next_key);
    free(page->next_id);
    memset(page, 0, sizeof(*page));
}

int
s3_xml_parse_delete_result(const char *xml, size_t len, char **key, char **code, Error *err)
{
    *key = *code = NULL;
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return error_set(err, "DeleteObjects: the answer (%zu bytes) is not XML", len);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = 0;
    if (!root || !is(root, "DeleteResult"))
        rc = error_set(err, "DeleteObjects: the answer is not a DeleteResult");
    for (xmlNodePtr c = root ? root->children : NULL; c && rc == 0 && !*key; c = c->next)
        if (is(c, "Error"))
        {
            xmlNodePtr k = child(c, "Key"), cd = child(c, "Code");
            *key = k ? text_of(k) : xstrdup("(no key)");
            *code = cd ? text_of(cd) : NULL;
        }
    xmlFreeDoc(doc);
    return rc;
}
