#!/bin/sh
# tests/runner/basic.mjs with the runner in the pod-like harness, default backend.
. "$ER_TOP_SRCDIR/tests/pod/setup.sh"
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/basic.mjs
