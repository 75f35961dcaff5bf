#!/bin/sh
# HTTPS with a private CA (--ca-file, SSL_CERT_FILE) and proxies (https_proxy,
# HTTPS_PROXY, no_proxy) through local stand-ins; clear text off the loopback.
command -v openssl >/dev/null 2>&1 || { echo "1..0 # SKIP openssl is not installed"; exit 0; }
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/tls-proxy.mjs
