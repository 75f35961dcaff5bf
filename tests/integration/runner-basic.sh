#!/bin/sh
# The C runner serves the default "What's 2 + 2?" session end to end.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/basic.mjs
