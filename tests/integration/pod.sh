#!/bin/sh
# The runner in a pod-like harness (tests/pod): landlock chosen by default.
. "$ER_TOP_SRCDIR/tests/pod/setup.sh"
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../pod/pod.mjs
