#!/bin/sh
# ask/deny permission gating and unknown tool names, as the SDK worker does them.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/permissions.mjs
