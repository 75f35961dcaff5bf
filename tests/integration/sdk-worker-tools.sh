#!/bin/sh
# The SDK worker runs every toolset tool, asks and denials, to completion.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" worker-tools.mjs
