#!/bin/sh
# Memory stores: mounted, synced and flushed as the SDK's worker does it
# (differential), with read-only stores refused by the file tools.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/memory.mjs
