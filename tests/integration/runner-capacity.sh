#!/bin/sh
# --capacity 4: four queued sessions run at once in one runner.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/capacity.mjs
