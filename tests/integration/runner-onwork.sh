#!/bin/sh
# --on-work handing items to run-item, the Kubernetes sample with a stand-in kubectl.
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/onwork.mjs
