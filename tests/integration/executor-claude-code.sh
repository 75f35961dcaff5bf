#!/bin/sh
# The claude-code executor with the real Claude Code CLI, offline against the
# control plane's scripted Messages API (skips without the CLI; the sandbox
# is $ER_TEST_SANDBOX, else bubblewrap where it works, else none).
exec env SDK_CHECK_TIMEOUT="${SDK_CHECK_TIMEOUT:-300}" sh "${ER_TOP_SRCDIR:?}/tests/sdk/run-check.sh" \
	../runner/claude-code.mjs --inference-key sk-ant-api03-inference-test-key-0123456789
