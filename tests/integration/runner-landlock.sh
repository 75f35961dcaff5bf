#!/bin/sh
# The landlock backend: hidden paths inside granted trees, the network modes, the start-up log.
helper="${ER_TOP_BUILDDIR:?}/plugins/sandbox-landlock/er-sandbox-landlock"
[ -x "$helper" ] || { echo "1..0 # SKIP the landlock backend is not built here"; exit 0; }
ER_TEST_SANDBOX=landlock ER_TEST_SANDBOX_ARGS="--plugin-option=landlock.helper=$helper" \
	exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/landlock.mjs
