#!/bin/sh
# The runner against a control plane that speaks HTTP/2 over TLS (ALPN h2),
# as the API does: sessions served, their event streams sharing connections.
command -v openssl >/dev/null 2>&1 || { echo "1..0 # SKIP openssl is not installed"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/er-http2.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj '/CN=environment-runner test CA' -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || {
	echo "1..0 # SKIP openssl cannot make a certificate"
	exit 0
}
# The checks' own clients trust it through Node, the runner through --ca-file.
CP_SCHEME=https NODE_EXTRA_CA_CERTS="$tmp/cert.pem" ER_TEST_CA="$tmp/cert.pem" \
	sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/http2.mjs \
	--tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
