#!/bin/sh
# SIGTERM while a tool runs: drained or cancelled, item stopped, exit 0.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/sigterm.mjs
