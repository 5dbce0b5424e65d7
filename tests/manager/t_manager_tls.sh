#!/usr/bin/env bash
# t_manager_tls: TLS between strata's components (docs/manager.md "TLS").
#   - the daemons refuse TLS 1.0 and 1.1 handshakes and accept 1.2 and 1.3
#     (openssl s_client; a control s_server that speaks TLS 1.0 shows the
#     client could have);
#   - a node manager with tls_client_ca refuses a client without a
#     certificate that CA signed;
#   - the cluster manager, with node_ca_file, reaches a node manager whose
#     certificate that CA signed and refuses one signed by another CA
#     (GET /api/v1/node-managers says which and why);
#   - the CLI checks the cluster manager's certificate with --cacert.
# Certificates are made here with openssl; one PostgreSQL instance holds the
# cluster manager's catalog.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${STRATA_BIN:-$HERE/../../build/strata}
WORK=${STRATA_TEST_WORK:-$(mktemp -d /tmp/strata-t-tls.XXXXXX)}
PIDS=()

# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=../../scripts/pg-lib.sh
. "$HERE/../../scripts/pg-lib.sh"
pg_lib_init "$WORK/pg"

cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    v=$p; stop_pid v
  done
  pg_stop_all 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$BIN" ] || { notok "setup" "no strata binary at $BIN"; exit 1; }
command -v openssl >/dev/null || { notok "setup" "openssl is not installed"; exit 1; }

# ---- certificates -------------------------------------------------------------------
C=$WORK/certs
mkdir -p "$C"
make_ca() {   # NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=strata test $1" \
    -keyout "$C/$1.key" -out "$C/$1.pem" >/dev/null 2>&1
}
make_cert() {   # NAME CA
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$C/$1.key" -out "$C/$1.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName = IP:127.0.0.1\n' >"$C/$1.ext" &&
    openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial -days 2 \
      -extfile "$C/$1.ext" -out "$C/$1.pem" >/dev/null 2>&1
}
if make_ca ca && make_ca rogue-ca && make_cert nm ca && make_cert rogue-nm rogue-ca && make_cert manager ca; then
  ok "openssl: a CA, another CA, node manager, rogue node manager and cluster manager certificates"
else
  notok "openssl: certificates" "see $C"; exit 1
