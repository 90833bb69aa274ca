#!/usr/bin/env bash
# Generates a throwaway PKI for mqtt-forward with openssl, into DIR:
#
#   ca.pem ca.key                 the CA both sides and the broker trust
#   broker.pem broker.key         broker certificate (SAN: localhost, 127.0.0.1, ::1),
#                                 PKCS#8 RSA key
#   server-side.pem/.key          client certificate for the server side, EC P-256
#                                 key in SEC1 form ("EC PRIVATE KEY")
#   client-side.pem/.key          client certificate for the client side, RSA key in
#                                 PKCS#1 form ("RSA PRIVATE KEY")
#   client-pkcs8.pem/.key         client certificate with an EC key in PKCS#8 form
#   broker-wrong-name.pem/.key    broker certificate for another host name only
#   broker-expired.pem/.key       broker certificate whose validity ends a day
#                                 before it begins (expired whenever checked)
#   other-ca.pem                  an unrelated CA
#   rogue.pem rogue.key           client certificate signed by the unrelated CA
#
# Certificates are valid for 825 days. Usage: test/gen-certs.sh DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
  echo "$0: openssl not found (apt-get install openssl)" >&2
  exit 1
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
days=825
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# make_ca NAME SUBJECT: a self-signed CA certificate NAME.pem with key NAME.key.
make_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days "$days" -subj "$2" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# sign NAME CA CN EXT [DAYS]: a certificate NAME.pem for the existing key
# NAME.key, signed by CA.pem/CA.key, with the x509v3 extensions EXT, valid
# for DAYS days (default $days; -1, the least openssl takes: never valid).
sign() {
  local name=$1 ca=$2 cn=$3 ext=$4 valid=${5:-$days}
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$tmp/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$tmp/$name.ext"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
    -CAcreateserial -CAserial "$tmp/$ca.srl" -out "$name.pem" -days "$valid" \
    -sha256 -extfile "$tmp/$name.ext" 2>/dev/null
}

server_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth'
client_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

make_ca ca "/CN=mqtt-forward test CA"
make_ca other-ca "/CN=unrelated CA"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out broker.key 2>/dev/null
sign broker ca localhost "$server_ext
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out broker-wrong-name.key 2>/dev/null
sign broker-wrong-name ca not-this-host.invalid "$server_ext
subjectAltName=DNS:not-this-host.invalid"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out broker-expired.key 2>/dev/null
sign broker-expired ca localhost "$server_ext
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" -1

openssl ecparam -name prime256v1 -genkey -noout -out server-side.key 2>/dev/null
sign server-side ca mqtt-forward-server-side "$client_ext"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl rsa -in "$tmp/rsa.key" -traditional -out client-side.key 2>/dev/null
sign client-side ca mqtt-forward-client-side "$client_ext"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client-pkcs8.key 2>/dev/null
sign client-pkcs8 ca mqtt-forward-client-pkcs8 "$client_ext"

openssl ecparam -name prime256v1 -genkey -noout -out rogue.key 2>/dev/null
sign rogue other-ca mqtt-forward-rogue "$client_ext"

chmod 600 ./*.key
