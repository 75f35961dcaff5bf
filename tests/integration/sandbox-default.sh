#!/bin/sh
# The default sandbox backend: bubblewrap where it runs, else landlock, else no start.
[ -x "${ER_TOP_BUILDDIR:?}/plugins/sandbox-landlock/er-sandbox-landlock" ] ||
	{ echo "1..0 # SKIP the landlock backend is not built here"; exit 0; }
ER_TEST_SANDBOX=default exec sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" ../runner/sandbox-default.mjs
