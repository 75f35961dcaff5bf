#!/bin/sh
# scripts/demo.mjs drives the cookbook conversation, the SDK worker as the runner.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" demo-check.mjs
