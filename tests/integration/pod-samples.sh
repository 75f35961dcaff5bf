#!/bin/sh
# sample-config/kubernetes/ as shipped, in the pod-like harness with each manifest's settings.
. "$ER_TOP_SRCDIR/tests/pod/setup.sh"
[ -d "$ER_TOP_SRCDIR/tests/sdk/node_modules/yaml" ] || skip "the yaml package is not installed (run scripts/install-deps.sh)"
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../pod/samples.mjs