fi
chmod 600 "$C"/*.key

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TOKEN" >"$WORK/token")
POOL=$WORK/pool
"$BIN" pool-init --pool "$POOL" --quiet || { notok "pool-init" "failed"; exit 1; }

P_NM=$(pick_port 26500 100) || { notok "setup" "no free port"; exit 1; }
P_ROGUE=$(pick_port $((P_NM + 1)) 100)
P_MGR=$(pick_port $((P_ROGUE + 1)) 100)
P_CTRL=$(pick_port $((P_MGR + 1)) 100)
P_PG=$(pick_port $((P_CTRL + 1)) 100)

start_daemon() {   # LOG CMD...: starts it, waits for the port in its log line
  local log=$1; shift
  "$@" >"$log.out" 2>"$log" &
  local pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 300; i++)); do
    grep -q "listening on" "$log" 2>/dev/null && { STARTED=$pid; return 0; }
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

cat >"$WORK/nm.conf" <<EOF
[global:node-manager]
listen = 127.0.0.1:$P_NM
token-file = $WORK/token
pool = $POOL
tls-cert = $C/nm.pem
tls-key = $C/nm.key
tls-client-ca = $C/ca.pem
EOF
cat >"$WORK/rogue.json" <<EOF
{"listen": "127.0.0.1:$P_ROGUE", "token_file": "$WORK/token", "pool": "$POOL",
 "tls_cert": "$C/rogue-nm.pem", "tls_key": "$C/rogue-nm.key"}
EOF
start_daemon "$WORK/nm.log" "$BIN" node-manager --config "$WORK/nm.conf" || { notok "node manager" "$(tail -3 "$WORK/nm.log")"; exit 1; }
start_daemon "$WORK/rogue.log" "$BIN" node-manager --config "$WORK/rogue.json" || { notok "rogue node manager" "$(tail -3 "$WORK/rogue.log")"; exit 1; }
grep -q "https://127.0.0.1:$P_NM (TLS 1.2+, client certificates checked)" "$WORK/nm.log" &&
  ok "node manager (INI config, tls_client_ca) serves HTTPS, TLS 1.2+, client certificates checked" ||
  notok "node manager log" "$(tail -3 "$WORK/nm.log")"

# ---- protocol versions ----------------------------------------------------------------
# handshake PORT PROTO: 0 if a handshake with PROTO completes. SECLEVEL=0
# lets this OpenSSL offer TLS 1.0/1.1 at all.
handshake() {
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" "-$2" -cipher 'DEFAULT:@SECLEVEL=0' \
    -CAfile "$C/ca.pem" >"$WORK/hs.$1.$2" 2>&1
  grep -q "^New, TLSv1" "$WORK/hs.$1.$2"
}
openssl s_server -accept "$P_CTRL" -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -cert "$C/nm.pem" -key "$C/nm.key" \
  -quiet >"$WORK/ctrl.log" 2>&1 &
CTRL_PID=$!
PIDS+=("$CTRL_PID")
for ((i = 0; i < 50; i++)); do port_free "$P_CTRL" || break; sleep 0.1; done
if handshake "$P_CTRL" tls1; then
  ok "control: this openssl s_client completes a TLS 1.0 handshake with a server that allows it"
else
  notok "control: TLS 1.0 handshake against openssl s_server -tls1" "$(tail -3 "$WORK/hs.$P_CTRL.tls1")"
fi
v=$CTRL_PID; stop_pid v
for port_name in "$P_NM:node manager"; do
  port=${port_name%%:*} name=${port_name#*:}
  for proto in tls1 tls1_1; do
    if handshake "$port" "$proto"; then notok "$name refuses $proto" "handshake completed: $(grep -m1 Protocol "$WORK/hs.$port.$proto")"
    else ok "$name refuses a $proto handshake ($(grep -m1 -oi 'unexpected eof\|alert [a-z ]*\|no protocols available\|unsupported protocol\|wrong version number' "$WORK/hs.$port.$proto" | head -n 1))"; fi
  done
  for proto in tls1_2 tls1_3; do
    if handshake "$port" "$proto"; then ok "$name accepts a $proto handshake"
    else notok "$name accepts $proto" "$(tail -3 "$WORK/hs.$port.$proto")"; fi
  done
done

# ---- the node manager checks its client -------------------------------------------------
code=$(curl -s -o "$WORK/r1" -w '%{http_code}' --cacert "$C/ca.pem" -H "Authorization: Bearer $TOKEN" \
  "https://127.0.0.1:$P_NM/api/v1/instances")
[ "$code" = 403 ] && grep -q "client certificate required" "$WORK/r1" &&
  ok "node manager with tls_client_ca: no client certificate: 403 with the reason" ||
  notok "node manager without a client certificate" "HTTP $code $(cat "$WORK/r1")"
code=$(curl -s -o "$WORK/r2" -w '%{http_code}' --cacert "$C/ca.pem" --cert "$C/rogue-nm.pem" --key "$C/rogue-nm.key" \
  -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$P_NM/api/v1/instances")
[ "$code" = 403 ] || [ "$code" = 000 ] &&
  ok "node manager with tls_client_ca: a client certificate another CA signed: refused (HTTP $code)" ||
  notok "node manager with a rogue client certificate" "HTTP $code $(cat "$WORK/r2")"
code=$(curl -s -o "$WORK/r3" -w '%{http_code}' --cacert "$C/ca.pem" --cert "$C/manager.pem" --key "$C/manager.key" \
  -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$P_NM/api/v1/instances")
[ "$code" = 200 ] && ok "node manager: a client certificate its CA signed: 200" ||
  notok "node manager with a good client certificate" "HTTP $code $(cat "$WORK/r3")"
code=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.0 --tls-max 1.1 --cacert "$C/ca.pem" \
  --cert "$C/manager.pem" --key "$C/manager.key" "https://127.0.0.1:$P_NM/api/v1/instances")
[ "$code" = 000 ] && ok "curl limited to TLS 1.0-1.1: no connection" || notok "curl --tls-max 1.1" "HTTP $code"

# ---- the cluster manager checks the node managers -------------------------------------
PG_NO_ARCHIVE=1 pg_new_primary meta "$P_PG" >/dev/null 2>&1 || { notok "PostgreSQL for the catalog" "see $WORK/pg"; exit 1; }
META="host=127.0.0.1 port=$P_PG dbname=postgres"
psql_at "$P_PG" "create schema if not exists strata" >/dev/null
cat >"$WORK/manager.json" <<EOF
{"listen": "127.0.0.1:$P_MGR", "token_file": "$WORK/token", "meta_conn": "$META", "pool": "$POOL",
 "tls_cert": "$C/manager.pem", "tls_key": "$C/manager.key",
 "node_managers": {"good": "https://127.0.0.1:$P_NM", "rogue": "https://127.0.0.1:$P_ROGUE"},
 "node_token_file": "$WORK/token", "node_ca_file": "$C/ca.pem"}
EOF
start_daemon "$WORK/manager.log" "$BIN" cluster-manager --config "$WORK/manager.json" ||
  { notok "cluster manager" "$(tail -3 "$WORK/manager.log")"; exit 1; }
code=$(curl -s -o "$WORK/nms" -w '%{http_code}' --cacert "$C/ca.pem" -H "Authorization: Bearer $TOKEN" \
  "https://127.0.0.1:$P_MGR/api/v1/node-managers")
good=$(jq -r '.node_managers[] | select(.host=="good") | .reachable' "$WORK/nms" 2>/dev/null)
rogue=$(jq -r '.node_managers[] | select(.host=="rogue") | .reachable' "$WORK/nms" 2>/dev/null)
rogue_err=$(jq -r '.node_managers[] | select(.host=="rogue") | .error' "$WORK/nms" 2>/dev/null)
[ "$code" = 200 ] && [ "$good" = true ] &&
  ok "cluster manager reaches the node manager its node_ca_file signed (and passes its tls_client_ca check)" ||
  notok "cluster manager -> good node manager" "HTTP $code $(cat "$WORK/nms")"
[ "$rogue" = false ] && echo "$rogue_err" | grep -qi "certificate\|SSL" &&
  ok "cluster manager refuses the node manager whose certificate another CA signed: $rogue_err" ||
  notok "cluster manager -> rogue node manager" "$(cat "$WORK/nms")"
for proto in tls1 tls1_1; do
  if handshake "$P_MGR" "$proto"; then notok "cluster manager refuses $proto" "handshake completed"
  else ok "cluster manager refuses a $proto handshake"; fi
done
handshake "$P_MGR" tls1_2 && ok "cluster manager accepts a tls1_2 handshake" || notok "cluster manager tls1_2" "$(tail -3 "$WORK/hs.$P_MGR.tls1_2")"

# ---- the CLI checks the cluster manager -------------------------------------------------
if "$BIN" jobs --manager "https://127.0.0.1:$P_MGR" --token-file "$WORK/token" --cacert "$C/ca.pem" \
    --output json >"$WORK/jobs.json" 2>"$WORK/jobs.err" && jq -e .jobs "$WORK/jobs.json" >/dev/null; then
  ok "strata jobs --cacert CA: the cluster manager's certificate checks out"
else
  notok "strata jobs --cacert CA" "$(cat "$WORK/jobs.err")"
fi
"$BIN" jobs --manager "https://127.0.0.1:$P_MGR" --token-file "$WORK/token" --cacert "$C/rogue-ca.pem" \
  >"$WORK/jobs2.out" 2>"$WORK/jobs2.err"
rc=$?
[ "$rc" = 1 ] && grep -qi "certificate\|SSL" "$WORK/jobs2.err" &&
  ok "strata jobs --cacert OTHER-CA: refused (exit 1, $(grep -oi 'SSL certificate problem: [a-z ]*' "$WORK/jobs2.err" | head -n 1))" ||
  notok "strata jobs --cacert OTHER-CA" "exit $rc $(cat "$WORK/jobs2.err")"

[ "${FAILED:-0}" = 0 ]
