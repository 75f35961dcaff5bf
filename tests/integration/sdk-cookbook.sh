#!/bin/sh
# The cookbook flow: the SDK as client streams "What's 2 + 2?" while the
# SDK's own worker serves the session from the local control plane.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" cookbook.mjs
