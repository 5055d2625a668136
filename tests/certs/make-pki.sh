#!/bin/sh
# make-pki.sh OUTDIR -- the test PKI, made fresh at test time with the
# openssl command line (see README.md in this directory).
set -eu
out=${1:?usage: make-pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"
days=2
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
req() { openssl req -new -key "$1" -subj "$2" -out "$3" 2>/dev/null; }
sign() { # csr ca cakey ext out
    openssl x509 -req -in "$1" -CA "$2" -CAkey "$3" -CAcreateserial -days $days \
        -extfile "$4" -out "$5" 2>/dev/null
}

cat > ca.ext <<'X'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
cat > server.ext <<'X'
basicConstraints=CA:FALSE
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
authorityInfoAccess=OCSP;URI:http://ocsp.test.invalid/
X
cat > other.ext <<'X'
basicConstraints=CA:FALSE
subjectAltName=DNS:other.example
X
cat > client.ext <<'X'
basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth
X

# Root CA, self-signed.
ec ca.key
openssl req -x509 -new -key ca.key -subj "/O=Tcl TLS Tests/CN=Test Root CA" -days $days \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out ca.pem 2>/dev/null

# Intermediate CA, signed by the root.
ec int.key; req int.key "/O=Tcl TLS Tests/CN=Test Intermediate CA" int.csr
sign int.csr ca.pem ca.key ca.ext int.pem

# Server for localhost, issued by the intermediate.
ec server.key; req server.key "/O=Tcl TLS Tests/CN=localhost" server.csr
sign server.csr int.pem int.key server.ext server.pem
cat server.pem int.pem > server-chain.pem

# Server for localhost with an RSA key, issued by the root.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key 2>/dev/null
req server-rsa.key "/O=Tcl TLS Tests/CN=localhost" server-rsa.csr
sign server-rsa.csr ca.pem ca.key server.ext server-rsa.pem

# A certificate for another host only.
ec wronghost.key; req wronghost.key "/CN=other.example" wronghost.csr
sign wronghost.csr ca.pem ca.key other.ext wronghost.pem

# A client certificate, issued by the root.
ec client.key; req client.key "/O=Tcl TLS Tests/CN=Test Client" client.csr
sign client.csr ca.pem ca.key client.ext client.pem

# Self-signed.
ec selfsigned.key
openssl req -x509 -new -key selfsigned.key -subj "/CN=localhost" -days $days \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -out selfsigned.pem 2>/dev/null

# The server key encrypted with the password "secret"; a key that matches
# nothing; DER forms for -cert/-key.
openssl pkey -in server.key -aes128 -passout pass:secret -out server-enc.key 2>/dev/null
ec other.key
openssl x509 -in server-rsa.pem -outform DER -out server-rsa.der 2>/dev/null
openssl rsa -in server-rsa.key -traditional -outform DER -out server-rsa.key.der 2>/dev/null

# Diffie-Hellman parameters for -dhparams (the named group ffdhe2048).
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem 2>/dev/null

# A hashed CA directory for -cadir.
mkdir -p ca-dir
cp ca.pem ca-dir/
openssl rehash ca-dir 2>/dev/null || c_rehash ca-dir >/dev/null

rm -f ./*.csr ./*.srl
