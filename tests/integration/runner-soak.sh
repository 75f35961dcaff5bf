#!/bin/sh
# Soak under faults: many sessions, 5xx/429, stalls, SSE drops, 412s, stop
# requests and a runner SIGKILL; every tool call answered exactly once.
# Longer: make check TESTS=tests/integration/runner-soak.sh SOAK_SESSIONS=300 SOAK_SECONDS=900 SDK_CHECK_TIMEOUT=1500
SDK_CHECK_TIMEOUT=${SDK_CHECK_TIMEOUT:-300}
export SDK_CHECK_TIMEOUT
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/soak.mjs
