#!/usr/bin/env bash
# Installs what strata needs to build, test and demo on Debian 12.
# Idempotent: packages already present are not fetched again, and the
# unprivileged user that runs PostgreSQL is created only once.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libpq-dev libzstd-dev liblz4-dev libssl-dev libcurl4-openssl-dev
  libmicrohttpd-dev libgnutls28-dev libjson-c-dev postgresql-server-dev-15
  postgresql-15 postgresql-contrib postgresql-client-15
  zstd lz4 procps util-linux
)
# S3 listings and errors are XML (libxml2); the S3 store the tests run
# against is Ceph's radosgw (started by shared/tools/s3/start-s3.sh, which
# would install these itself); socat puts TLS in front of it for the CA
# file test.
PACKAGES+=(libxml2-dev curl ceph-mon ceph-osd radosgw ceph-common socat)
# Fuzz targets (libFuzzer, clang's runtime), coverage (gcovr), clock skew
# for the exact-target tests (libfaketime), the bridge for namespace hosts.
PACKAGES+=(clang libclang-rt-14-dev gcovr faketime libfaketime iproute2)
# The web UI's browser test (tests/manager/t_ui_browser.sh): Debian's chromium,
# driven by playwright-core, which the test installs itself with npm. Node and
# npm are taken from Debian only when the machine has none (a NodeSource node
# ships its own npm, which Debian's npm package would conflict with).
PACKAGES+=(chromium)
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
# The benchmark compares against these; they are installed only on request.
if [ "${STRATA_BENCH_DEPS:-0}" = 1 ]; then
  PACKAGES+=(pgbackrest)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's postgresql package creates and starts a default cluster; strata's
# tests and demo start their own servers and never use it.
if [ "$(id -u)" -eq 0 ] && command -v pg_lsclusters >/dev/null 2>&1; then
  if pg_lsclusters -h 2>/dev/null | awk '$4=="online"' | grep -q .; then
    pg_lsclusters -h | awk '$4=="online"{print $1, $2}' | while read -r v c; do
      pg_ctlcluster "$v" "$c" stop || true
    done
  fi
fi

# PostgreSQL refuses to run as root: tests and demo run as this user.
if [ "$(id -u)" -eq 0 ] && ! id strata >/dev/null 2>&1; then
  useradd --system --create-home --shell /bin/bash strata
fi
exit 0
