#!/bin/sh
# The runner re-executed into a newly installed binary while a call runs.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/upgrade.mjs
