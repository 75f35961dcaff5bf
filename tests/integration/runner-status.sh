#!/bin/sh
# The status listener: /healthz, /readyz, /metrics against provoked counters; key re-read on 401 and SIGHUP.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/status.mjs
