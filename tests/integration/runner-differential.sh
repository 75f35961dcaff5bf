#!/bin/sh
# Every toolset tool, errors and confinement attacks: the C runner's results
# are byte-identical to the SDK worker's.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/differential.mjs
