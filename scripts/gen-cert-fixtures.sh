#!/usr/bin/env bash
# Build the server certificates the certificate-name tests read (fixtures/certs/*.der): real X.509 v3 leaves made
# by OpenSSL, so the parser meets the DER layout a TLS server sends (subject, RSA key, extensions, signature).
# Keys are thrown away; rerunning makes new keys and signatures with the same names. Needs openssl
# (bash scripts/ensure-tools.sh openssl).
#
#   bash scripts/gen-cert-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/certs
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

leaf() { # name subject san...
  local name=$1 subj=$2 san=$3
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/$name.key" -days 3650 -subj "$subj" \
    -addext "subjectAltName=$san" -outform DER -out "$out/$name.der" 2>/dev/null
}

# Host names only in the SAN (the CN is not a host name), one of them a wildcard, plus an IP and an e-mail entry
# that are not dNSNames.
leaf vpn-san '/CN=gateway/O=Example VPN Ltd' 'DNS:vpn.example.net,DNS:*.example.org,IP:192.0.2.1,email:ops@example.com'
# No subject CN at all: the SAN is the only host name (common in current web PKI).
leaf san-only '/O=Example Hosting' 'DNS:www.example.com,DNS:example.com'
ls -l "$out"
