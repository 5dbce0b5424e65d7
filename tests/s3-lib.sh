# shellcheck shell=bash
# The S3 store for tests (tests/run.sh starts a radosgw and passes it in):
#   STRATA_S3_ENDPOINT          http://127.0.0.1:PORT
#   STRATA_S3_CREDENTIALS_FILE  AWS-style credentials file ([default], mode 600)
#   STRATA_TEST_S3_BUCKET       the bucket the tests may use
# With STRATA_TEST_POOL=s3 a suite's pool is s3://BUCKET/<test>-<random>
# instead of a directory (s3_pool_setup). tests/s3-tool.py looks at the
# store with curl's own SigV4, a client independent of strata's; the
# credentials reach curl through a netrc file, never a command line.
S3_TOOL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/s3-tool.py

s3_available() {
  [ -n "${STRATA_S3_ENDPOINT:-}" ] && [ -r "${STRATA_S3_CREDENTIALS_FILE:-}" ] && [ -n "${STRATA_TEST_S3_BUCKET:-}" ]
}

# s3_pool_setup DIR NAME: POOL=s3://bucket/NAME-<random>, a netrc in DIR
s3_pool_setup() {
  local ak sk host
  if ! s3_available; then
    echo "not ok - ${TEST_NAME:-$2}: STRATA_TEST_POOL=s3 (or an S3 test) without an S3 store:" \
         "STRATA_S3_ENDPOINT, STRATA_S3_CREDENTIALS_FILE and STRATA_TEST_S3_BUCKET must be set (tests/run.sh does)"
    exit 1
  fi
  host=${STRATA_S3_ENDPOINT#*://}; host=${host%%/*}; host=${host%%:*}
  ak=$(sed -n 's/^aws_access_key_id *= *//p' "$STRATA_S3_CREDENTIALS_FILE" | head -n 1)
  sk=$(sed -n 's/^aws_secret_access_key *= *//p' "$STRATA_S3_CREDENTIALS_FILE" | head -n 1)
  S3_NETRC=$1/s3.netrc
  (umask 077; printf 'machine %s login %s password %s\n' "$host" "$ak" "$sk" >"$S3_NETRC")
  S3_PREFIX=$2-$(date +%s)-$$
  POOL=s3://$STRATA_TEST_S3_BUCKET/$S3_PREFIX
  export POOL S3_NETRC S3_PREFIX STRATA_S3_ENDPOINT STRATA_S3_CREDENTIALS_FILE STRATA_TEST_S3_BUCKET
}

s3_tool() { python3 "$S3_TOOL" "$@"; }
# s3_pool_objects SUBDIR: "$POOL/<path>" of every object below SUBDIR of the pool (like find -type f)
s3_pool_objects() { s3_tool list "$S3_PREFIX/${1:+$1/}" | cut -f1 | sed "s|^$S3_PREFIX/|$POOL/|"; }
# s3_pool_clean: remove the test's prefix from the bucket
s3_pool_clean() { [ -n "${S3_PREFIX:-}" ] && s3_tool clean "$S3_PREFIX/"; }
