#!/bin/sh
# Hostile input from the control plane and from sessions: clear errors or
# bounded results, and the runner keeps serving its other sessions.
SDK_CHECK_TIMEOUT=${SDK_CHECK_TIMEOUT:-240}
export SDK_CHECK_TIMEOUT
exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/hostile.mjs
