#!/bin/sh
# Unreachable API: retried with backoff; a bad environment key: exit non-zero naming the key file.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/bad-input.mjs
