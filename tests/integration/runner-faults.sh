#!/bin/sh
# 5xx bursts on every route and SSE drops: the session completes, no duplicate results.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/faults.mjs
