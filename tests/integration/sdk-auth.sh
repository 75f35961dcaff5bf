#!/bin/sh
# API key, environment key and sessions token are kept apart.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" auth.mjs
