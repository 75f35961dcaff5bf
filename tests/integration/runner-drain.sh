#!/bin/sh
# The printed shutdown budget, a drain with a post-session hook, a second SIGTERM.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/drain.mjs
