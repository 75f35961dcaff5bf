#!/bin/sh
# The first heartbeat claims the item before any read; a refused heartbeat (403) loses the lease without a stop.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/lease-claim.mjs
