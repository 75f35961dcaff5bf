#!/bin/sh
# A forced heartbeat 412: the runner kills the session's processes and leaves the item queued.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/lease-lost.mjs
