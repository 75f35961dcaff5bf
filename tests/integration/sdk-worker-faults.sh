#!/bin/sh
# Each fault knob has a visible effect on the SDK worker.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" worker-faults.mjs
