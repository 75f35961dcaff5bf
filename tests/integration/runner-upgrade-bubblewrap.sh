#!/bin/sh
# tests/runner/upgrade.mjs with every command under the bubblewrap backend.
command -v bwrap >/dev/null 2>&1 || { echo "1..0 # SKIP bwrap is not installed"; exit 0; }
[ -f "${ER_TOP_BUILDDIR:?}/plugins/.libs/sandbox-bubblewrap.so" ] ||
	{ echo "1..0 # SKIP the bubblewrap plugin is not built here"; exit 0; }
ER_TEST_SANDBOX=bubblewrap exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/upgrade.mjs
