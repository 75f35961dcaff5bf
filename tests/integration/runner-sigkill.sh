#!/bin/sh
# The runner SIGKILLed mid-session: a second one reclaims the item after the lease expires.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/sigkill.mjs
