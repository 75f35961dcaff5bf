#!/bin/sh
# Watchdogs, lifecycle hooks, --max-sessions, --exit-if-unused-min, the stale directory sweep, --min-free-disk-mb.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/lifecycle.mjs
