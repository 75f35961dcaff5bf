#!/bin/sh
# The SDK's resource methods: environments, sessions, events, work lifecycle.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" api.mjs
