#!/usr/bin/env python3
"""Looks at the tests' S3 store with curl's own SigV4 (independent of strata's).

  s3-tool.py list PREFIX        "key<TAB>size" of every object below PREFIX (all pages)
  s3-tool.py uploads PREFIX     "key<TAB>uploadId" of unfinished multipart uploads
  s3-tool.py get KEY FILE | put FILE KEY | delete KEY | etag KEY
  s3-tool.py clean PREFIX       deletes every object and aborts every upload below PREFIX

Env: STRATA_S3_ENDPOINT, STRATA_TEST_S3_BUCKET, S3_NETRC (credentials for curl).
"""
import os
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EP = os.environ["STRATA_S3_ENDPOINT"].rstrip("/")
B = os.environ["STRATA_TEST_S3_BUCKET"]
NETRC = os.environ["S3_NETRC"]


def curl(args, payload_hash=EMPTY):
    cmd = ["curl", "-sS", "--max-time", "120", "--aws-sigv4", "aws:amz:us-east-1:s3", "--netrc-file", NETRC,
           "-H", "x-amz-content-sha256: " + payload_hash, "-w", "\n%{http_code}"] + args
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    body, _, code = out.rpartition(b"\n")
    return int(code), body


def delete_many(urls):
    """DELETE each URL, many per curl process (a config file on stdin, not argv)."""
    for i in range(0, len(urls), 500):
        cfg = "".join('url = "%s"\noutput = "/dev/null"\n' % u for u in urls[i:i + 500])
        cmd = ["curl", "-sS", "--max-time", "300", "--aws-sigv4", "aws:amz:us-east-1:s3", "--netrc-file", NETRC,
               "-H", "x-amz-content-sha256: " + EMPTY, "-X", "DELETE", "-w", "%{http_code}\n", "--config", "-"]
        codes = subprocess.run(cmd, input=cfg.encode(), stdout=subprocess.PIPE, check=True).stdout.split()
        bad = [c for c in codes if c not in (b"200", b"204", b"404")]
        if bad or len(codes) != len(urls[i:i + 500]):
            sys.exit("delete: %d answers for %d keys, failures: %s" % (len(codes), len(urls[i:i + 500]), bad[:5]))


def url(key="", query=None):
    u = EP + "/" + B + ("/" + urllib.parse.quote(key, safe="/") if key else "")
    if query:   # curl 7.88 signs the query as given: sorted and encoded
        u += "?" + "&".join(k + "=" + urllib.parse.quote(v, safe="") for k, v in sorted(query.items()))
    return u


def xml(body):
    root = ET.fromstring(body)
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    return root, (lambda name: "{%s}%s" % (ns, name) if ns else name)


def list_objects(prefix):
    token, out = None, []
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        code, body = curl([url(query=q)])
        if code != 200:
            sys.exit("list %s: HTTP %d %s" % (prefix, code, body[:300]))
        root, t = xml(body)
        out += [(c.find(t("Key")).text, c.find(t("Size")).text) for c in root.findall(t("Contents"))]
        if root.findtext(t("IsTruncated")) != "true":
            return out
        token = root.findtext(t("NextContinuationToken"))


def list_uploads(prefix):
    code, body = curl([url(query={"uploads": "", "prefix": prefix})])
    if code != 200:
        sys.exit("uploads %s: HTTP %d %s" % (prefix, code, body[:300]))
    root, t = xml(body)
    return [(u.findtext(t("Key")), u.findtext(t("UploadId"))) for u in root.findall(t("Upload"))]


def main():
    op, args = sys.argv[1], sys.argv[2:]
    if op == "list":
        for k, s in list_objects(args[0]):
            print(k + "\t" + s)
    elif op == "uploads":
        for k, u in list_uploads(args[0]):
            print(k + "\t" + u)
    elif op == "get":
        code, _ = curl(["-o", args[1], url(args[0])])
        sys.exit(0 if code == 200 else "get %s: HTTP %d" % (args[0], code))
    elif op == "put":
        code, body = curl(["-T", args[0], url(args[1])], "UNSIGNED-PAYLOAD")
        sys.exit(0 if code == 200 else "put %s: HTTP %d %s" % (args[1], code, body[:300]))
    elif op == "delete":
        code, _ = curl(["-X", "DELETE", url(args[0])])
        sys.exit(0 if code in (200, 204) else "delete %s: HTTP %d" % (args[0], code))
    elif op == "etag":
        code, body = curl(["-I", url(args[0])])
        for line in body.decode().splitlines():
            if line.lower().startswith("etag:"):
                print(line.split(":", 1)[1].strip().strip('"'))
        sys.exit(0 if code == 200 else 1)
    elif op == "clean":
        delete_many([url(k) for k, _ in list_objects(args[0])])
        delete_many([url(k, {"uploadId": u}) for k, u in list_uploads(args[0])])
    else:
        sys.exit("unknown operation " + op)


main()
