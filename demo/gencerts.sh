#!/bin/sh
# Generate a throw-away certificate authority and a server certificate for
# localhost with the openssl command line tool.  Both keys are EC P-256.
#
# usage: sh demo/gencerts.sh DIR
#
# Writes into DIR (created if missing):
#   ca.pem      CA certificate   (give it to clients: -cafile DIR/ca.pem)
#   ca.key      CA private key
#   server.pem  server certificate, CN=localhost,
#               subjectAltName DNS:localhost, IP:127.0.0.1
#   server.key  server private key (unencrypted PEM)
# Used by demo/demo.tcl and bench/bench.tcl; the certificates are valid for
# two days and are meant to be deleted with DIR when the script ends.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

cat > openssl.cnf <<'CNF'
[req]
distinguished_name = dn_ca
prompt             = no

[dn_ca]
O  = TclTLS demo
CN = TclTLS demo CA

[ext_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ext_server]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF

# Quiet unless something fails: openssl's output goes to a log that is shown
# on error.
log=gencerts.log
run() {
    if ! "$@" >>"$log" 2>&1; then
        echo "gencerts.sh: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
run openssl req -new -x509 -config openssl.cnf -extensions ext_ca \
    -key ca.key -sha256 -days 2 -out ca.pem

run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
# -subj overrides [dn_ca], so one config file serves both certificates.
run openssl req -new -config openssl.cnf -key server.key \
    -subj "/O=TclTLS demo/CN=localhost" -out server.csr
run openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 \
    -extfile openssl.cnf -extensions ext_server -out server.pem

rm -f server.csr openssl.cnf "$log"
