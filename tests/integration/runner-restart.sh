#!/bin/sh
# The runner SIGKILLed and started again on its state: its items resume, no result lost or repeated.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/restart.mjs
